"""Overview glue: cached KPI series and turning them into KPI tiles."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import streamlit as st

from retention.filters import Filters
from retention.metrics import REGISTRY, Metric, trailing_periods
from retention.metrics.kpis import data_last_day, kpi_series, revenue_new_vs_returning
from retention.store import Store
from ui import format as fmt
from ui.components import Kpi

__all__ = [
    "PERIOD_KEY",
    "PERIOD_CHOICES",
    "TREND_PERIODS",
    "cached_kpis",
    "cached_revenue_split",
    "cached_last_day",
    "tiles",
]

PERIOD_KEY = "overview.period_days"
PERIOD_CHOICES: dict[int, str] = {30: "Last 30 days", 90: "Last 90 days", 365: "Last 12 months"}
TREND_PERIODS = 8


@st.cache_data(ttl=3600, max_entries=16, show_spinner=False)
def cached_last_day(_store: Store, db: str, data_version: int) -> date | None:
    return data_last_day(_store)


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def cached_kpis(
    _store: Store,
    db: str,
    data_version: int,
    filters: Filters,
    last_day: date,
    days: int,
    first_day: date | None,
    inactivity_days: int,
    margin: float = 1.0,
) -> pd.DataFrame:
    periods = trailing_periods(last_day, days, TREND_PERIODS, first_day=first_day)
    return kpi_series(_store, periods, filters, inactivity_days=inactivity_days, margin=margin)


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def cached_revenue_split(
    _store: Store, db: str, data_version: int, filters: Filters
) -> pd.DataFrame:
    return revenue_new_vs_returning(_store, filters, "month")


def _value(m: Metric, v: float | None, currency: str | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if m.unit == "count":
        return fmt.count(int(round(v)))
    if m.unit == "money":
        return fmt.money(v, currency)
    if m.unit == "share":
        return fmt.share(v)
    if m.unit == "ratio":
        return f"{v:,.2f}"
    if m.unit == "months":
        return f"{v:,.0f} months" if v != 1 else "1 month"
    return f"{v:,.1f}"


def _delta(m: Metric, now: float, before: float) -> str | None:
    if any(x is None or math.isnan(x) for x in (now, before)):
        return None
    if m.unit == "share":
        change = round((now - before) * 100, 1)
        return f"{change:+.1f} pp" if change else None
    if m.unit == "months":
        change = round(now - before)
        return f"{change:+d} months" if change else None
    if before == 0:
        return None
    change = round((now - before) / abs(before), 3)
    return f"{change:+.1%}" if change else None


def tiles(series: pd.DataFrame, names: list[str], currency: str | None, days: int) -> list[Kpi]:
    """A KPI tile per metric: latest value, change against the period before, trend."""
    out = []
    for name in names:
        m = REGISTRY[name]
        rows = series[series["metric"] == name].sort_values("period_index")
        now = rows["value"].iloc[0] if len(rows) else math.nan
        before = rows["value"].iloc[1] if len(rows) > 1 else math.nan
        trend = tuple(0.0 if math.isnan(v) else float(v) for v in rows["value"].iloc[::-1])
        definition = m.help_text()
        if math.isnan(now) and m.note_when_missing:
            definition += f"\n\n{m.note_when_missing}"
        delta = _delta(m, now, before)
        out.append(
            Kpi(
                label=m.label,
                value=_value(m, now, currency),
                definition=definition,
                delta=delta,
                delta_color="off"
                if m.higher_is_better is None
                else ("normal" if m.higher_is_better else "inverse"),
                delta_description=f"vs previous {days} days" if delta else None,
                trend=trend if len(trend) > 2 and not math.isnan(now) else None,
            )
        )
    return out
