"""Cached reads: keyed on the database file, its data_version and the parameters.

The store argument is underscored so it stays out of the cache key; ``data_version`` is in
the key, so a successful import makes every cached result stale at once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from retention import data_summary, health
from retention.filters import Filters
from retention.store import Store

_TTL = 3600
_MAX = 128


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def headline_counts(
    _store: Store, db: str, data_version: int, filters: Filters
) -> data_summary.HeadlineCounts:
    return data_summary.headline_counts(_store, filters)


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def filter_options(_store: Store, db: str, data_version: int) -> data_summary.FilterOptions:
    return data_summary.filter_options(_store)


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def present_tables(_store: Store, db: str, data_version: int) -> dict[str, int]:
    return data_summary.present_tables(_store)


@st.cache_data(ttl=_TTL, max_entries=32, show_spinner=False)
def column_nulls(_store: Store, db: str, data_version: int, table_name: str) -> pd.DataFrame:
    return health.column_nulls(_store, table_name)


@st.cache_data(ttl=_TTL, max_entries=32, show_spinner=False)
def duplicate_keys(_store: Store, db: str, data_version: int, table_name: str) -> int:
    return health.duplicate_keys(_store, table_name)


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def date_coverage(_store: Store, db: str, data_version: int) -> pd.DataFrame:
    return health.date_coverage(_store)


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def segment_sizes(_store: Store, db: str, data_version: int) -> dict[str, int]:
    """Saved segment name → customers, by name."""
    from retention.segments.saved import list_segments

    return {s.name: s.customers for s in list_segments(_store)}
