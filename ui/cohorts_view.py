"""Cohorts glue: widget keys, cached reads and the frames the views draw (pages/cohorts.py)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from retention.filters import Filters
from retention.metrics import REGISTRY
from retention.metrics import cohorts as coh
from retention.metrics.periods import Grain, Period, truncate
from retention.metrics.registry import compute
from retention.store import Store
from ui import format as fmt
from ui.components import Kpi

__all__ = [
    "PERIOD_KEY",
    "VALUE_KEY",
    "VIEW_KEY",
    "SPLIT_KEY",
    "FILTER_BY_KEY",
    "MIN_SIZE_KEY",
    "EXCLUDE_SMALL_KEY",
    "SQL_METRIC_KEY",
    "filter_values_key",
    "VIEWS",
    "PERIODS",
    "PERIOD_WORDS",
    "cached_cells",
    "cached_dimension_values",
    "cached_kpis",
    "cohort_label",
    "heatmap_frame",
    "curves_frames",
    "wide_table",
    "kpi_tiles",
]

PERIOD_KEY = "cohorts.period"
VALUE_KEY = "cohorts.value"
VIEW_KEY = "cohorts.view"
SPLIT_KEY = "cohorts.split_by"
FILTER_BY_KEY = "cohorts.filter_by"
MIN_SIZE_KEY = "cohorts.min_size"
EXCLUDE_SMALL_KEY = "cohorts.exclude_small"
SQL_METRIC_KEY = "cohorts.sql_metric"
_FILTER_VALUES_PREFIX = "cohorts.filter_values."


def filter_values_key(dimension: str) -> str:
    """One multiselect per dimension, so a stale choice never meets another's options."""
    return _FILTER_VALUES_PREFIX + dimension


VIEWS: tuple[str, ...] = ("Heatmap", "Curves", "Table")
PERIODS: dict[str, str] = {"week": "Week", "month": "Month", "quarter": "Quarter"}
PERIOD_WORDS: dict[str, str] = {"week": "Week", "month": "Month", "quarter": "Quarter"}
_PREFIX = {"week": "W", "month": "M", "quarter": "Q"}

_TTL, _MAX = 3600, 64


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_cells(_store: Store, db: str, data_version: int, query: coh.CohortQuery) -> pd.DataFrame:
    return coh.cohort_cells(_store, query)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_dimension_values(
    _store: Store, db: str, data_version: int, filters: Filters, dimension: str
) -> list[str]:
    return coh.dimension_values(_store, dimension, filters)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_kpis(
    _store: Store,
    db: str,
    data_version: int,
    filters: Filters,
    filter_by: str,
    filter_values: tuple[str, ...],
    min_cohort_size: int,
    first_day: date,
    last_day: date,
) -> dict[str, float]:
    """The headline cohort metrics over the monthly cohorts the date filter selects
    (cohort month start within [start, end])."""
    start = filters.start or truncate(first_day, "month")
    end = (filters.end or last_day) + timedelta(days=1)
    period = Period(0, _midnight(start), _midnight(end))
    out: dict[str, float] = {}
    for name in coh.COHORT_KPIS:
        values = compute(
            _store,
            REGISTRY[name],
            [period],
            filters,
            filter_by=filter_by,
            filter_values=list(filter_values),
            min_cohort_size=min_cohort_size,
        )
        out[name] = float(values["value"].iloc[0]) if len(values) else math.nan
    return out


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def kpi_tiles(values: dict[str, float], currency: str | None) -> list[Kpi]:
    tiles = []
    for name in coh.COHORT_KPIS:
        m = REGISTRY[name]
        v = values.get(name, math.nan)
        if math.isnan(v):
            shown = "–"
        elif m.unit == "share":
            shown = fmt.share(v)
        else:
            shown = fmt.money(v, currency)
        tiles.append(Kpi(m.label, shown, m.help_text()))
    return tiles


def cohort_label(d: date, grain: Grain) -> str:
    """2024-03-04 (week of), 2024-03 (month) or 2024 Q1 (quarter)."""
    if grain == "month":
        return f"{d.year}-{d.month:02d}"
    if grain == "quarter":
        return f"{d.year} Q{(d.month - 1) // 3 + 1}"
    return d.isoformat()


