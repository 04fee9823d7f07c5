"""Data: import wizard, import history with rejected rows, data health."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.access import can_edit, editor_only_note
from ui.context import page_context
from ui.data_views import health_view, history_view
from ui.import_wizard import import_view
from ui.links import Param, link_widgets

ctx = page_context()
link_widgets(Param("view", state.DATA_VIEW, choices=("Import", "History", "Health")))
st.title("Data")

VIEWS = {"Import": import_view, "History": history_view, "Health": health_view}
if not can_edit():
    VIEWS.pop("Import")
    editor_only_note("import data")
st.session_state.setdefault(state.DATA_VIEW, next(iter(VIEWS)))
if st.session_state[state.DATA_VIEW] not in VIEWS:
    st.session_state[state.DATA_VIEW] = next(iter(VIEWS))
view = st.segmented_control("View", list(VIEWS), key=state.DATA_VIEW, label_visibility="collapsed")
VIEWS[view or next(iter(VIEWS))](ctx)
