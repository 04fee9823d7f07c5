"""Can I trust this model? Fit on a calibration period, compare with the orders that followed.

The checks are those of Fader, Hardie & Lee (2005), §5 and Figures 2–4:

1. **Conditional expectations**: customers grouped by their repeat purchases x in the
   calibration period (0, 1, …, 6, 7+); for each group the mean of the predicted holdout
   purchases E[Y(t*) | x, t_x, T] (t* = holdout length) against the mean actual.
2. **Tracking**: cumulative repeat purchases of the calibration customers over time, actual
   against Σ_b n_b · E[X(t − b)] — the unconditional expectation for the n_b customers whose
   first purchase was on day b (FHL 2005 eq. 9), summed over first-purchase days.
3. **Aggregate error**: predicted against actual total holdout purchases and revenue
   (purchases × Gamma-Gamma expected spend per customer), in %.

Purchases are purchase days (orders of a customer on one day are one purchase), as in the fit.
Only customers whose first purchase is on or before the calibration end are compared; those who
arrived later are not in the model's population.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from retention.models.bgnbd import (
    BgNbdFit,
    expected_purchases,
    expected_purchases_unconditional,
    fit_bgnbd,
)
from retention.models.gamma_gamma import (
    GammaGammaFit,
    expected_spend,
    fit_gamma_gamma,
    fittable_spend,
)
from retention.models.rfm_sql import Queryable, rfm_summary, transactions_after
from retention.models.rfm_summary import UNITS

__all__ = [
    "FREQUENCY_BUCKETS",
    "HoldoutCheck",
    "check_holdout",
    "default_calibration_end",
    "holdout_verdict",
    "refunded_sentence",
]

FREQUENCY_BUCKETS = 7
"""Calibration repeat purchases are grouped 0, 1, …, 6 and 7+ (FHL 2005, Figure 3)."""

MIN_CUSTOMERS = 500
MIN_REPEAT_CUSTOMERS = 100
MIN_CALIBRATION_DAYS = 180
MIN_HOLDOUT_DAYS = 56
MIN_GROUP_CUSTOMERS = 30
"""Frequency groups smaller than this are too noisy to name in the verdict."""


@dataclass(frozen=True)
class HoldoutCheck:
    """The comparison of a calibration fit with its holdout period."""

    calibration_end: date
    holdout_end: date
    unit: Literal["week", "day"]
    bgnbd: BgNbdFit
    gamma_gamma: GammaGammaFit | None
    customers: int
    by_frequency: pd.DataFrame
    """bucket (0..7, 7 = "7+"), label, customers, predicted (mean), actual (mean)."""
    tracking: pd.DataFrame
    """date, actual and predicted cumulative repeat purchases, period (calibration|holdout)."""
    totals: dict[str, float]
    """predicted/actual holdout purchases and revenue, and their errors in %."""
    warnings: list[str] = field(default_factory=list)
    """Reasons to doubt the check (too few data, no convergence)."""
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that do not undermine it (customers left out of a fit)."""


def default_calibration_end(first_day: date, last_day: date) -> date:
    """Three quarters of the way through the history (the issue's default)."""
    return first_day + timedelta(days=int((last_day - first_day).days * 0.75))


