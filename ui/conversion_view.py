"""Conversion & AOV glue: widget keys, cached reads and KPI tiles for pages/conversion.py."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from retention.filters import Filters
from retention.metrics import REGISTRY
from retention.metrics import conversion as conv
from retention.metrics.periods import Grain, Period
from retention.metrics.registry import compute
from retention.store import Store
from ui import format as fmt
from ui.components import Kpi

__all__ = [
    "VIEW_KEY",
    "GRAIN_KEY",
    "VIEWS",
    "GRAINS",
    "KPI_NAMES",
    "cached_traffic_filters",
    "cached_kpis",
    "cached_funnel",
    "cached_conversion_table",
    "cached_aov_table",
    "cached_aov_by_channel",
    "cached_aov_distribution",
    "kpi_tiles",
]

VIEW_KEY = "conversion.view"
GRAIN_KEY = "conversion.grain"
SQL_METRIC_KEY = "conversion.sql_metric"
VIEWS: tuple[str, ...] = ("Funnel & conversion", "Order value (AOV)")
GRAINS: dict[str, str] = {"week": "Weekly", "month": "Monthly", "quarter": "Quarterly"}
KPI_NAMES: tuple[str, ...] = (
    "sessions",
    "conversion_rate",
    "checkout_rate",
    "aov",
    "new_customer_aov",
    "returning_customer_aov",
)
TRAFFIC_KPIS = frozenset({"sessions", "conversion_rate", "checkout_rate"})
"""Computed over the traffic days with the date range only (see conversion's docstring)."""

_TTL, _MAX = 3600, 64


def _one_period(start: date, end: date) -> list[Period]:
    first = datetime(start.year, start.month, start.day)
    last = datetime(end.year, end.month, end.day) + timedelta(days=1)
    return [Period(0, first, last)]


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_traffic_filters(
    _store: Store, db: str, data_version: int, filters: Filters
) -> Filters | None:
    return conv.traffic_filters(_store, filters)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_kpis(
    _store: Store,
    db: str,
    data_version: int,
    filters: Filters,
    traffic: Filters | None,
    first_day: date,
    last_day: date,
) -> dict[str, float]:
    """Each KPI over one period: traffic KPIs over the traffic days (date range only), AOV
    KPIs over the filtered date range with every filter."""
    out: dict[str, float] = {}
    for name in KPI_NAMES:
        if name in TRAFFIC_KPIS:
            if traffic is None or traffic.start is None or traffic.end is None:
                out[name] = math.nan
                continue
            values = compute(_store, REGISTRY[name], _one_period(traffic.start, traffic.end))
        else:
            start, end = filters.start or first_day, filters.end or last_day
            values = compute(_store, REGISTRY[name], _one_period(start, end), filters)
        out[name] = float(values["value"].iloc[0]) if len(values) else math.nan
    return out


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_funnel(_store: Store, db: str, data_version: int, traffic: Filters) -> pd.DataFrame:
    return conv.funnel(_store, traffic)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_conversion_table(
    _store: Store, db: str, data_version: int, traffic: Filters, grain: Grain
) -> pd.DataFrame:
    return conv.conversion_table(_store, traffic, grain)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_aov_table(
    _store: Store, db: str, data_version: int, filters: Filters, grain: Grain
) -> pd.DataFrame:
    return conv.aov_table(_store, filters, grain)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_aov_by_channel(
    _store: Store, db: str, data_version: int, filters: Filters
) -> pd.DataFrame:
    return conv.aov_by_channel(_store, filters)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_aov_distribution(
    _store: Store, db: str, data_version: int, filters: Filters
) -> conv.AovDistribution:
    return conv.aov_distribution(_store, filters)


def _value(unit: str, v: float, currency: str | None) -> str:
    if math.isnan(v):
        return "–"
    if unit == "count":
        return fmt.count(int(round(v)))
    if unit == "money":
        return fmt.money(v, currency)
    if unit == "share":
        return fmt.share(v, 2)
    return f"{v:,.2f}"


def kpi_tiles(values: dict[str, float], currency: str | None, traffic_note: str) -> list[Kpi]:
    """A tile per KPI with its registry definition (and formula) as hover help."""
    out = []
    for name in KPI_NAMES:
        m = REGISTRY[name]
        help_text = m.help_text()
        if name in TRAFFIC_KPIS:
            help_text += f"\n\n{traffic_note}"
        out.append(
            Kpi(label=m.label, value=_value(m.unit, values[name], currency), definition=help_text)
        )
    return out
