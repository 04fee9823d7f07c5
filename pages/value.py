"""Customer value: historical vs predicted CLTV with intervals, by group, VIPs, CLTV vs CAC."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from retention.charts import models as charts
from retention.filters import Filters
from retention.metrics.value import DIMENSIONS, latest_scores_run_id
from retention.models.runs import NoOrdersError, data_range, scores_are_stale
from retention.models.settings import load_settings, save_settings
from ui import cache
from ui import format as fmt
from ui.access import can_edit, editor_only_note
from ui.components import Kpi, empty_state, kpi_row
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.models_view import cached_latest_run, refit_scores_with_progress, settings_sentence
from ui.nav import data_page
from ui.value_view import (
    DIMENSION_KEY,
    PER_CUSTOMER_KEY,
    cached_cac,
    cached_distribution,
    cached_segment_interval,
    cached_top,
    cached_totals,
    cached_value_by,
    settings_form,
)

# Short table headers for the groups (a long one is cut off in the narrow first column).
GROUP_HEADERS = {"cohort_quarter": "Cohort", "first_channel": "Channel", "country": "Country"}

ctx = page_context()
link_widgets(
    Param("by", DIMENSION_KEY, choices=tuple(k for k in DIMENSIONS if k != "cohort_month")),
    Param("per_customer", PER_CUSTOMER_KEY, "bool"),
)
st.title("Customer value")

try:
    data_range(ctx.store)
except NoOrdersError as error:
    empty_state(str(error))
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

run = cached_latest_run(ctx.store, ctx.db, ctx.data_version, "scores")
run_id = latest_scores_run_id(ctx.store)
settings = load_settings(ctx.store)

new_settings = None
with st.expander("Model settings", icon=":material/tune:", expanded=run is None):
    if can_edit():
        new_settings = settings_form(settings)
    else:
        st.write(settings_sentence(settings))
        editor_only_note("change the settings and refit the models")
if new_settings is not None:
    save_settings(ctx.store, new_settings)
    if refit_scores_with_progress(ctx.store, new_settings) is not None:
        st.rerun()

if run is None or run_id is None:
    empty_state(
        "The models have not been fitted on this data yet. Check the settings above and press "
        "**Save and refit** (it takes a few seconds for tens of thousands of customers)."
        if can_edit()
        else "The models have not been fitted on this data yet; an editor of this app can fit "
        "them here."
    )
    stop_page()

if scores_are_stale(ctx.store, run):
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.warning(
        "Data were imported after these scores were computed; the numbers below are from "
        f"the fit of {run.created_at:%d %b %Y %H:%M} UTC.",
        icon=":material/history:",
    )
    refit = can_edit() and right.button("Refit now", type="primary")
    if refit and refit_scores_with_progress(ctx.store, settings) is not None:
        st.rerun()

s = run.settings
interval = s.interval
counts = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, ctx.filters)
currency = counts.currency
st.caption(
    f"Predictions from the fit of {run.created_at:%d %b %Y %H:%M} UTC on orders up to "
    f"{run.calibration_end:%d %b %Y}. " + settings_sentence(s)
)
for warning in run.warnings:
    st.warning(warning, icon=":material/warning:")
for note in run.summary.get("notes", []):
    st.caption(f"Note: {note}")

totals = cached_totals(ctx.store, ctx.db, ctx.data_version, run_id, ctx.filters, interval)
if not totals or totals.get("customers", 0) == 0:
    empty_state(
        "No customer matches the filters in the sidebar. Widen the dates or clear the "
        "channel and country filters."
    )
    stop_page()


def money(value: float | None) -> str:
    return fmt.money(value, currency)


def span(low: float | None, high: float | None) -> str:
    return f"{money(low)} to {money(high)}"


def interval_text(low: pd.Series, high: pd.Series, digits: int) -> list[str]:
    """'low – high' per row, for a table column next to the point estimate."""
    return [
        "–" if pd.isna(lo) or pd.isna(hi) else f"{lo:,.{digits}f} – {hi:,.{digits}f}"
        for lo, hi in zip(low, high, strict=True)
    ]


n = totals["customers"]
kpi_row(
    [
        Kpi(
            "Customers",
            fmt.count(int(n)),
            "Customers with a counted order, acquired in the months of the date range and in "
            "the chosen channels and countries.",
        ),
        Kpi(
            "Historical CLTV per customer",
            money(totals["historical_revenue"] / n),
            "Revenue to date (counted orders, net of refunds) / customers.",
        ),
        Kpi(
            "Predicted CLTV per customer",
            money(totals["predicted_cltv"] / n),
            f"Over the next {s.horizon_days} days: Σ over the months of the horizon of "
            "expected orders (BG/NBD) × expected value per order (Gamma-Gamma) × margin, "
            "discounted monthly; / customers.",
        ),
        Kpi(
            "Predicted CLTV, total",
            money(totals["predicted_cltv"]),
            f"The sum of every customer's predicted CLTV over the next {s.horizon_days} days. "
            "The interval reflects uncertainty in the fitted parameters (draws from their "
            "asymptotic normal distribution), not the randomness of single customers.",
        ),
    ]
)
only_segment = ctx.filters.segment and ctx.filters == Filters(segment=ctx.filters.segment)
if only_segment:
    seg = cached_segment_interval(
        ctx.store, ctx.db, ctx.data_version, ctx.filters.segment, interval
    )
    st.caption(
        f"Predicted over the next {s.horizon_days} days for the segment "
        f"**{ctx.filters.segment}**, with {interval:.0%} intervals: "
        f"{span(seg['predicted_cltv_per_customer_low'], seg['predicted_cltv_per_customer_high'])}"
        f" per customer, {span(seg['predicted_cltv_low'], seg['predicted_cltv_high'])} in all. "
        f"Expected orders: {seg['expected_orders']:,.0f} ({seg['expected_orders_low']:,.0f} "
        f"to {seg['expected_orders_high']:,.0f})."
    )
elif ctx.filters.segment:
    st.caption(
        f"Predicted over the next {s.horizon_days} days for the segment "
        f"**{ctx.filters.segment}** within the other filters; expected orders: "
        f"{totals['expected_orders']:,.0f}. Intervals are shown for a segment on its own "
        "(clear the dates, channel and country) or on the Segments page."
    )
else:
    st.caption(
        f"Predicted over the next {s.horizon_days} days, with {interval:.0%} intervals: "
        f"{span(totals['predicted_cltv_low'] / n, totals['predicted_cltv_high'] / n)} per "
        f"customer, {span(totals['predicted_cltv_low'], totals['predicted_cltv_high'])} for "
        f"all customers. Expected orders: {totals['expected_orders']:,.0f} "
        f"({totals['expected_orders_low']:,.0f} to {totals['expected_orders_high']:,.0f})."
    )

st.subheader(
    "Historical and predicted value by group",
    help="Predicted bars carry their interval (whiskers): the group's total per parameter "
    "draw, summed over its customers, then the percentiles across draws.",
)
left, right = st.columns([3, 1], vertical_alignment="bottom")
st.session_state.setdefault(DIMENSION_KEY, "cohort_quarter")
dimension = (
    left.segmented_control(
        "Group by",
        [k for k in DIMENSIONS if k != "cohort_month"],
        format_func=DIMENSIONS.get,
        key=DIMENSION_KEY,
    )
    or "cohort_quarter"
)
st.session_state.setdefault(PER_CUSTOMER_KEY, True)
per_customer = right.toggle("Per customer", key=PER_CUSTOMER_KEY)
by = cached_value_by(ctx.store, ctx.db, ctx.data_version, run_id, dimension, ctx.filters, interval)
if dimension == "cohort_quarter":
    by["group"] = [f"{pd.Timestamp(g).year} Q{pd.Timestamp(g).quarter}" for g in by["group"]]
st.plotly_chart(
    charts.value_by_figure(
        by, per_customer=per_customer, currency=currency or "", horizon_days=s.horizon_days
    ),
    width="stretch",
    key="value.by",
)
older = (
    "Older cohorts have more revenue to date and, with fewer active customers, less ahead. "
    if dimension == "cohort_quarter"
    else ""
)
st.caption(f"{older}Whiskers: the {interval:.0%} interval of the prediction.")
interval_label = f"{interval:.0%} interval"
money_format = "accounting"
with st.expander("Table"):
    table = pd.DataFrame({"group": by["group"].astype(str), "customers": by["customers"]})
    if per_customer:
        table["historical"] = by["historical_revenue_per_customer"]
        table["predicted"] = by["predicted_cltv_per_customer"]
        table["predicted_interval"] = interval_text(
            by["predicted_cltv_low_per_customer"], by["predicted_cltv_high_per_customer"], 2
        )
        table["orders"] = by["expected_orders"] / by["customers"].where(by["customers"] > 0)
        orders_format = "%.2f"
    else:
        table["historical"] = by["historical_revenue"]
        table["predicted"] = by["predicted_cltv"]
        table["predicted_interval"] = interval_text(
            by["predicted_cltv_low"], by["predicted_cltv_high"], 0
        )
        table["orders"] = by["expected_orders"]
        orders_format = "%.0f"
    each = " per customer" if per_customer else ""
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "group": st.column_config.TextColumn(GROUP_HEADERS[dimension], width=140),
            "customers": st.column_config.NumberColumn("Customers", format="localized"),
            "historical": st.column_config.NumberColumn(
                f"Revenue to date{each}", format=money_format
            ),
            "predicted": st.column_config.NumberColumn(
                f"Predicted CLTV{each}",
                format=money_format,
                help=f"Over the next {s.horizon_days} days.",
            ),
            "predicted_interval": st.column_config.TextColumn(interval_label),
            "orders": st.column_config.NumberColumn(
                f"Expected orders{each}",
                format=orders_format,
                help=f"Over the next {s.horizon_days} days.",
            ),
        },
    )

st.subheader(
    "Distribution of predicted CLTV",
    help="Customers per bin of predicted CLTV at the fitted parameters. The last bin gathers "
    "everyone above the 99th percentile so a few very large customers do not flatten the "
    "chart.",
)
bins = cached_distribution(ctx.store, ctx.db, ctx.data_version, run_id, ctx.filters)
if bins.empty:
    empty_state("Every customer's predicted CLTV is zero for these filters.")
else:
    st.plotly_chart(
        charts.cltv_histogram_figure(bins, currency or ""), width="stretch", key="value.histogram"
    )

st.subheader(
    "CLTV vs CAC by channel",
    help="CAC = marketing spend of the channel / customers it acquired, and predicted CLTV "
    "per customer of those same customers, both over the whole months the date range "
    "touches (as everywhere on this page).",
)
cac = cached_cac(ctx.store, ctx.db, ctx.data_version, run_id, ctx.filters, interval)
if cac.empty:
    empty_state(
        "No marketing spend is imported, so there is no CAC. Import a marketing spend file "
        "(date, channel, spend) on the Data page."
    )
else:
    cac_table = cac[
        [
            "channel",
            "spend",
            "new_customers",
            "cac",
            "historical_revenue_per_customer",
            "predicted_cltv_per_customer",
        ]
    ].copy()
    cac_table["spend"] = cac_table["spend"].round()
    cac_table["cltv_interval"] = interval_text(
        cac["predicted_cltv_low_per_customer"], cac["predicted_cltv_high_per_customer"], 2
    )
    cac_table["ltv_to_cac"] = cac["ltv_to_cac"]
    cac_table["ratio_interval"] = interval_text(cac["ltv_to_cac_low"], cac["ltv_to_cac_high"], 2)
    st.dataframe(
        cac_table,
        hide_index=True,
        column_config={
            "channel": st.column_config.TextColumn("Channel"),
            "spend": st.column_config.NumberColumn("Spend", format="localized"),
            "new_customers": st.column_config.NumberColumn("New customers", format="localized"),
            "cac": st.column_config.NumberColumn("CAC", format=money_format),
            "historical_revenue_per_customer": st.column_config.NumberColumn(
                "Revenue to date / cust.",
                format=money_format,
                help="Revenue to date per customer the channel acquired in the date range.",
            ),
            "predicted_cltv_per_customer": st.column_config.NumberColumn(
                "Predicted CLTV / cust.",
                format=money_format,
                help=f"Predicted CLTV per customer over the next {s.horizon_days} days.",
            ),
            "cltv_interval": st.column_config.TextColumn(interval_label),
            "ltv_to_cac": st.column_config.NumberColumn(
                "CLTV : CAC",
                format="%.2f",
                help="Predicted CLTV per customer / CAC. Above 1: the channel's customers are "
                "expected to pay back what they cost within the horizon.",
            ),
            "ratio_interval": st.column_config.TextColumn(interval_label),
        },
    )
    st.caption(
        "Spend is not recorded by country, so a country filter narrows the customers but not "
        "the spend. Below 1, a channel's customers are not expected to pay back what it cost "
        "to acquire them within the horizon (with the margin set above)."
    )

st.subheader(
    "Top customers by predicted CLTV",
    help="The 50 customers with the highest predicted CLTV, with their interval, P(alive) and "
    "churn risk. Customer data: the table cannot be downloaded here; use an export.",
)
top = cached_top(ctx.store, ctx.db, ctx.data_version, run_id, ctx.filters)
# The ranking column and its interval first; who the customer is after.
top_table = pd.DataFrame(
    {
        "customer_id": top["customer_id"],
        "predicted_cltv": top["predicted_cltv"],
        "cltv_interval": interval_text(top["predicted_cltv_low"], top["predicted_cltv_high"], 0),
        "expected_orders": top["expected_orders"],
        "p_alive": top["p_alive"] * 100,
        "churn_risk": top["churn_risk"] * 100,
        "orders": top["orders"],
        "historical_revenue": top["historical_revenue"],
        "last_order_at": top["last_order_at"],
        "country": top["country"],
        "first_channel": top["first_channel"],
        "email": top["email"],
    }
)
st.dataframe(
    top_table,
    hide_index=True,
    column_config={
        "customer_id": st.column_config.TextColumn("Customer"),
        "email": st.column_config.TextColumn("Email"),
        "country": st.column_config.TextColumn("Country", width="small"),
        "first_channel": st.column_config.TextColumn("Channel"),
        "orders": st.column_config.NumberColumn(
            "Orders", format="localized", help="Counted orders to date."
        ),
        "historical_revenue": st.column_config.NumberColumn("Revenue to date", format=money_format),
        "last_order_at": st.column_config.DatetimeColumn("Last order", format="YYYY-MM-DD"),
        "p_alive": st.column_config.ProgressColumn(
            "P(alive)",
            format="%.0f%%",
            min_value=0.0,
            max_value=100.0,
            width="small",
            help="The chance that the customer has not left for good (BG/NBD).",
        ),
        "churn_risk": st.column_config.ProgressColumn(
            "Churn risk",
            format="%.0f%%",
            min_value=0.0,
            max_value=100.0,
            width="small",
            help=f"Chance of no order in the next {s.churn_horizon_days} days; empty for "
            "customers with no order in the last 365 days (lapsed already).",
        ),
        "expected_orders": st.column_config.NumberColumn(
            "Expected orders", format="%.1f", help=f"Over the next {s.horizon_days} days."
        ),
        "predicted_cltv": st.column_config.NumberColumn(
            "Predicted CLTV", format=money_format, help=f"Over the next {s.horizon_days} days."
        ),
        "cltv_interval": st.column_config.TextColumn(interval_label),
    },
)

with st.expander("How these numbers are made"):
    st.markdown(
        f"""
