"""Scenarios: a discount campaign or a loyalty programme on a saved segment, against the
baseline the fitted model expects, with Monte Carlo intervals; compare, save and export."""

from __future__ import annotations

import streamlit as st

from retention.filters import Filters
from retention.metrics.value import latest_scores_run_id
from retention.models.runs import NoOrdersError, data_range
from retention.models.settings import load_settings
from ui import cache
from ui import scenarios_view as view
from ui.components import empty_state
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.nav import PAGES_DIR, data_page

ctx = page_context()
st.title("Scenarios")
st.caption(
    "What would a discount or a loyalty programme add for a segment? Each scenario is measured "
    "against the orders the fitted model expects of the segment's customers anyway, with an "
    "interval that shows how unsure that is. Nothing is recomputed until you press "
    "**Simulate**. The sidebar filters do not apply here: a scenario covers its whole segment."
)

try:
    data_range(ctx.store)
except NoOrdersError:
    empty_state(
        "There are no orders yet, so there are no customers to simulate. Import orders on the "
        "**Data** page first."
    )
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

if latest_scores_run_id(ctx.store) is None:
    empty_state(
        "The models have not been fitted on this data yet, so there is no baseline to simulate "
        "against. Open **Customer value**, check the model settings and press **Save and "
        "refit**."
    )
    st.page_link(
        st.Page(PAGES_DIR / "value.py", title="Customer value", icon=":material/savings:"),
        label="Go to Customer value",
        icon=":material/savings:",
    )
    stop_page()

segments = view.cached_segments(ctx.store, ctx.db, ctx.data_version)
if not segments:
    empty_state(
        "No segment is saved yet. A scenario targets a saved segment: build one on the "
        "**Segments** page (for example save the RFM segment *At Risk*, or a segment of all "
        "customers for a loyalty programme) and come back."
    )
    st.page_link(
        st.Page(PAGES_DIR / "segments.py", title="Segments", icon=":material/groups:"),
        label="Go to Segments",
        icon=":material/groups:",
    )
    stop_page()

model_margin = load_settings(ctx.store).margin
currency = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, Filters()).currency
link_widgets(
    Param("kind", view.KIND_KEY, choices=view.KINDS),
    Param("scenario", view.LINK_KEY, "json"),
)
view.init_state(model_margin if model_margin < 1 else view.DEFAULT_MARGIN)
view.apply_link(segments)
view.show_flash()
view.render_saved_scenarios(ctx.store, segments, currency)

kind = view.kind_picker()
view.keep_hidden_inputs(kind)
if kind == "discount":
    submitted = view.discount_form(segments, model_margin, currency)
else:
    submitted = view.loyalty_form(segments, model_margin, currency)
if submitted is not None:
    view.set_active(submitted)
if model_margin >= 1:
    st.caption(
        f"The gross margin starts at {view.DEFAULT_MARGIN:.0%}, a placeholder: the model "
        "settings use 100% (CLTV as revenue). Enter your own margin, or set it on the "
        "Customer value page."
    )
view.remember_link(kind)
if kind == "loyalty":
    view.render_evidence(ctx.store, ctx.db, ctx.data_version)

run = view.active_run(kind)
result = None
if run is None:
    empty_state("Set the inputs above and press **Simulate** to see the results.")
else:
    result = view.render_result(ctx.store, ctx.db, ctx.data_version, run, currency)

if run is not None and result is not None:
    st.subheader("Keep it")
    view.comparison_buttons(run, result)
    view.render_save(ctx.store, run, result)
view.render_comparison(currency)
if run is not None and result is not None:
    st.subheader(
        "Export the targeted customers",
        help="The target list of the scenario's segment, with the scenario's offer on every "
        "row, recorded like any export so its lift can be measured later.",
    )
    view.render_export(ctx.store, run, currency)