def _cohort_rows(cells: pd.DataFrame, grain: Grain, min_size: int) -> pd.DataFrame:
    out = cells.assign(
        small=coh.flag_small(cells, min_size),
        row_label=[
            f"{cohort_label(c, grain)} (n={n:,})"
            for c, n in zip(cells["cohort"], cells["cohort_size"], strict=True)
        ],
    )
    if (out["segment"] != coh.ALL_CUSTOMERS).any():
        out["row_label"] = out["segment"] + " · " + out["row_label"]
    return out


def _group_rows(averages: pd.DataFrame) -> pd.DataFrame:
    size0 = averages[averages["period_index"] == 0].set_index("segment")["customers"]
    n = averages["segment"].map(size0).fillna(0).astype("int64")
    return averages.assign(
        small=False,
        complete=True,
        row_label=[f"{s} (n={k:,})" for s, k in zip(averages["segment"], n, strict=True)],
    )


def heatmap_frame(
    cells: pd.DataFrame,
    averages: pd.DataFrame,
    *,
    grain: Grain,
    split: bool,
    min_size: int,
) -> pd.DataFrame:
    """Rows for :func:`retention.charts.cohorts.heatmap_figure`: one per cohort (no split),
    or one per group's weighted average (split)."""
    if split:
        return _group_rows(averages)
    return _cohort_rows(cells, grain, min_size)


def curves_frames(
    cells: pd.DataFrame,
    averages: pd.DataFrame,
    *,
    grain: Grain,
    split: bool,
    min_size: int,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Lines for :func:`retention.charts.cohorts.curves_figure` and the bold average.

    Without a split: one line per cohort (complete cells only) and the overall weighted
    average. With a split: one line per group's weighted average, no extra line.
    """
    if split:
        rows = _group_rows(averages)
        return rows.assign(line=rows["row_label"]), None
    rows = _cohort_rows(cells[cells["complete"]], grain, min_size)
    return rows.assign(line=rows["row_label"]), averages


def wide_table(
    rows: pd.DataFrame, value: str, grain: Grain, unit: str, *, row_title: str = "Cohort"
) -> tuple[pd.DataFrame, dict[str, object]]:
    """The heatmap as a table: a row label, its size, the small flag, then one column per
    period index (M0, M1 ...), plus the column config that formats them."""
    prefix = _PREFIX[grain]
    size_col = "customers" if "customers" in rows.columns else "cohort_size"
    wide = rows.pivot_table(
        index="row_label", columns="period_index", values=value, aggfunc="first", dropna=False
    )
    order = list(dict.fromkeys(rows["row_label"]))
    wide = wide.reindex(order)
    wide.columns = [f"{prefix}{k}" for k in wide.columns]
    first = rows[rows["period_index"] == 0].drop_duplicates("row_label").set_index("row_label")
    head = pd.DataFrame(
        {
            "size": first[size_col].reindex(order).astype("int64"),
            "small": first["small"].reindex(order).astype(bool),
        }
    )
    table = pd.concat([head, wide], axis=1).rename_axis("row").reset_index()
    table["row"] = table["row"].str.replace(r" \(n=[\d,]+\)$", "", regex=True)
    number = {"share": "percent", "money": "%.2f", "ratio": "%.3f"}.get(unit, "%.2f")
    word = PERIOD_WORDS[grain].lower()
    config: dict[str, object] = {
        "row": st.column_config.TextColumn(row_title, pinned=True),
        "size": st.column_config.NumberColumn(
            "Customers", format="%d", help="Cohort size: customers whose first order fell in it."
        ),
        "small": st.column_config.CheckboxColumn(
            "Small", help="Fewer customers than the small-cohort threshold."
        ),
    }
    for column in wide.columns:
        k = column[len(prefix) :]
        config[column] = st.column_config.NumberColumn(
            column,
            format=number,
            step=0.001 if unit == "share" else None,  # percent with one decimal: 20.2%
            help=f"{word} {k} after the first order's {word}",
        )
    return table, config
