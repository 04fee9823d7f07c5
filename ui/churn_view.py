"""Churn page glue: widget keys, cached reads and KPI tiles for pages/churn.py."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from retention.filters import Filters
from retention.metrics import REGISTRY, churn
from retention.metrics.kpis import DEFAULT_INACTIVITY_DAYS
from retention.models.survival import LogRank, kaplan_meier_by_group, logrank, p_value_text
from retention.store import Store
from ui import format as fmt
from ui.components import Kpi

__all__ = [
    "INACTIVITY_KEY",
    "SPLIT_KEY",
    "SQL_METRIC_KEY",
    "SPLITS",
    "KPI_NAMES",
    "cached_default_threshold",
    "cached_status",
    "cached_churn_table",
    "cached_survival",
    "cached_gap_histogram",
    "kpi_tiles",
    "threshold_sentence",
    "logrank_sentence",
]

INACTIVITY_KEY = "churn.inactivity_days"
SPLIT_KEY = "churn.split"
SQL_METRIC_KEY = "churn.sql_metric"
SPLITS: dict[str, str] = {"none": "All customers", "channel": "Channel", "cohort": "Cohort quarter"}
KPI_NAMES: tuple[str, ...] = (
    "churned_customers",
    "customers_at_risk",
    "churn_rate",
    "median_days_between_orders",
)

_TTL, _MAX = 3600, 64


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_default_threshold(
    _store: Store, db: str, data_version: int, filters: Filters
) -> int | None:
    return churn.default_inactivity_days(_store, filters)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_status(
    _store: Store, db: str, data_version: int, filters: Filters, inactivity_days: int
) -> dict[str, float] | None:
    return churn.status_counts(_store, inactivity_days, filters)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_churn_table(
    _store: Store, db: str, data_version: int, filters: Filters, inactivity_days: int
) -> pd.DataFrame:
    return churn.churn_table(_store, inactivity_days, filters, "month")


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_survival(
    _store: Store, db: str, data_version: int, filters: Filters, split: churn.Split
) -> tuple[pd.DataFrame, LogRank | None, int]:
    """KM curves, the log-rank test across groups and the number of customers followed."""
    counts = churn.survival_counts(_store, filters, split)
    customers = int(counts["events"].sum() + counts["censored"].sum())
    return kaplan_meier_by_group(counts), logrank(counts), customers


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_gap_histogram(
    _store: Store, db: str, data_version: int, filters: Filters
) -> churn.GapHistogram:
    return churn.gap_histogram(_store, filters)


def threshold_sentence(
    default_days: int | None,
    current_days: int,
    percentile: float = churn.DEFAULT_PERCENTILE,
) -> str:
    """'90% of repeat orders come within 106 days ...' (or why there is no default)."""
    if default_days is None:
        text = (
            "No customer has a second order yet, so the data cannot suggest a threshold; "
            f"the default is a common {DEFAULT_INACTIVITY_DAYS} days."
        )
    else:
        text = (
            f"{percentile:.0%} of repeat orders come within {default_days} days of the "
            f"customer's previous order, so by default a customer with no order for "
            f"{default_days} days is counted as churned."
        )
    if current_days != (default_days or DEFAULT_INACTIVITY_DAYS):
        text += f" You set {current_days} days; every number below uses it."
    return text


def logrank_sentence(result: LogRank | None, split_label: str) -> str:
    """The test's result and what it means, in words."""
    if result is None:
        return f"Only one {split_label.lower()} group has data, so there is nothing to compare."
    p = p_value_text(result.p_value)
    head = (
        f"Log-rank test across {len(result.groups)} groups: χ² = {result.chisq:,.1f} with "
        f"{result.df} degree{'s' if result.df != 1 else ''} of freedom, {p}. "
    )
    if result.p_value < 0.05:
        return head + (
            "The groups' times to a second order differ by more than chance would explain "
            "(at the 5% level)."
        )
    return head + (
        "Differences this large could well be chance: no evidence that the groups reorder "
        "at different speeds."
    )


def _value(name: str, v: float) -> str:
    if v is None or math.isnan(v):
        return "–"
    unit = REGISTRY[name].unit
    if unit == "share":
        return fmt.share(v)
    if unit == "days":
        return f"{v:,.0f} days"
    return fmt.count(int(round(v)))


def kpi_tiles(
    status: dict[str, float], last_rate: float, last_period: str, inactivity_days: int
) -> list[Kpi]:
    """A tile per KPI with its registry definition (and formula) as hover help."""
    values = {**status, "churn_rate": last_rate}
    notes = {
        "churned_customers": f"N = {inactivity_days} days, as of the last day.",
        "customers_at_risk": f"No order for {inactivity_days // 2} to {inactivity_days} days.",
        "churn_rate": f"Last whole month: {last_period}.",
        "median_days_between_orders": "Over repeat orders in the date range.",
    }
    labels = {"churn_rate": "Churn rate, last month"}
    return [
        Kpi(
            label=labels.get(name, REGISTRY[name].label),
            value=_value(name, values[name]),
            definition=f"{REGISTRY[name].help_text()}\n\n{notes[name]}",
        )
        for name in KPI_NAMES
    ]
