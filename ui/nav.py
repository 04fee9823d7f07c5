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


def _page(file: str, title: str, icon: str) -> st.Page | None:
    path = PAGES_DIR / file
    return st.Page(path, title=title, icon=icon) if path.exists() else None


def all_pages() -> list[st.Page]:
    analysis = [
        _page("cohorts.py", "Cohorts", ":material/grid_on:"),
        _page("churn.py", "Churn", ":material/trending_down:"),
        _page("conversion.py", "Conversion & AOV", ":material/filter_alt:"),
        _page("value.py", "Customer value", ":material/savings:"),
        _page("model_quality.py", "Model quality", ":material/fact_check:"),
        _page("segments.py", "Segments", ":material/groups:"),
        _page("export.py", "Export", ":material/download:"),
        _page("scenarios.py", "Scenarios", ":material/science:"),
    ]
    return [overview_page(), *[p for p in analysis if p is not None], data_page()]
