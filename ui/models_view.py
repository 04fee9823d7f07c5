"""Glue shared by the model pages: cached reads of stored runs, refits with progress.

Pages read stored runs only (DESIGN.md: pages never refit); a refit happens after an import and
when a user asks for it here, with a progress bar, through the store's one writer path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import streamlit as st

from retention.models.runs import (
    ModelRun,
    fit_scores,
    latest_run,
    list_runs,
    refresh_models,
    run_holdout,
)
from retention.models.settings import ModelSettings
from retention.store import Store

__all__ = [
    "cached_latest_run",
    "cached_runs",
    "progress_bar",
    "refit_scores_with_progress",
    "refresh_after_import",
    "run_check_with_progress",
    "settings_sentence",
]

_TTL, _MAX = 3600, 32


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_latest_run(_store: Store, db: str, data_version: int, purpose: str) -> ModelRun | None:
    return latest_run(_store, purpose)  # type: ignore[arg-type]


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_runs(_store: Store, db: str, data_version: int, purpose: str) -> list[ModelRun]:
    return list_runs(_store, purpose)  # type: ignore[arg-type]


def progress_bar(text: str) -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """A progress bar and its update and clear functions."""
    bar = st.progress(0.0, text=text)

    def update(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    return update, bar.empty


def refit_scores_with_progress(store: Store, settings: ModelSettings) -> ModelRun | None:
    """Refit the scores with a progress bar; shows the error and returns None on failure."""
    update, clear = progress_bar("Refitting the models…")
    try:
        return fit_scores(store, settings=settings, progress=update)
    except ValueError as error:
        st.error(f"The models were not refitted: {error}", icon=":material/error:")
        return None
    finally:
        clear()


def run_check_with_progress(
    store: Store, calibration_end: date, settings: ModelSettings
) -> ModelRun | None:
    update, clear = progress_bar("Running the holdout check…")
    try:
        return run_holdout(store, calibration_end=calibration_end, settings=settings,
                           progress=update)  # fmt: skip
    except ValueError as error:
        st.error(f"The check did not run: {error}", icon=":material/error:")
        return None
    finally:
        clear()


def refresh_after_import(store: Store) -> list[str]:
    """After an import: refit scores and the default holdout check, with a progress bar."""
    update, clear = progress_bar("Refitting the models on the new data…")
    try:
        return refresh_models(store, progress=update)
    finally:
        clear()


def settings_sentence(settings: ModelSettings) -> str:
    """The settings behind the numbers, in one line."""
    margin = "revenue (margin 100%)" if settings.margin >= 1 else f"margin {settings.margin:.0%}"
    return (
        f"Horizon {settings.horizon_days} days · {margin} · discounted at "
        f"{settings.annual_discount_rate:.0%} a year · {settings.interval:.0%} intervals from "
        f"{settings.draws} parameter draws · model time unit: {settings.unit}"
    )
