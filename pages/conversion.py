"""Conversion & AOV: the traffic funnel, conversion by channel and device, order values."""

from __future__ import annotations

import streamlit as st

from retention.charts import conversion as charts
from retention.metrics import REGISTRY
from retention.metrics import conversion as conv
from ui import cache
from ui.components import empty_state, kpi_row, metric_definitions, show_sql
from ui.context import page_context, stop_page
from ui.conversion_view import (
    GRAIN_KEY,
    GRAINS,
    KPI_NAMES,
    SQL_METRIC_KEY,
    VIEW_KEY,
    VIEWS,
    cached_aov_by_channel,
    cached_aov_distribution,
    cached_aov_table,
    cached_conversion_table,
    cached_funnel,
    cached_kpis,
    cached_traffic_filters,
    kpi_tiles,
)
from ui.links import Param, link_widgets
from ui.nav import data_page

ctx = page_context()
link_widgets(
    Param("view", VIEW_KEY, choices=VIEWS),
    Param("grain", GRAIN_KEY, choices=tuple(GRAINS)),
)
st.title("Conversion & AOV")

options = cache.filter_options(ctx.store, ctx.db, ctx.data_version)
if options.first_day is None or options.last_day is None:
    empty_state(
        "There are no orders yet. Open the **Data** page and import an orders file; add daily "
        "traffic (traffic_daily) there too for the funnel and conversion."
    )
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

counts = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, ctx.filters)
currency = counts.currency
traffic = cached_traffic_filters(ctx.store, ctx.db, ctx.data_version, ctx.filters)
traffic_note = (
    f"Counted over the days with traffic, {traffic.start} – {traffic.end}: orders and "
    "sessions of the same days, split by the order's channel. The sidebar's acquisition-"
    "channel and country filters do not apply to sessions or conversion."
    if traffic
    else "Needs daily traffic (traffic_daily)."
)

st.caption(
    "Conversion = counted orders / sessions of the same days. AOV = revenue / counted orders "
    "(completed or refunded, guest orders included)."
)
if ctx.filters.narrows_customers and traffic:
    st.info(
        "Sessions, the funnel and conversion ignore the sidebar's **acquisition channel** and "
        "**country** filters: traffic has no customers, so it has neither. They use all orders "
        "of the chosen days, split by the *order's* channel. The order-value (AOV) numbers "
        "below do apply every filter.",
        icon=":material/filter_alt_off:",
    )

values = cached_kpis(
    ctx.store,
    ctx.db,
    ctx.data_version,
    ctx.filters,
    traffic,
    options.first_day,
    options.last_day,
)
kpi_row(kpi_tiles(values, currency, traffic_note), per_row=3)

if traffic is None:
    empty_state(
        "No daily traffic in this date range, so there is no funnel and no conversion rate. "
        "Import a **traffic_daily** file on the Data page with the columns **date, channel, "
        "device, sessions, product_views, add_to_carts, checkouts** (one row per day, channel "
        "and device; channel and device may be left out). Order values (AOV) are shown below.",
        icon=":material/filter_alt:",
    )
    st.page_link(data_page(), label="Import traffic on the Data page", icon=":material/upload:")
    view = VIEWS[1]
else:
    st.session_state.setdefault(VIEW_KEY, VIEWS[0])
    view = (
        st.segmented_control("View", VIEWS, key=VIEW_KEY, label_visibility="collapsed") or VIEWS[0]
    )

st.session_state.setdefault(GRAIN_KEY, "month")
grain = (
    st.segmented_control(
        "Periods of the charts over time",
        list(GRAINS),
        format_func=GRAINS.get,
        key=GRAIN_KEY,
        help="Calendar periods; the first and last may be partial.",
    )
    or "month"
)


def funnel_section() -> None:
    assert traffic is not None
    steps = cached_funnel(ctx.store, ctx.db, ctx.data_version, traffic)
    st.subheader(
        "Funnel",
        help="Each step's count over the traffic days, all channels and devices. The text "
        "shows the step as a share of the previous step and of sessions. Orders are counted "
        "orders of the same days.",
    )
    if steps.empty or steps["count"].isna().all():
        empty_state("No sessions in this date range. Widen the dates in the sidebar.")
        return
    st.plotly_chart(charts.funnel_figure(steps), width="stretch", key="conversion.funnel")
    unknown = steps.loc[steps["count"].isna(), "label"].tolist()
    if unknown:
        st.caption(
            f":material/info: Not shown: {', '.join(unknown)}; the traffic file leaves that "
            "column empty on some rows, so the step is unknown."
        )
    over = steps[steps["rate_from_previous"] > 1]
    if not over.empty:
        st.warning(
            "Some steps are larger than the step before ("
            + ", ".join(over["label"])
            + "). The data says more sessions reached them than the step before; check how "
            "the traffic file counts funnel steps (sessions vs events).",
            icon=":material/warning:",
        )
    show_sql(conv.funnel_sql(), label="SQL of the funnel")


