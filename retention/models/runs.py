"""Fit the models on the file's orders and store the results: ``model_runs`` + ``customer_scores``.

Two kinds of run (DESIGN.md: models are fitted once per data version; pages never refit):

- **scores**: BG/NBD + Gamma-Gamma on all orders up to the calibration end (default: the last
  order day), per-customer P(alive), expected orders, expected spend and predicted CLTV with
  intervals (``retention.models.cltv``), and churn risk (``retention.models.churn_risk``).
  Only the newest scores run keeps its ``customer_scores`` rows, so the file does not grow with
  every import; its ``model_runs`` row stays as a record.
- **holdout**: the "can I trust this model?" check (``retention.models.holdout``) at a
  calibration end, with the churn-risk model evaluated at the same date.

Both write in one transaction; a failure leaves the file as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from retention.filters import UNKNOWN
from retention.models.bgnbd import BgNbdFit, fit_bgnbd
from retention.models.churn_risk import ChurnRiskResult, fit_churn_risk
from retention.models.cltv import CltvSettings, GroupPredictions, predict_customers_and_groups
from retention.models.gamma_gamma import GammaGammaFit, fit_gamma_gamma, fittable_spend
from retention.models.holdout import (
    check_holdout,
    default_calibration_end,
    holdout_verdict,
    refunded_sentence,
)
from retention.models.rfm_sql import Queryable, rfm_summary
from retention.models.settings import ModelSettings, load_settings
from retention.segments.saved import refresh_members

__all__ = [
    "CELL_COLUMNS",
    "ModelRun",
    "NoOrdersError",
    "data_range",
    "fit_scores",
    "latest_run",
    "list_runs",
    "run_holdout",
    "scores_are_stale",
]

Progress = Callable[[float, str], None]
Purpose = Literal["scores", "holdout"]


class NoOrdersError(ValueError):
    """The file has no counted orders of known customers, so there is nothing to fit."""


@dataclass(frozen=True)
class ModelRun:
    """One row of ``model_runs``, with the JSON columns parsed."""

    run_id: int
    created_at: datetime
    purpose: Purpose
    last_import_id: int
    calibration_end: date
    holdout_end: date | None
    settings: ModelSettings
    bgnbd: dict[str, Any]
    gamma_gamma: dict[str, Any] | None
    churn_risk: dict[str, Any] | None
    summary: dict[str, Any]
    warnings: list[str]
    seconds: float


# --- reading ------------------------------------------------------------------------------


def _run_from_row(row: pd.Series) -> ModelRun:
    def parsed(name: str) -> Any:
        value = row[name]
        return (
            None
            if value is None or (isinstance(value, float) and np.isnan(value))
            else (json.loads(value))
        )

    holdout_end = row["holdout_end"]
    return ModelRun(
        run_id=int(row["run_id"]),
        created_at=pd.Timestamp(row["created_at"]).to_pydatetime(),
        purpose=row["purpose"],
        last_import_id=int(row["last_import_id"] or 0),
        calibration_end=pd.Timestamp(row["calibration_end"]).date(),
        holdout_end=None if pd.isna(holdout_end) else pd.Timestamp(holdout_end).date(),
        settings=ModelSettings.from_dict(parsed("settings") or {}),
        bgnbd=parsed("bgnbd") or {},
        gamma_gamma=parsed("gamma_gamma"),
        churn_risk=parsed("churn_risk"),
        summary=parsed("summary") or {},
        warnings=parsed("warnings") or [],
        seconds=float(row["seconds"] or 0.0),
    )


def list_runs(db: Queryable, purpose: Purpose) -> list[ModelRun]:
    """Runs of one purpose, newest first."""
    frame = db.query(
        "SELECT * FROM model_runs WHERE purpose = $purpose ORDER BY run_id DESC",
        {"purpose": purpose},
    )
    return [_run_from_row(row) for _, row in frame.iterrows()]


def latest_run(db: Queryable, purpose: Purpose) -> ModelRun | None:
    """The newest run of one purpose, or None."""
    frame = db.query(
        "SELECT * FROM model_runs WHERE purpose = $purpose ORDER BY run_id DESC LIMIT 1",
        {"purpose": purpose},
    )
    return None if frame.empty else _run_from_row(frame.iloc[0])


def _last_import_id(db: Queryable) -> int:
    frame = db.query("SELECT coalesce(max(import_id), 0) AS n FROM imports")
    return int(frame["n"].iloc[0])


def scores_are_stale(db: Queryable, run: ModelRun) -> bool:
    """True when data were imported after the run started."""
    return _last_import_id(db) > run.last_import_id


def data_range(db: Queryable) -> tuple[date, date]:
    """First and last order day of known customers; NoOrdersError when there are none."""
    frame = db.query(
        "SELECT min(order_date) AS first, max(order_date) AS last FROM order_facts "
        "WHERE customer_id IS NOT NULL"
    )
    if frame.empty or pd.isna(frame["first"].iloc[0]):
        raise NoOrdersError(
            "There are no completed orders of known customers to fit the models on; import "
            "orders first (Data page, or `python -m retention import orders FILE`)."
        )
    return pd.Timestamp(frame["first"].iloc[0]).date(), pd.Timestamp(frame["last"].iloc[0]).date()


# --- JSON records of the fits -------------------------------------------------------------


def _finite_or_none(values: np.ndarray) -> list[Any]:
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in values]


def _bgnbd_record(fit: BgNbdFit, unit: str) -> dict[str, Any]:
    p = fit.params
    return {
        "params": {"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b},
        "unit": unit,
        "log_likelihood": fit.log_likelihood,
        "customers": fit.n_customers,
        "unique_rows": fit.n_unique_rows,
        "converged": fit.converged,
        "identified": bool(np.isfinite(fit.covariance).all()),
        "iterations": fit.iterations,
        "message": fit.message,
        "covariance_log_params": _finite_or_none(fit.covariance),
    }


def _gamma_gamma_record(fit: GammaGammaFit) -> dict[str, Any]:
    p = fit.params
    return {
        "params": {"p": p.p, "q": p.q, "gamma": p.gamma},
        "log_likelihood": fit.log_likelihood,
        "customers": fit.n_customers,
        "converged": fit.converged,
        "identified": bool(np.isfinite(fit.covariance).all()),
        "iterations": fit.iterations,
        "message": fit.message,
        "covariance_log_params": _finite_or_none(fit.covariance),
        "mean_spend": p.p * p.gamma / (p.q - 1) if p.q > 1 else None,
    }


def _churn_record(result: ChurnRiskResult) -> dict[str, Any]:
    return json.loads(result.to_json())


# --- writing ------------------------------------------------------------------------------


def _insert_run(tx: Any, values: dict[str, Any]) -> int:
    run_id = int(tx.scalar("SELECT coalesce(max(run_id), 0) + 1 FROM model_runs"))
    values = {"run_id": run_id, **values}
    columns = ", ".join(f'"{k}"' for k in values)
    placeholders = ", ".join(f"${k}" for k in values)
    tx.execute(f"INSERT INTO model_runs ({columns}) VALUES ({placeholders})", values)  # noqa: S608
    return run_id


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, date | datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _clean(value: Any) -> Any:
    """NaN and ±inf become None so the stored JSON is valid everywhere."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return _clean(out.astype(object).where(out.notna(), None).to_dict(orient="records"))


