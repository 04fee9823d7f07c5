"""Customer value: historical vs predicted CLTV with intervals, by group, VIPs, CLTV vs CAC."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from retention.charts import models as charts
from retention.metrics.value import DIMENSIONS, latest_scores_run_id
from retention.models.runs import NoOrdersError, data_range, scores_are_stale
from retention.models.settings import load_settings, save_settings
from ui import cache
from ui import format as fmt
from ui.components import Kpi, empty_state, kpi_row
from ui.context import page_context
from ui.models_view import cached_latest_run, refit_scores_with_progress, settings_sentence
from ui.nav import data_page
from ui.value_view import (
    DIMENSION_KEY,
    PER_CUSTOMER_KEY,
    cached_cac,
    cached_distribution,
    cached_top,
    cached_totals,
    cached_value_by,
    settings_form,
)

ctx = page_context()
st.title("Customer value")

try:
    data_range(ctx.store)
except NoOrdersError as error:
    empty_state(str(error))
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    st.stop()

run = cached_latest_run(ctx.store, ctx.db, ctx.data_version, "scores")
run_id = latest_scores_run_id(ctx.store)
settings = load_settings(ctx.store)

with st.expander("Model settings", icon=":material/tune:", expanded=run is None):
    new_settings = settings_form(settings)
if new_settings is not None:
    save_settings(ctx.store, new_settings)
    if refit_scores_with_progress(ctx.store, new_settings) is not None:
        st.rerun()

if run is None or run_id is None:
    empty_state(
        "The models have not been fitted on this data yet. Check the settings above and press "
        "**Save and refit** (it takes a few seconds for tens of thousands of customers)."
    )
    st.stop()

if scores_are_stale(ctx.store, run):
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.warning(
        "Data were imported after these scores were computed; the numbers below are from "
        f"the fit of {run.created_at:%d %b %Y %H:%M} UTC.",
        icon=":material/history:",
    )
    refit = right.button("Refit now", type="primary")
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

totals = cached_totals(ctx.store, ctx.db, ctx.data_version, run_id, ctx.filters, interval)
if not totals or totals.get("customers", 0) == 0:
    empty_state(
        "No customer matches the filters in the sidebar. Widen the dates or clear the "
        "channel and country filters."
    )
    st.stop()


def money(value: float | None) -> str:
    return fmt.money(value, currency)


def between(low: float | None, high: float | None) -> str:
    return f"{interval:.0%} interval {money(low)} to {money(high)}"


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
            f"Predicted CLTV per customer, next {s.horizon_days} days",
            money(totals["predicted_cltv"] / n),
            "Σ over the months of the horizon of expected orders (BG/NBD) × expected value per "
            "order (Gamma-Gamma) × margin, discounted monthly; / customers.",
            delta=between(totals["predicted_cltv_low"] / n, totals["predicted_cltv_high"] / n),
            delta_color="off",
        ),
        Kpi(
            f"Predicted CLTV, all customers, next {s.horizon_days} days",
            money(totals["predicted_cltv"]),
            "The sum of every customer's predicted CLTV. The interval reflects uncertainty in "
            "the fitted parameters (draws from their asymptotic normal distribution), not the "
            "randomness of single customers.",
            delta=between(totals["predicted_cltv_low"], totals["predicted_cltv_high"]),
            delta_color="off",
        ),
    ]
)
st.caption(
    f"Expected orders in the next {s.horizon_days} days: {totals['expected_orders']:,.0f} "
    f"({interval:.0%} interval {totals['expected_orders_low']:,.0f} to "
    f"{totals['expected_orders_high']:,.0f})."
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
    charts.value_by_figure(by, per_customer=per_customer), width="stretch", key="value.by"
)
st.caption(
    "Older cohorts have more revenue to date and, with fewer active customers, less ahead. "
    "Whiskers: the interval of the prediction."
)
with st.expander("Table"):
    money_format = "%.2f"
    st.dataframe(
        by,
        hide_index=True,
        column_config={
            "group": st.column_config.TextColumn(DIMENSIONS[dimension]),
            "customers": st.column_config.NumberColumn("Customers", format="%d"),
            "historical_revenue": st.column_config.NumberColumn(
                "Revenue to date", format=money_format
            ),
            "expected_orders": st.column_config.NumberColumn("Expected orders", format="%.0f"),
            "expected_orders_low": st.column_config.NumberColumn("low", format="%.0f"),
            "expected_orders_high": st.column_config.NumberColumn("high", format="%.0f"),
            "predicted_cltv": st.column_config.NumberColumn("Predicted CLTV", format=money_format),
            "predicted_cltv_low": st.column_config.NumberColumn("low", format=money_format),
            "predicted_cltv_high": st.column_config.NumberColumn("high", format=money_format),
            "historical_revenue_per_customer": st.column_config.NumberColumn(
                "Revenue to date per customer", format=money_format
            ),
            "predicted_cltv_per_customer": st.column_config.NumberColumn(
                "Predicted per customer", format=money_format
            ),
            "predicted_cltv_low_per_customer": st.column_config.NumberColumn(
                "low", format=money_format
            ),
            "predicted_cltv_high_per_customer": st.column_config.NumberColumn(
                "high", format=money_format
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
    help="CAC = marketing spend of the channel in the date range / customers it acquired in "
    "the range. Predicted CLTV per customer is that of the channel's customers acquired in "
    "the months of the range.",
)
cac = cached_cac(ctx.store, ctx.db, ctx.data_version, run_id, ctx.filters, interval)
if cac.empty:
    empty_state(
        "No marketing spend is imported, so there is no CAC. Import a marketing spend file "
        "(date, channel, spend) on the Data page."
    )
else:
    st.dataframe(
        cac,
        hide_index=True,
        column_config={
            "channel": st.column_config.TextColumn("Channel"),
            "spend": st.column_config.NumberColumn("Spend", format="%.0f"),
            "new_customers": st.column_config.NumberColumn("New customers", format="%d"),
            "cac": st.column_config.NumberColumn("CAC", format="%.2f"),
            "historical_revenue_per_customer": st.column_config.NumberColumn(
                "Revenue to date per customer", format="%.2f"
            ),
            "predicted_cltv_per_customer": st.column_config.NumberColumn(
                "Predicted CLTV per customer", format="%.2f"
            ),
            "predicted_cltv_low_per_customer": st.column_config.NumberColumn("low", format="%.2f"),
            "predicted_cltv_high_per_customer": st.column_config.NumberColumn(
                "high", format="%.2f"
            ),
            "ltv_to_cac": st.column_config.NumberColumn("Predicted CLTV : CAC", format="%.2f"),
            "ltv_to_cac_low": st.column_config.NumberColumn("low", format="%.2f"),
            "ltv_to_cac_high": st.column_config.NumberColumn("high", format="%.2f"),
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
st.dataframe(
    top,
    hide_index=True,
    column_config={
        "customer_id": st.column_config.TextColumn("Customer"),
        "email": st.column_config.TextColumn("Email"),
        "country": st.column_config.TextColumn("Country"),
        "first_channel": st.column_config.TextColumn("Channel"),
        "orders": st.column_config.NumberColumn("Orders", format="%d"),
        "historical_revenue": st.column_config.NumberColumn("Revenue to date", format="%.2f"),
        "p_alive": st.column_config.ProgressColumn(
            "P(alive)", format="percent", min_value=0.0, max_value=1.0
        ),
        "expected_orders": st.column_config.NumberColumn("Expected orders", format="%.2f"),
        "predicted_cltv": st.column_config.NumberColumn("Predicted CLTV", format="%.2f"),
        "predicted_cltv_low": st.column_config.NumberColumn("low", format="%.2f"),
        "predicted_cltv_high": st.column_config.NumberColumn("high", format="%.2f"),
        "churn_risk": st.column_config.ProgressColumn(
            "Churn risk",
            format="percent",
            min_value=0.0,
            max_value=1.0,
            help="Chance of no order in the churn-risk horizon; empty for customers with no "
            "order in the last 365 days (lapsed already).",
        ),
        "last_order_at": st.column_config.DatetimeColumn("Last order", format="YYYY-MM-DD"),
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
- Check how well the models predict on your own data on the **Model quality** page.
"""
    )
