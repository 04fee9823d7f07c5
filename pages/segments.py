"""Segments: build rules with a live preview, manage saved segments, RFM grid, compare."""

from __future__ import annotations

import streamlit as st

from retention.filters import Filters
from retention.models.runs import NoOrdersError, data_range
from ui import cache
from ui.components import empty_state
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.nav import data_page
from ui.segments_view import (
    COMPARE_BASELINE_KEY,
    COMPARE_CHOSEN_KEY,
    DRAFT_KEY,
    LOADED_KEY,
    SAVED_CHOSEN_KEY,
    TAB_KEY,
    TABS,
    cached_segments,
    render_build,
    render_compare,
    render_rfm,
    render_saved,
    rules_are_valid,
    show_flash,
)

ctx = page_context()
st.title("Segments")

try:
    data_range(ctx.store)
except NoOrdersError:
    empty_state(
        "There are no orders yet, so there are no customers to segment. Open the **Data** page "
        "and import an orders file (CSV, Excel or Parquet; a Shopify orders export works as it "
        "is)."
    )
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

currency = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, Filters()).currency
st.caption(
    "Segments are groups of customers defined by rules over their attributes. They always "
    "cover all customers: the sidebar filters do not apply on this page."
)
saved_names = [s.name for s in cached_segments(ctx.store, ctx.db, ctx.data_version)]
link_widgets(
    Param("tab", TAB_KEY, choices=TABS),
    Param("rules", DRAFT_KEY, "json", check=rules_are_valid),
    Param("loaded", LOADED_KEY, choices=saved_names),
    Param("pick", SAVED_CHOSEN_KEY, choices=saved_names),
    Param("compare", COMPARE_CHOSEN_KEY, "list", choices=saved_names),
    Param("baseline", COMPARE_BASELINE_KEY, choices=saved_names),
)
show_flash()
st.session_state.setdefault(TAB_KEY, TABS[0])
tabs = dict(zip(TABS, st.tabs(TABS, key=TAB_KEY, on_change="rerun"), strict=True))
with tabs["Build"]:
    if tabs["Build"].open:
        render_build(ctx.store, ctx.db, ctx.data_version, currency)
with tabs["Saved"]:
    if tabs["Saved"].open:
        render_saved(ctx.store, ctx.db, ctx.data_version)
with tabs["RFM"]:
    if tabs["RFM"].open:
        render_rfm(ctx.store, ctx.db, ctx.data_version, currency)
with tabs["Compare"]:
    if tabs["Compare"].open:
        render_compare(ctx.store, ctx.db, ctx.data_version, currency)
