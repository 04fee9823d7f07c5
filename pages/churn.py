"""Churn: the inactivity threshold, churn per month, time to second order, gaps between orders."""

from __future__ import annotations

import streamlit as st

from retention.charts import churn as charts
from retention.metrics import REGISTRY, churn
from retention.metrics.kpis import DEFAULT_INACTIVITY_DAYS
from ui.churn_view import (
    INACTIVITY_KEY,
    KPI_NAMES,
    SPLIT_KEY,
    SPLITS,
    SQL_METRIC_KEY,
    cached_churn_table,
    cached_default_threshold,
    cached_gap_histogram,
    cached_status,
    cached_survival,
    kpi_tiles,
    logrank_sentence,
    threshold_sentence,
)
from ui.components import empty_state, kpi_row, metric_definitions, show_sql
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.nav import data_page

ctx = page_context()
link_widgets(
    Param("inactive_days", INACTIVITY_KEY, "int", low=1, high=3650),
    Param("split", SPLIT_KEY, choices=tuple(SPLITS)),
)
st.title("Churn")

default_days = cached_default_threshold(ctx.store, ctx.db, ctx.data_version, ctx.filters)
status = cached_status(
    ctx.store, ctx.db, ctx.data_version, ctx.filters, default_days or DEFAULT_INACTIVITY_DAYS
)
if status is None:
    empty_state(
        "There are no orders yet. Open the **Data** page and import an orders file "
        "(CSV, Excel or Parquet; a Shopify orders export works as it is)."
    )
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

st.session_state.setdefault(INACTIVITY_KEY, default_days or DEFAULT_INACTIVITY_DAYS)
threshold_column, _ = st.columns([1, 2])
inactivity_days = int(
    threshold_column.number_input(
        "Churned after this many days without an order",
        min_value=1,
        max_value=3650,
        step=1,
        key=INACTIVITY_KEY,
        help="A customer with no counted order for this many days counts as churned. The "
        "default comes from the data: the 90th percentile of days between a customer's "
        "consecutive orders, rounded up to a whole day.",
    )
)
st.caption(threshold_sentence(default_days, inactivity_days))
if default_days is None:
    empty_state(
        "No repeat orders yet: nobody has ordered twice in this date range, so there are no "
        "gaps between orders and no time to a second order to show. Churn counts still work; "
        "widen the dates in the sidebar or import more order history on the Data page."
    )

status = cached_status(ctx.store, ctx.db, ctx.data_version, ctx.filters, inactivity_days)
table = cached_churn_table(ctx.store, ctx.db, ctx.data_version, ctx.filters, inactivity_days)
rated = table.dropna(subset=["churn_rate"])
last_rate = float(rated["churn_rate"].iloc[-1]) if len(rated) else float("nan")
last_period = f"{rated['period_start'].iloc[-1]:%B %Y}" if len(rated) else "none yet"
assert status is not None
kpi_row(kpi_tiles(status, last_rate, last_period, inactivity_days))

st.subheader(
    "Churn rate per month",
    help=REGISTRY["churn_rate"].help_text() + "\n\nOnly whole months that have ended are "
    "shown: a month still running cannot be judged yet.",
)
if rated.empty:
    empty_state(
        "No whole month has customers who were active at its start yet. Widen the dates in "
        "the sidebar, or lower the threshold."
    )
else:
    st.plotly_chart(charts.churn_rate_figure(rated), width="stretch", key="churn.rate_chart")
    st.caption(
        f"Of the customers with an order in the {inactivity_days} days before a month "
        f"starts, the share with no order in the {inactivity_days} days before it ends. "
        "Same definition as the Overview's churn rate."
    )
show_sql(churn.churn_counts_sql(), label="SQL of churn per month")

st.subheader(
    "Time to a second order",
    help="Kaplan–Meier estimate of the share of customers who have not yet placed a second "
    "order, by days since their first. Customers who have not reordered are censored at the "
    "last day (counted as waiting so far), not dropped. Shaded: pointwise 95% confidence "
    "band (Greenwood standard error, log-log transformed).",
)
st.session_state.setdefault(SPLIT_KEY, "none")
split = (
    st.segmented_control(
        "Split by",
        list(SPLITS),
        format_func=SPLITS.get,
        key=SPLIT_KEY,
        help="Channel = acquisition channel (the customer's first order); cohort = quarter of "
        "the first order.",
    )
    or "none"
)
curves, test, followed = cached_survival(ctx.store, ctx.db, ctx.data_version, ctx.filters, split)
if curves.empty or not (curves["events"] > 0).any():
    empty_state(
        "No customer acquired in this date range has a second order yet, so there is no curve. "
        "Widen the dates in the sidebar."
    )
else:
    st.plotly_chart(charts.survival_figure(curves), width="stretch", key="churn.survival_chart")
    st.caption(
        f"{followed:,} customers acquired in the date range, followed from their first order "
        "to the second, or to the last day if they have not reordered (censored). A curve "
        "that falls faster means customers come back sooner. Bands: 95% pointwise, "
        "Greenwood standard error on the log-log scale."
    )
    if split != "none":
        st.markdown(logrank_sentence(test, SPLITS[split]))
    with st.expander("Table: the Kaplan–Meier estimate"):
        st.dataframe(
            curves,
            hide_index=True,
            column_config={
                "survival": st.column_config.NumberColumn(
                    "Not yet reordered", format="percent", help="Kaplan–Meier S(t)"
                ),
                "ci_lower": st.column_config.NumberColumn("95% lower", format="percent"),
                "ci_upper": st.column_config.NumberColumn("95% upper", format="percent"),
            },
        )
show_sql(churn.survival_counts_sql(), label="SQL of the survival counts")

st.subheader(
    "Time between orders",
    help="Repeat orders by days since the same customer's previous counted order, binned in "
    "the database. The red line is the churn threshold, the green one the median.",
)
hist = cached_gap_histogram(ctx.store, ctx.db, ctx.data_version, ctx.filters)
if hist.repeat_orders == 0:
    empty_state("No repeat orders in this date range yet, so there are no gaps to show.")
else:
    st.plotly_chart(
        charts.gap_histogram_figure(
            hist.bins, hist.bin_days, threshold=inactivity_days, median=hist.median_days
        ),
        width="stretch",
        key="churn.gap_histogram",
    )
    beyond = int(hist.bins.loc[hist.bins["bin_start"] >= inactivity_days, "orders"].sum())
    st.caption(
        f"{hist.repeat_orders:,} repeat orders; bins of {hist.bin_days} days. "
        f"{beyond / hist.repeat_orders:.1%} came {inactivity_days} or more days after the "
        "previous one: those customers would have counted as churned and then came back."
    )
show_sql(churn.gap_histogram_sql(), label="SQL of the histogram")

metric_definitions(KPI_NAMES, key=SQL_METRIC_KEY)
