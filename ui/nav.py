"""The app's pages, in navigation order. A page appears here only when it works."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

__all__ = ["PAGES_DIR", "overview_page", "data_page", "all_pages"]

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"


def overview_page() -> st.Page:
    return st.Page(
        PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", default=True
    )


def data_page() -> st.Page:
    return st.Page(PAGES_DIR / "data.py", title="Data", icon=":material/database:")


def all_pages() -> list[st.Page]:
    return [overview_page(), data_page()]