def _note(progress: Progress | None) -> Progress:
    return progress or (lambda _f, _m: None)


# --- scores runs --------------------------------------------------------------------------

ATTRIBUTES_SQL = """
SELECT customer_id, revenue::DOUBLE AS historical_revenue, cohort_month,
       coalesce(first_channel, $unknown) AS first_channel,
       coalesce(country, $unknown) AS country
FROM customer_summary
"""

CELL_COLUMNS = ("cohort_month", "first_channel", "country")


def _cell_codes(
    attributes: pd.DataFrame, summary: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, pd.MultiIndex]:
    """Each customer's (cohort month, channel, country) cell: the attributes in the order of
    ``summary``, the cell code of every customer and the cells by code."""
    joined = summary[["customer_id"]].merge(attributes, on="customer_id", how="left")
    joined["first_channel"] = joined["first_channel"].fillna(UNKNOWN)
    joined["country"] = joined["country"].fillna(UNKNOWN)
    keys = joined[list(CELL_COLUMNS)].astype(str)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    return joined, codes, uniques


def _score_cells(
    joined: pd.DataFrame, codes: np.ndarray, uniques: pd.MultiIndex, groups: GroupPredictions
) -> pd.DataFrame:
    """Per (cohort month, channel, country) cell: customers, historical revenue, and the sums
    of expected orders and predicted CLTV at the estimate and for every parameter draw."""
    table = groups.groups
    cells = pd.DataFrame(list(uniques[table["group_code"].to_numpy()]), columns=list(CELL_COLUMNS))
    cells["cohort_month"] = pd.to_datetime(cells["cohort_month"]).dt.date
    revenue = joined.groupby(codes)["historical_revenue"].sum()
    cells["customers"] = table["customers"].to_numpy()
    cells["historical_revenue"] = revenue.reindex(table["group_code"]).to_numpy()
    cells["expected_orders"] = table["expected_orders"].to_numpy()
    cells["predicted_cltv"] = table["predicted_cltv"].to_numpy()
    cells["expected_orders_draws"] = list(np.asarray(groups.expected_orders_draws))
    cells["predicted_cltv_draws"] = list(np.asarray(groups.predicted_cltv_draws))
    return cells


