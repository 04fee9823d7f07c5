"""Periods: half-open time windows [start, end) that metrics are computed over.

Calendar grains (week, month, quarter) follow DuckDB's ``date_trunc``: weeks start on Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import pandas as pd

__all__ = ["Period", "Grain", "GRAINS", "trailing_periods", "calendar_periods", "truncate"]

Grain = Literal["week", "month", "quarter"]
GRAINS: tuple[Grain, ...] = ("week", "month", "quarter")


@dataclass(frozen=True)
class Period:
    """Index 0 is the latest period; 1 the one before, and so on."""

    index: int
    start: datetime
    end: datetime  # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def label(self) -> str:
        last = (self.end - timedelta(days=1)).date()
        return f"{self.start.date().isoformat()} – {last.isoformat()}"


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def trailing_periods(
    last_day: date, days: int, count: int, first_day: date | None = None
) -> list[Period]:
    """``count`` back-to-back windows of ``days`` days, the latest ending with ``last_day``
    (inclusive). Windows starting before ``first_day`` are dropped, except the latest two, which
    are always kept so a comparison can say "no data before"."""
    if days < 1 or count < 1:
        raise ValueError("days and count must be at least 1")
    end = _midnight(last_day) + timedelta(days=1)
    out = []
    for i in range(count):
        start = end - timedelta(days=days)
        if first_day is not None and i >= 2 and start < _midnight(first_day):
            break
        out.append(Period(i, start, end))
        end = start
    return out


def truncate(d: date | datetime, grain: Grain) -> date:
    """First day of the week (Monday), month or quarter containing ``d``."""
    ts = pd.Timestamp(d)
    if grain == "week":
        return (ts - pd.Timedelta(days=ts.weekday())).date()
    if grain == "month":
        return date(ts.year, ts.month, 1)
    if grain == "quarter":
        return date(ts.year, 3 * ((ts.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")


def _next(d: date, grain: Grain) -> date:
    if grain == "week":
        return d + timedelta(days=7)
    months = 1 if grain == "month" else 3
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def calendar_periods(first_day: date, last_day: date, grain: Grain) -> list[Period]:
    """Whole calendar periods covering [first_day, last_day], latest first (index 0)."""
    if last_day < first_day:
        return []
    starts = []
    d = truncate(first_day, grain)
    while d <= last_day:
        starts.append(d)
        d = _next(d, grain)
    periods = [Period(0, _midnight(s), _midnight(_next(s, grain))) for s in reversed(starts)]
    return [Period(i, p.start, p.end) for i, p in enumerate(periods)]