def _frequency_table(x: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> pd.DataFrame:
    bucket = np.minimum(x, FREQUENCY_BUCKETS).astype("int64")
    frame = pd.DataFrame({"bucket": bucket, "predicted": predicted, "actual": actual})
    table = (
        frame.groupby("bucket")
        .agg(
            customers=("predicted", "size"),
            predicted=("predicted", "mean"),
            actual=("actual", "mean"),
        )
        .reset_index()
    )
    table["label"] = [f"{b}+" if b == FREQUENCY_BUCKETS else str(b) for b in table["bucket"]]
    return table[["bucket", "label", "customers", "predicted", "actual"]]


TRACKING_SQL = """
WITH daily AS (
    SELECT customer_id, order_date AS day
    FROM order_facts
    WHERE customer_id IS NOT NULL AND order_date <= $holdout_end
    GROUP BY customer_id, order_date
),
ranked AS (
    SELECT customer_id, day, min(day) OVER (PARTITION BY customer_id) AS first_day
    FROM daily
)
SELECT day, count(*) AS repeats
FROM ranked
WHERE first_day <= $calibration_end AND day > first_day
GROUP BY day
ORDER BY day
"""

BIRTHS_SQL = """
SELECT first_day, count(*) AS customers
FROM (
    SELECT customer_id, min(order_date) AS first_day
    FROM order_facts
    WHERE customer_id IS NOT NULL
    GROUP BY customer_id
)
WHERE first_day <= $calibration_end
GROUP BY first_day
ORDER BY first_day
"""


def _tracking(
    db: Queryable, fit: BgNbdFit, calibration_end: date, holdout_end: date, unit: str
) -> pd.DataFrame:
    """Cumulative repeat purchases per week, actual and expected (FHL 2005, Figure 2)."""
    params = {"calibration_end": calibration_end, "holdout_end": holdout_end}
    repeats = db.query(TRACKING_SQL, params)
    births = db.query(BIRTHS_SQL, {"calibration_end": calibration_end})
    first = pd.Timestamp(births["first_day"].min())
    grid = pd.date_range(first + pd.Timedelta(days=7), pd.Timestamp(holdout_end), freq="7D")
    if len(grid) == 0 or grid[-1] != pd.Timestamp(holdout_end):
        grid = grid.append(pd.DatetimeIndex([pd.Timestamp(holdout_end)]))
    birth_days = pd.to_datetime(births["first_day"]).to_numpy()
    n_b = births["customers"].to_numpy(dtype="float64")
    per_unit = np.timedelta64(1, "D") * UNITS[unit]
    expected = np.empty(len(grid))
    for i, moment in enumerate(grid):
        # E[X(t)] counts purchases in (0, t]; by the end of day `moment` a customer born on
        # day b has had (moment − b) days, and purchases on day b itself are not repeats.
        age = np.maximum((moment.to_datetime64() - birth_days) / per_unit, 0.0)
        expected[i] = float(n_b @ expected_purchases_unconditional(fit.params, age))
    days = pd.to_datetime(repeats["day"])
    counts = repeats["repeats"].to_numpy(dtype="float64")
    actual = np.array([counts[days <= moment].sum() for moment in grid])
    return pd.DataFrame(
        {
            "date": grid.date,
            "actual": actual,
            "predicted": expected,
            "period": np.where(grid <= pd.Timestamp(calibration_end), "calibration", "holdout"),
        }
    )


def _pct(predicted: float, actual: float) -> float:
    return float("nan") if actual == 0 else 100.0 * (predicted - actual) / actual


def check_holdout(
    db: Queryable,
    calibration_end: date,
    holdout_end: date,
    *,
    unit: Literal["week", "day"] = "week",
) -> HoldoutCheck:
    """Fit BG/NBD and Gamma-Gamma on orders up to ``calibration_end`` (inclusive) and compare
    their predictions for (calibration_end, holdout_end] with what happened."""
    if holdout_end <= calibration_end:
        raise ValueError(
            f"The holdout must end after the calibration end ({calibration_end}); "
            f"got {holdout_end}. Choose an earlier calibration end."
        )
    summary = rfm_summary(db, calibration_end, unit=unit)
    if summary.empty:
        raise ValueError(
            f"No customer ordered on or before {calibration_end}; choose a later calibration end."
        )
    warnings: list[str] = []
    x = summary["frequency"].to_numpy()
    fit = fit_bgnbd(x, summary["recency"], summary["T"])
    if not fit.converged:
        warnings.append(f"The purchase model did not converge ({fit.message}).")
    elif not np.isfinite(fit.covariance).all():
        warnings.append(
            "The data do not pin down the purchase model's parameters (its likelihood is flat "
            "in some direction), so its predictions cannot be trusted; more customers and a "
            "longer history fix this."
        )
    gg: GammaGammaFit | None = None
    notes: list[str] = []
    x_fit, spend, left_out = fittable_spend(x, summary["monetary_value"])
    if left_out:
        notes.append(refunded_sentence(left_out))
    if (x_fit > 0).sum() >= 2:
        gg = fit_gamma_gamma(x_fit, spend)
        if not gg.converged:
            warnings.append(f"The spend model did not converge ({gg.message}).")
        if gg.params.q <= 1:
            warnings.append("The spend model has q ≤ 1, so its mean spend is undefined.")
            gg = None

    horizon = (holdout_end - calibration_end).days / UNITS[unit]
    predicted = expected_purchases(fit.params, horizon, x, summary["recency"], summary["T"])
    later = transactions_after(db, calibration_end, holdout_end).set_index("customer_id")
    ids = summary["customer_id"]
    actual = later["transactions"].reindex(ids, fill_value=0).to_numpy(dtype="float64")
    actual_revenue = later["revenue"].reindex(ids, fill_value=0.0).to_numpy(dtype="float64")

    totals: dict[str, float] = {
        "predicted_purchases": float(predicted.sum()),
        "actual_purchases": float(actual.sum()),
        "actual_revenue": float(actual_revenue.sum()),
        "holdout_days": float((holdout_end - calibration_end).days),
    }
    totals["purchases_error_pct"] = _pct(totals["predicted_purchases"], totals["actual_purchases"])
    if gg is not None:
        per_order = expected_spend(gg.params, x, spend)
        totals["predicted_revenue"] = float(predicted @ per_order)
        totals["revenue_error_pct"] = _pct(totals["predicted_revenue"], totals["actual_revenue"])

    n = len(summary)
    repeaters = int((x > 0).sum())
    first_day = pd.Timestamp(
        db.query("SELECT min(order_date) AS d FROM order_facts WHERE customer_id IS NOT NULL")[
            "d"
        ].iloc[0]
    ).date()
    calibration_days = (calibration_end - first_day).days + 1
    if n < MIN_CUSTOMERS:
        warnings.append(
            f"Only {n:,} customers ordered before the calibration end; with fewer than "
            f"{MIN_CUSTOMERS:,} the parameters are uncertain and the check says little."
        )
    if repeaters < MIN_REPEAT_CUSTOMERS:
        warnings.append(
            f"Only {repeaters:,} customers bought again within the calibration period; the "
            f"model learns repeat behaviour from them, so with under {MIN_REPEAT_CUSTOMERS} "
            "its predictions are rough."
        )
    if calibration_days < MIN_CALIBRATION_DAYS:
        warnings.append(
            f"The calibration period is {calibration_days} days; under {MIN_CALIBRATION_DAYS} "
            "days the model sees too few repeat purchases to learn from."
        )
    if (holdout_end - calibration_end).days < MIN_HOLDOUT_DAYS:
        warnings.append(
            f"The holdout is {(holdout_end - calibration_end).days} days; under "
            f"{MIN_HOLDOUT_DAYS} days too few orders fall in it to judge the model."
        )
    return HoldoutCheck(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit=unit,
        bgnbd=fit,
        gamma_gamma=gg,
        customers=n,
        by_frequency=_frequency_table(x, predicted, actual),
        tracking=_tracking(db, fit, calibration_end, holdout_end, unit),
        totals=totals,
        warnings=warnings,
        notes=notes,
    )


def refunded_sentence(left_out: int) -> str:
    """The warning for repeat buyers whose repeat orders were all refunded."""
    return (
        f"{left_out:,} customers whose repeat orders were all refunded were left out of the "
        "spend model's fit (it needs spend above 0); their expected value per order is pulled "
        "towards 0."
    )


def _direction(pct: float) -> str:
    return "overestimated" if pct > 0 else "underestimated"


def holdout_verdict(check: HoldoutCheck) -> list[str]:
    """Plain-words sentences: the total error, then the frequency group most off."""
    t = check.totals
    days = int(t["holdout_days"])
    sentences = []
    err = t["purchases_error_pct"]
    if np.isnan(err):
        sentences.append(
            f"No customer known at {check.calibration_end:%d %b %Y} bought again in the "
            f"{days} days after it, so there is nothing to compare with."
        )
        return sentences
    sentences.append(
        f"For the {days} days after {check.calibration_end:%d %b %Y}, the model predicted "
        f"{t['predicted_purchases']:,.0f} purchases by the {check.customers:,} customers it "
        f"knew; they made {t['actual_purchases']:,.0f}, so the total was "
        f"{_direction(err)} by {abs(err):.0f}%."
        if abs(err) >= 0.5
        else f"For the {days} days after {check.calibration_end:%d %b %Y}, the model predicted "
        f"{t['predicted_purchases']:,.0f} purchases and customers made "
        f"{t['actual_purchases']:,.0f}: within 1% in total."
    )
    if "revenue_error_pct" in t and not np.isnan(t["revenue_error_pct"]):
        rev = t["revenue_error_pct"]
        sentences.append(
            f"Predicted revenue from these customers was {abs(rev):.0f}% "
            f"{'above' if rev > 0 else 'below'} the actual."
        )
    table = check.by_frequency
    big = table[table["customers"] >= MIN_GROUP_CUSTOMERS].copy()
    big["error"] = np.where(
        big["actual"] > 0, 100 * (big["predicted"] - big["actual"]) / big["actual"], np.nan
    )
    big = big.dropna(subset=["error"])
    one_order = big[big["bucket"] == 0]
    if not one_order.empty:
        row = one_order.iloc[0]
        sentences.append(
            f"Customers with one order in the calibration period are "
            f"{_direction(row['error'])} by {abs(row['error']):.0f}% "
            f"({row['predicted']:.2f} predicted vs {row['actual']:.2f} actual purchases each, "
            f"{int(row['customers']):,} customers)."
        )
    repeaters = big[big["bucket"] > 0]
    if not repeaters.empty:
        worst = repeaters.loc[repeaters["error"].abs().idxmax()]
        bucket = int(worst["bucket"])
        orders = f"{bucket + 1}+" if bucket == FREQUENCY_BUCKETS else str(bucket + 1)
        sentences.append(
            f"Among repeat customers the group furthest off is those with {orders} orders: "
            f"{_direction(worst['error'])} by {abs(worst['error']):.0f}% "
            f"({worst['predicted']:.2f} predicted vs {worst['actual']:.2f} actual, "
            f"{int(worst['customers']):,} customers)."
        )
    return sentences
