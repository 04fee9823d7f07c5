"""Customer value page glue: cached reads of the stored scores and the settings form."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from retention.filters import Filters
from retention.metrics import value
from retention.models.settings import ModelSettings
from retention.store import Store

__all__ = [
    "DIMENSION_KEY",
    "PER_CUSTOMER_KEY",
    "cached_cac",
    "cached_distribution",
    "cached_segment_interval",
    "cached_top",
    "cached_totals",
    "cached_value_by",
    "settings_form",
]

DIMENSION_KEY = "value.dimension"
PER_CUSTOMER_KEY = "value.per_customer"
_TTL, _MAX = 3600, 64


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_totals(
    _store: Store, db: str, data_version: int, run_id: int, filters: Filters, interval: float
) -> dict[str, float]:
    return value.value_totals(_store, run_id, filters, interval)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_value_by(
    _store: Store,
    db: str,
    data_version: int,
    run_id: int,
    dimension: value.Dimension,
    filters: Filters,
    interval: float,
) -> pd.DataFrame:
    return value.value_by(_store, run_id, dimension, filters, interval)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_distribution(
    _store: Store, db: str, data_version: int, run_id: int, filters: Filters
) -> pd.DataFrame:
    return value.cltv_distribution(_store, run_id, filters)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_top(
    _store: Store, db: str, data_version: int, run_id: int, filters: Filters
) -> pd.DataFrame:
    return value.top_customers(_store, run_id, filters)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_cac(
    _store: Store, db: str, data_version: int, run_id: int, filters: Filters, interval: float
) -> pd.DataFrame:
    return value.cac_by_channel(_store, run_id, filters, interval)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_segment_interval(
    _store: Store, db: str, data_version: int, segment: str, interval: float
) -> dict[str, float]:
    """The segment's predicted CLTV and expected orders with intervals, from the stored
    parameters (all members; exact when no other filter narrows them)."""
    from retention.segments.compare import predicted_cltv_by_segment
    from retention.segments.saved import get_segment

    frame = predicted_cltv_by_segment(
        _store, [get_segment(_store, segment).segment_id], interval=interval
    )
    return {k: float(v) for k, v in frame.iloc[0].items() if k not in ("segment_id", "name")}


def settings_form(current: ModelSettings) -> ModelSettings | None:
    """The model settings as a form; returns the new settings when submitted and valid."""
    with st.form("value.settings"):
        a, b, c = st.columns(3)
        margin = a.number_input(
            "Gross margin, % of revenue",
            min_value=1.0,
            max_value=100.0,
            value=current.margin * 100,
            step=1.0,
            format="%.1f",
            help="Predicted CLTV is expected revenue × margin. 100% shows revenue; set your "
            "gross margin to see profit.",
        )
        rate = b.number_input(
            "Discount rate, % a year",
            min_value=0.0,
            max_value=99.0,
            value=current.annual_discount_rate * 100,
            step=1.0,
            format="%.1f",
            help="Money expected later is worth less today: each month's value is divided by "
            "(1 + rate)^(month / 12).",
        )
        horizon = c.number_input(
            "Horizon, days",
            min_value=30,
            max_value=3650,
            value=current.horizon_days,
            step=30,
            help="How far ahead expected orders and predicted CLTV reach.",
        )
        d, e, f = st.columns(3)
        interval = d.select_slider(
            "Interval",
            options=[0.5, 0.8, 0.9, 0.95],
            value=current.interval if current.interval in (0.5, 0.8, 0.9, 0.95) else 0.8,
            format_func=lambda v: f"{v:.0%}",
            help="Coverage of every interval on this page.",
        )
        churn_days = e.number_input(
            "Churn-risk horizon, days",
            min_value=7,
            max_value=730,
            value=current.churn_horizon_days,
            step=1,
            help="Churn risk is the chance of no order within this many days.",
        )
        unit = f.selectbox(
            "Model time unit",
            ["week", "day"],
            index=["week", "day"].index(current.unit),
            help="Weeks or days give the same predictions; weeks follow the published "
            "BG/NBD examples.",
        )
        submitted = st.form_submit_button("Save and refit", type="primary")
    if not submitted:
        return None
    try:
        return ModelSettings(
            unit=unit,
            horizon_days=int(horizon),
            margin=float(margin) / 100,
            annual_discount_rate=float(rate) / 100,
            interval=float(interval),
            draws=current.draws,
            churn_horizon_days=int(churn_days),
            seed=current.seed,
        )
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        return None
