"""Retention Lab: the frame. Page config, shared sidebar, navigation over pages/."""

from __future__ import annotations

import streamlit as st

from ui.sidebar import render_sidebar
from ui.store import db_path, ensure_database

st.set_page_config(
    page_title="Retention Lab",
    page_icon=":material/monitoring:",
    layout="wide",
    initial_sidebar_state="expanded",
)

store = ensure_database()
render_sidebar(store, str(db_path()))

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
]
st.navigation(pages).run()
