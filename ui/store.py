"""The process-wide store, built on first start when the sample shop file is missing.

One :class:`~retention.store.Store` per process and file (``st.cache_resource``); every query
takes its own cursor, so sessions share it safely. Cached results are keyed on the file and
its ``data_version``, so an import invalidates them and nothing else does.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from retention.paths import SAMPLE_DB_PATH, default_db_path
from retention.store import Store

__all__ = ["get_store", "ensure_database", "db_path"]


def db_path() -> Path:
    return default_db_path().resolve()


@st.cache_resource(show_spinner=False)
def get_store(path: str) -> Store:
    """Open (create, migrate) the DuckDB file once per process."""
    return Store(path)


def ensure_database() -> Store:
    """The store for this process; builds the sample shop with a progress bar on first start."""
    path = db_path()
    if not path.exists() and path == SAMPLE_DB_PATH.resolve():
        from retention.sample import build_sample_db

        bar = st.progress(0.0, text="First start: building the sample shop…")

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=f"Building the sample shop: {message}")

        build_sample_db(path, progress=lambda f, m: progress(0.6 * f, m))
        from retention.models.runs import refresh_models

        with Store(path) as store:
            refresh_models(store, progress=lambda f, m: progress(0.6 + 0.4 * f, m))
            store.checkpoint()
        bar.empty()
    return get_store(str(path))