def _churn_risk(
    store: Any,
    as_of: date,
    settings: ModelSettings,
    warnings: list[str],
    verb: str,
    progress: Progress,
) -> ChurnRiskResult | None:
    """The churn-risk model as of ``as_of``, or None with a warning saying why not."""
    try:
        return fit_churn_risk(
            store,
            as_of=as_of,
            horizon_days=settings.churn_horizon_days,
            seed=settings.seed,
            progress=progress,
        )
    except ValueError as error:
        warnings.append(f"Churn risk was not {verb}: {error}")
        return None


def cltv_settings(settings: ModelSettings) -> CltvSettings:
    """The prediction settings of a run: the same seed and draws give the same parameter
    draws, so predictions from a stored run can be reproduced (segment comparison)."""
    return CltvSettings(
        horizon_days=settings.horizon_days,
        unit=settings.unit,
        margin=settings.margin,
        annual_discount_rate=settings.annual_discount_rate,
        interval=settings.interval,
        draws=settings.draws,
        seed=settings.seed,
    )


def fit_scores(
    store: Any,
    *,
    calibration_end: date | None = None,
    settings: ModelSettings | None = None,
    progress: Progress | None = None,
) -> ModelRun:
    """Fit every model on orders up to ``calibration_end`` (default: the last order day) and
    store a scores run with one ``customer_scores`` row per customer. Returns the stored run."""
    note = _note(progress)
    started = time.perf_counter()
    settings = settings or load_settings(store)
    first_day, last_day = data_range(store)
    end = calibration_end or last_day
    last_import = _last_import_id(store)
    warnings: list[str] = []

    note(0.05, "Summarising each customer's purchases")
    summary = rfm_summary(store, end, unit=settings.unit)
    if summary.empty:
        raise NoOrdersError(f"No customer ordered on or before {end}; choose a later date.")
    x = summary["frequency"].to_numpy()
    if (x > 0).sum() < 2:
        raise NoOrdersError(
            "Fewer than two customers have bought twice, so the models cannot learn repeat "
            "behaviour; import more order history."
        )

    note(0.15, f"Fitting the purchase model (BG/NBD) on {len(summary):,} customers")
    bgnbd = fit_bgnbd(x, summary["recency"], summary["T"])
    note(0.25, "Fitting the spend model (Gamma-Gamma)")
    notes: list[str] = []
    x_fit, spend, left_out = fittable_spend(x, summary["monetary_value"])
    if left_out:
        notes.append(refunded_sentence(left_out))
    gg = fit_gamma_gamma(x_fit, spend)
    summary["monetary_value"] = spend
    for name, fit in (("purchase model (BG/NBD)", bgnbd), ("spend model (Gamma-Gamma)", gg)):
        if not fit.converged:
            warnings.append(f"The {name} did not converge: {fit.message}.")

    note(0.35, "Predicting orders, spend and CLTV with intervals, by cohort, channel, country")
    attributes = store.query(ATTRIBUTES_SQL, {"unknown": UNKNOWN})
    joined, codes, uniques = _cell_codes(attributes, summary)
    predictions, groups = predict_customers_and_groups(
        bgnbd,
        gg,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        cltv_settings(settings),
        groups=codes,
    )
    warnings.extend(predictions.warnings)
    cells = _score_cells(joined, codes, uniques, groups)

    note(0.65, "Training the churn-risk model")
    churn = _churn_risk(
        store, end, settings, warnings, "computed", lambda f, m: note(0.65 + 0.25 * f, m)
    )

    scores = pd.concat([summary, predictions.customers.reset_index(drop=True)], axis=1)
    if churn is not None:
        risk = churn.scores.set_index("customer_id")["churn_risk"]
        scores["churn_risk"] = scores["customer_id"].map(risk).astype("float64")
    else:
        scores["churn_risk"] = np.nan

    totals = dict(predictions.totals)
    totals["customers"] = len(summary)
    totals["historical_revenue"] = float(attributes["historical_revenue"].sum())
    record_summary = {
        "totals": _clean(totals),
        "notes": notes,
        "cells": len(cells),
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
    }

    note(0.92, "Saving the scores")
    columns = [
        "customer_id", "frequency", "recency", "T", "monetary_value",
        "p_alive", "p_alive_low", "p_alive_high",
        "expected_orders", "expected_orders_low", "expected_orders_high",
        "expected_spend", "expected_spend_low", "expected_spend_high",
        "predicted_cltv", "predicted_cltv_low", "predicted_cltv_high", "churn_risk",
    ]  # fmt: skip
    with store.transaction() as tx:
        run_id = _insert_run(
            tx,
            {
                "created_at": datetime.now(UTC).replace(tzinfo=None),
                "purpose": "scores",
                "last_import_id": last_import,
                "calibration_end": end,
                "holdout_end": None,
                "settings": settings.to_json(),
                "bgnbd": _json(_clean(_bgnbd_record(bgnbd, settings.unit))),
                "gamma_gamma": _json(_clean(_gamma_gamma_record(gg))),
                "churn_risk": None if churn is None else _json(_churn_record(churn)),
                "summary": _json(record_summary),
                "warnings": _json(warnings),
                "seconds": time.perf_counter() - started,
            },
        )
        tx.register("new_scores", scores[columns])
        quoted = ", ".join(f'"{c}"' for c in columns)
        tx.execute("DELETE FROM customer_scores")
        tx.execute(
            f"INSERT INTO customer_scores (run_id, {quoted}) "  # noqa: S608 (fixed names)
            f"SELECT $run_id, {quoted} FROM new_scores",
            {"run_id": run_id},
        )
        tx.register("new_cells", cells)
        cell_columns = ", ".join(f'"{c}"' for c in cells.columns)
        tx.execute("DELETE FROM score_cells")
        tx.execute(
            f"INSERT INTO score_cells (run_id, {cell_columns}) "  # noqa: S608 (fixed names)
            f"SELECT $run_id, {cell_columns} FROM new_cells",
            {"run_id": run_id},
        )
        refresh_members(tx)  # rules on predicted CLTV, P(alive) and churn risk
        tx.execute(
            "UPDATE model_runs SET seconds = $seconds WHERE run_id = $run_id",
            {"seconds": time.perf_counter() - started, "run_id": run_id},
        )
    note(1.0, "Done")
    run = latest_run(store, "scores")
    assert run is not None
    return run


