"""Retention Lab: the frame. Page config, login gate, shared sidebar, navigation over pages/."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import streamlit as st

from retention.store import StoreError
from ui.access import (
    go_to_resumed_page,
    render_access_sidebar,
    require_access,
    resume_link_after_login,
)
from ui.context import PageStopped, mark_frame
from ui.links import publish, render_share
from ui.nav import all_pages
from ui.sidebar import render_sidebar
from ui.store import db_path, ensure_database

ICON = Path(__file__).resolve().parent / "ui" / "icon.png"

st.set_page_config(
    page_title="Retention Lab",
    page_icon=str(ICON),  # served by the app itself: no favicon fetched from a font CDN
    layout="wide",
    initial_sidebar_state="expanded",
)

access = require_access()  # with [auth] in secrets: nothing below runs before login
resumed = resume_link_after_login()
pages = all_pages()
page = st.navigation(pages)
mark_frame()
try:
    store = ensure_database()
except StoreError as error:  # locked file, not a database, a bad RETENTION_MEMORY_LIMIT
    st.error(f"The app cannot open its database: {error}", icon=":material/error:")
    st.stop()
render_sidebar(store, str(db_path()))
share_slot = st.sidebar.container()
render_access_sidebar(access)
go_to_resumed_page(resumed, page, pages)
with suppress(PageStopped):  # a page that ends early (an empty state) lets the frame finish
    page.run()
publish()
render_share(share_slot)
