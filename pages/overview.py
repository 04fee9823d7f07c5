"""Overview: the shop's KPIs for a recent period against the one before, and the data loaded."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from retention.charts.overview import revenue_split_figure
from retention.filters import Filters
from retention.metrics import REGISTRY
from retention.metrics.kpis import DEFAULT_INACTIVITY_DAYS, KPI_NAMES, revenue_split_sql
from retention.models.settings import load_settings
from retention.schema import TABLES
from ui import cache
from ui import format as fmt
from ui.churn_view import cached_default_threshold
from ui.components import empty_state, kpi_row, metric_definitions, show_sql
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.nav import data_page
from ui.overview_view import (
    PERIOD_CHOICES,
    PERIOD_KEY,
    cached_kpis,
    cached_last_day,
    cached_revenue_split,
    tiles,
)

ctx = page_context()
link_widgets(
    Param("period", PERIOD_KEY, "int", choices=tuple(PERIOD_CHOICES)),
)
st.title("Overview")

last_day = cached_last_day(ctx.store, ctx.db, ctx.data_version)
if last_day is None:
    empty_state(
        "There are no orders yet. Open the **Data** page and import an orders file "
        "(CSV, Excel or Parquet; a Shopify orders export works as it is)."
    )
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

counts = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, ctx.filters)
options = cache.filter_options(ctx.store, ctx.db, ctx.data_version)
end = ctx.filters.end or last_day
st.session_state.setdefault(PERIOD_KEY, 90)
days = (
    st.segmented_control(
        "Period",
        list(PERIOD_CHOICES),
        format_func=PERIOD_CHOICES.get,
        key=PERIOD_KEY,
        label_visibility="collapsed",
    )
    or 90
)
inactivity_days = (
    cached_default_threshold(ctx.store, ctx.db, ctx.data_version, ctx.filters)
    or DEFAULT_INACTIVITY_DAYS
)
series = cached_kpis(
    ctx.store,
    ctx.db,
    ctx.data_version,
    ctx.filters,
    end,
    days,
    ctx.filters.start or options.first_day,
    inactivity_days,
    load_settings(ctx.store).margin,
)
start = end - timedelta(days=days - 1)
st.caption(
    f"**{fmt.day(start)} – {fmt.day(end)}**, compared with the {days} days before; the small "
    f"lines show the last periods of {days} days. Churn counts a customer as lost after "
    f"{inactivity_days} days without an order (90% of repeat orders come sooner; see Churn)."
    + (" Filters apply." if ctx.filters != Filters() else "")
)
if counts.currencies > 1:
    st.warning(
        f"Orders are in {counts.currencies} currencies and amounts are added as they are, "
        "without conversion. Filter to one market, or import amounts in one currency.",
        icon=":material/currency_exchange:",
    )

st.subheader("Customers and revenue")
kpi_row(
    tiles(
        series,
        ["customers", "new_customers", "returning_customers", "orders", "revenue", "aov"],
        counts.currency,
        days,
    )
)
st.subheader("Retention")
kpi_row(
    tiles(
        series,
        ["repeat_purchase_rate", "retention_rate", "churn_rate", "historical_cltv"],
        counts.currency,
        days,
    )
)

present = cache.present_tables(ctx.store, ctx.db, ctx.data_version)
acquisition = [
    name
    for name in ("conversion_rate", "cac", "ltv_cac", "payback_months")
    if all(present.get(t, 0) for t in REGISTRY[name].requires)
    and not (name == "conversion_rate" and ctx.filters.narrows_customers)
    and not (name != "conversion_rate" and ctx.filters.countries)
]
st.subheader("Acquisition and conversion")
if acquisition:
    kpi_row(tiles(series, acquisition, counts.currency, days))
missing = sorted(
    {
        REGISTRY[n].note_when_missing
        for n in ("conversion_rate", "cac")
        if not all(present.get(t, 0) for t in REGISTRY[n].requires)
    }
)
for note in missing:
    st.caption(f":material/info: {note}")
if ctx.filters.narrows_customers and present.get("traffic_daily"):
    st.caption(
        ":material/filter_alt: Conversion is not shown with channel or country filters: "
        "sessions have no acquisition channel or country."
    )
if ctx.filters.countries and present.get("marketing_spend"):
    st.caption(
        ":material/filter_alt: CAC, LTV:CAC and payback are not shown with a country filter: "
        "spend has no country."
    )

st.subheader("Revenue from new and returning customers")
split = cached_revenue_split(ctx.store, ctx.db, ctx.data_version, ctx.filters)
st.plotly_chart(
    revenue_split_figure(split, currency=counts.currency or ""),
    width="stretch",
    key="overview.revenue_split",
)
st.caption(
    "New = revenue of customers' first orders; returning = all later orders; guest orders "
    "have no customer."
)

metric_definitions(
    KPI_NAMES, key="overview.sql_metric", label="Definitions and SQL of these numbers"
)
show_sql(revenue_split_sql(), label="SQL of the revenue split")

st.subheader("What data is loaded", help="Row counts of the whole file, not filtered.")
unlocks = {
    "customers": "countries, marketing consent and loyalty membership",
    "order_items": "products and first-order categories",
    "traffic_daily": "conversion rates and the funnel",
    "marketing_spend": "CAC, LTV:CAC and payback",
}
lines = []
for name, rows in present.items():
    contract = TABLES[name]
    if rows:
        lines.append(f"- :material/check_circle: **{contract.label}**: {rows:,} rows")
    else:
        lines.append(
            f"- :material/radio_button_unchecked: **{contract.label}**: not imported; "
            f"import it on the Data page for {unlocks.get(name, 'more analyses')}"
        )
st.markdown("\n".join(lines))
