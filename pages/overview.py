"""Overview: headline counts of the data and which optional tables are present."""

from __future__ import annotations

import streamlit as st

from retention.charts.overview import monthly_activity_figure
from retention.data_summary import HEADLINE_SQL
from retention.filters import Filters
from retention.schema import TABLES
from ui import cache
from ui import format as fmt
from ui.components import Kpi, empty_state, kpi_row, show_sql
from ui.context import page_context
from ui.nav import data_page

ctx = page_context()
st.title("Overview")

counts = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, ctx.filters)
if counts.orders == 0:
    if ctx.filters == Filters():
        empty_state(
            "There are no orders yet. Open the **Data** page and import an orders file "
            "(CSV, Excel or Parquet; a Shopify orders export works as it is)."
        )
        st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    else:
        empty_state("No counted orders match the filters. Widen the dates or clear the filters.")
    st.stop()

kpi_row(
    [
        Kpi(
            "Customers",
            fmt.count(counts.customers),
            "Distinct customer ids with at least one counted order in the range. "
            "Guest orders are not customers.",
        ),
        Kpi(
            "Orders",
            fmt.count(counts.orders),
            "Counted orders: status completed or refunded; cancelled orders are out.",
        ),
        Kpi(
            "Revenue",
            fmt.money(counts.revenue, counts.currency),
            "Sum of counted orders' revenue, net of discounts and refunds, "
            "before tax and shipping.",
        ),
        Kpi(
            "Average order value",
            fmt.money(counts.aov, counts.currency),
            "AOV = revenue / counted orders (guest orders included).",
        ),
        Kpi(
            "Guest orders",
            fmt.count(counts.guest_orders),
            "Counted orders without a customer id: in orders, revenue and AOV, "
            "not in customer metrics.",
        ),
    ]
)
st.caption(
    f"Orders from **{fmt.day(counts.first_order_at)}** to **{fmt.day(counts.last_order_at)}**"
    + (" (filtered)" if ctx.filters.to_query_params() else "")
)
if counts.currencies > 1:
    st.warning(
        f"Orders are in {counts.currencies} currencies and amounts are added as they are, "
        "without conversion. Filter to one market, or import amounts in one currency.",
        icon=":material/currency_exchange:",
    )
show_sql(HEADLINE_SQL.format(where="<filters>"), label="How these numbers are computed (SQL)")

st.subheader("Orders and revenue by month")
monthly = cache.monthly_activity(ctx.store, ctx.db, ctx.data_version, ctx.filters)
st.plotly_chart(
    monthly_activity_figure(monthly, currency=counts.currency or ""),
    width="stretch",
    key="overview.monthly",
)

st.subheader("What data is loaded", help="Row counts of the whole file, not filtered.")
present = cache.present_tables(ctx.store, ctx.db, ctx.data_version)
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
