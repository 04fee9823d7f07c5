"""Retention Lab: the frame. Page config, shared sidebar, navigation over pages/."""

from __future__ import annotations

import streamlit as st

from ui.context import mark_frame
from ui.nav import all_pages
from ui.sidebar import render_sidebar
from ui.store import db_path, ensure_database

st.set_page_config(
    page_title="Retention Lab",
    page_icon=":material/monitoring:",
    layout="wide",
    initial_sidebar_state="expanded",
)

mark_frame()
store = ensure_database()
render_sidebar(store, str(db_path()))
st.navigation(all_pages()).run()