- **Expected orders** per customer over the next {s.horizon_days} days come from the BG/NBD
  model (Fader, Hardie & Lee 2005), fitted by maximum likelihood on each customer's repeat
  purchase days, recency and age.
- **Expected value per order** comes from the Gamma-Gamma model (Fader & Hardie 2013): a
  weighted mean of the customer's own average and the shop's average, weighted by how many
  repeat purchases the customer has.
- **Predicted CLTV** = Σ over the months of the horizon of the expected orders in that
  month × expected value per order × margin ({s.margin:.0%})
  / (1 + {s.annual_discount_rate:.0%})^(month/12).
- **Intervals** ({interval:.0%}): {s.draws} parameter sets are drawn from the asymptotic normal
  distribution of the maximum-likelihood estimates (log scale); every figure is recomputed
  for each draw and the interval is the middle {interval:.0%} of the results. They show how
  sure the model is about the shop's parameters, not how much one customer may vary.
- **Churn risk** is the chance of no order in the next {s.churn_horizon_days} days from a
  gradient-boosting classifier trained on your earlier customers. It has no parameter
  interval; how far to trust it (ROC AUC and calibration against simple rules) is on the
  **Model quality** page. It is left empty for customers with no order in the last 365 days:
  they have lapsed already.
- Check how well the models predict on your own data on the **Model quality** page.
"""
    )