# --- holdout runs -------------------------------------------------------------------------


def run_holdout(
    store: Any,
    *,
    calibration_end: date | None = None,
    settings: ModelSettings | None = None,
    progress: Progress | None = None,
) -> ModelRun:
    """Fit on orders up to ``calibration_end`` (default: three quarters of the history), compare
    with the orders after it, evaluate churn risk at the same date, and store a holdout run."""
    note = _note(progress)
    started = time.perf_counter()
    settings = settings or load_settings(store)
    first_day, last_day = data_range(store)
    end = calibration_end or default_calibration_end(first_day, last_day)
    if end >= last_day:
        raise ValueError(
            f"The calibration end must be before the last order day ({last_day}) so that some "
            "orders are left to compare with; choose an earlier date."
        )
    if end < first_day:
        raise ValueError(
            f"The calibration end {end} is before the first order ({first_day}); choose a "
            "later date."
        )
    last_import = _last_import_id(store)
    note(0.1, f"Fitting on orders up to {end} and comparing with the {(last_day - end).days} "
         "days after")  # fmt: skip
    check = check_holdout(store, end, last_day, unit=settings.unit)
    warnings = list(check.warnings)

    churn: ChurnRiskResult | None = None
    as_of = end + timedelta(days=settings.churn_horizon_days)
    if as_of <= last_day:
        note(0.4, "Evaluating the churn-risk model at the same date")
        churn = _churn_risk(
            store, as_of, settings, warnings, "evaluated", lambda f, m: note(0.4 + 0.5 * f, m)
        )
    else:
        warnings.append(
            f"Churn risk was not evaluated: it needs {settings.churn_horizon_days} days of "
            f"orders after the calibration end, and there are {(last_day - end).days}."
        )

    record_summary = {
        "totals": _clean(check.totals),
        "customers": check.customers,
        "by_frequency": _records(check.by_frequency),
        "tracking": _records(check.tracking),
        "verdict": holdout_verdict(check),
        "notes": check.notes,
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
    }
    note(0.95, "Saving the check")
    with store.transaction() as tx:
        _insert_run(
            tx,
            {
                "created_at": datetime.now(UTC).replace(tzinfo=None),
                "purpose": "holdout",
                "last_import_id": last_import,
                "calibration_end": end,
                "holdout_end": last_day,
                "settings": settings.to_json(),
                "bgnbd": _json(_clean(_bgnbd_record(check.bgnbd, settings.unit))),
                "gamma_gamma": None
                if check.gamma_gamma is None
                else _json(_clean(_gamma_gamma_record(check.gamma_gamma))),
                "churn_risk": None if churn is None else _json(_churn_record(churn)),
                "summary": _json(record_summary),
                "warnings": _json(warnings),
                "seconds": time.perf_counter() - started,
            },
        )
    note(1.0, "Done")
    run = latest_run(store, "holdout")
    assert run is not None
    return run


# --- after an import ----------------------------------------------------------------------


def refresh_models(store: Any, *, progress: Progress | None = None) -> list[str]:
    """Refit after an import: a scores run on all orders, then the holdout check at the
    default calibration end. Returns plain sentences on what was done or why not; a failure
    here never undoes the import (the import committed before)."""
    note = _note(progress)
    messages: list[str] = []
    try:
        run = fit_scores(store, progress=lambda f, m: note(0.7 * f, m))
        messages.append(
            f"scores for {run.summary['totals'].get('customers', 0):,} customers stored "
            f"(run {run.run_id}, {run.seconds:.1f} s)"
        )
    except ValueError as error:  # NoOrdersError included
        messages.append(f"the models were not refitted: {error}")
        return messages
    try:
        check = run_holdout(store, progress=lambda f, m: note(0.7 + 0.3 * f, m))
        messages.append(f"holdout check stored (run {check.run_id})")
    except ValueError as error:
        messages.append(f"the holdout check was not run: {error}")
    return messages