def conversion_over_time_section() -> None:
    assert traffic is not None
    table = cached_conversion_table(ctx.store, ctx.db, ctx.data_version, traffic, grain)
    st.subheader(
        "Conversion by channel",
        help="Counted orders of the order's channel / sessions of that channel, per period. "
        "Channels with orders but no sessions have no rate.",
    )
    if table["conversion_rate"].notna().any():
        st.plotly_chart(
            charts.channel_conversion_figure(table), width="stretch", key="conversion.by_channel"
        )
    else:
        empty_state("No channel has both sessions and orders in this date range.")
    no_traffic = table[(table["device"] == conv.ALL_DEVICES) & table["sessions"].isna()]
    if not no_traffic.empty:
        st.caption(
            ":material/info: Orders in channels without traffic are not in a channel's rate "
            f"(but are in the overall rate): {', '.join(sorted(set(no_traffic['channel'])))}."
        )
    st.subheader(
        "Checkout rate by device",
        help=REGISTRY["checkout_rate"].help_text(),
    )
    st.caption(
        "Orders carry no device, so conversion by device cannot be known. This is the "
        "**checkout rate** (checkouts / sessions), the last step the traffic data sees per "
        "device; orders are not allocated to devices."
    )
    rates = conv.device_checkout_rates(table)
    if rates["checkout_rate"].notna().any():
        st.plotly_chart(
            charts.device_checkout_figure(rates), width="stretch", key="conversion.by_device"
        )
    else:
        empty_state("The traffic data has no checkouts column, so no checkout rate per device.")
    with st.expander("Table: conversion per period, channel and device"):
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                "period_start": st.column_config.DateColumn("Period", format="YYYY-MM-DD"),
                "conversion_rate": st.column_config.NumberColumn(
                    "Conversion", format="percent", help="orders / sessions (channel rows)"
                ),
                "checkout_rate": st.column_config.NumberColumn(
                    "Checkout rate", format="percent", help="checkouts / sessions"
                ),
            },
        )
    show_sql(conv.conversion_sql(), label="SQL of conversion by channel and device")


def aov_section() -> None:
    aov = cached_aov_table(ctx.store, ctx.db, ctx.data_version, ctx.filters, grain)
    if aov.empty:
        empty_state("No counted orders match these filters. Widen the dates or clear filters.")
        return
    st.subheader(
        "Average order value over time",
        help="Revenue / counted orders per period: all orders, customers' first orders (new), "
        "their later orders (returning), and guest orders.",
    )
    st.plotly_chart(
        charts.aov_over_time_figure(aov, currency=currency or ""),
        width="stretch",
        key="conversion.aov_over_time",
    )
    show_sql(conv.aov_sql(), label="SQL of AOV over time")
    left, right = st.columns(2)
    with left:
        st.subheader(
            "Order value distribution",
            help="Counted orders per order-value bin, binned in the database; the grey bar "
            "holds the top ~1% (orders at or above the 99th percentile, rounded up).",
        )
        dist = cached_aov_distribution(ctx.store, ctx.db, ctx.data_version, ctx.filters)
        st.plotly_chart(
            charts.aov_histogram_figure(dist, currency=currency or ""),
            width="stretch",
            key="conversion.aov_histogram",
        )
        show_sql(conv.aov_histogram_sql(), label="SQL of the distribution")
    with right:
        st.subheader(
            "AOV by order channel",
            help="Revenue / counted orders per order channel (the channel of the order, not "
            "the customer's acquisition channel).",
        )
        by_channel = cached_aov_by_channel(ctx.store, ctx.db, ctx.data_version, ctx.filters)
        st.plotly_chart(
            charts.aov_by_channel_figure(by_channel, currency=currency or ""),
            width="stretch",
            key="conversion.aov_by_channel",
        )
        show_sql(conv.aov_by_channel_sql(), label="SQL of AOV by channel")


if view == VIEWS[0]:
    funnel_section()
    conversion_over_time_section()
else:
    aov_section()

metric_definitions(
    (*KPI_NAMES, "add_to_cart_rate", "cart_to_checkout_rate", "guest_aov"), key=SQL_METRIC_KEY
)
