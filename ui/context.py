"""What every page needs from the frame: the store, its key, the data version, the filters."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from retention.filters import Filters
from retention.store import Store
from ui import state
from ui.store import db_path, get_store

__all__ = ["PageContext", "page_context"]


@dataclass(frozen=True)
class PageContext:
    store: Store
    db: str
    data_version: int
    filters: Filters


def page_context() -> PageContext:
    """Built fresh on each run, after app.py has drawn the sidebar."""
    db = str(db_path())
    store = get_store(db)
    return PageContext(
        store=store,
        db=db,
        data_version=store.data_version(),
        filters=st.session_state.get(state.FILTERS, Filters()),
    )
