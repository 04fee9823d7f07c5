"""What every page needs from the frame: the store, its key, the data version, the filters.

Pages must run inside the frame (``app.py``), which draws the sidebar. Streamlit still has a
legacy mode for apps with a ``pages/`` folder: on a process's very first run, or in AppTest,
it may run a page file directly, without the frame. :func:`page_context` notices (the frame
leaves a mark in session state each run and the page takes it), switches the legacy mode off
and reruns, so the page is drawn inside the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import streamlit as st

from retention.filters import Filters
from retention.store import Store
from ui import state
from ui.store import db_path, get_store

__all__ = ["PageContext", "PageStopped", "page_context", "mark_frame", "stop_page"]


@dataclass(frozen=True)
class PageContext:
    store: Store
    db: str
    data_version: int
    filters: Filters


def mark_frame() -> None:
    """Called by app.py on every run, before the page runs."""
    st.session_state[state.FRAME_RAN] = True


def _ensure_frame() -> None:
    if st.session_state.pop(state.FRAME_RAN, False):
        return
    # Streamlit internal: the flag that selects the legacy pages/ mode (see module docstring).
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


def page_context() -> PageContext:
    """Built fresh on each run, after app.py has drawn the sidebar."""
    _ensure_frame()
    db = str(db_path())
    store = get_store(db)
    return PageContext(
        store=store,
        db=db,
        data_version=store.data_version(),
        filters=st.session_state.get(state.FILTERS, Filters()),
    )


class PageStopped(Exception):  # noqa: N818 - a signal, not an error
    """Raised by :func:`stop_page`; app.py catches it and finishes the frame."""


def stop_page() -> NoReturn:
    """End the page here, like ``st.stop()``, but let the frame finish its run.

    After ``st.stop()`` Streamlit drops everything else the run sends, so the URL could not
    be updated and the share link not drawn; pages stop with this instead.
    """
    raise PageStopped
