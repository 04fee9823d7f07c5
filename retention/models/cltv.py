"""Customer lifetime value from a fitted BG/NBD and Gamma-Gamma model, with intervals.

A customer is summarised by (x, t_x, T, z̄): repeat purchases, recency, age and mean repeat
spend (see ``retention.models.rfm_summary``), with x, t_x and T in the data's time unit u (a day
or a week). For a horizon of H days the predictions are, at the maximum-likelihood parameters:

- ``p_alive`` = P(active at T | x, t_x, T) (Fader, Hardie & Lee 2007, eq. 1);
- ``expected_orders`` = E[Y(H/u) | x, t_x, T], the expected number of orders in the next H days,
  undiscounted (Fader, Hardie & Lee 2005, eq. 10);
- ``expected_spend`` = E[Z | x, z̄] = (pγ + p·x·z̄) / (p·x + q − 1), the expected value of one
  future order (Fader & Hardie 2013, eq. 5); the population mean pγ/(q−1) when x = 0;
- ``predicted_cltv`` = margin · expected_spend · Σ_{m=1..M} ΔE_m · (1+d)^(−m/12).

The horizon is cut into months of 365.25/12 days, the last one possibly partial, ending at
t_1 < … < t_M = H days; ΔE_m = E[Y(t_m)] − E[Y(t_{m−1})] (t_0 = 0) are the orders expected in
month m, whose cash is taken to arrive at the end of the month and is discounted at the annual
rate d by (1+d)^(−m/12) (a monthly, discrete version of the "discounted expected transactions"
of Fader, Hardie & Lee 2005b). A partial last month is still discounted as month M. Spend and
purchasing are independent in the Gamma-Gamma model, so each month is worth ΔE_m · E[Z]. With
``margin`` = 1 (the default) the value is discounted *revenue*; set it to the gross-margin share
to get discounted gross profit.

E[Y(t) | x, t_x, T] factorises as P(alive | x, t_x, T) · E[Y(t) | alive, x, T], and the second
factor does not depend on t_x. It is computed with Euler's transformation of the ₂F₁ in eq. 10,

    E[Y(t) | alive] = (a+b+x−1)/(a−1) · [1 − (1−z)^(a−1) · ₂F₁(a+b−1−r, a−1; a+b+x−1; z)],
    z = t/(α+T+t),

which equals (a+b+x−1)/(a−1) · [1 − (1−z)^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; z)] of the paper but
stays finite for large x and long horizons, where the paper's ₂F₁ grows like (1−z)^(a−1−r−x)
and overflows (e.g. x = 300 repeat days in 301 days over ten years); here c − a − b is
x + r + 1 − a > 0, so the series converges at z = 1.

Intervals (parameter uncertainty only; they do not include the randomness of a single
customer's purchases or spend). The two models are fitted separately, so their estimates are
independent. S = ``draws`` parameter vectors are drawn from the asymptotic normal distribution
of each maximum-likelihood estimate on the log scale, ln θ ~ N(ln θ̂, Σ) with Σ the fit's
``covariance`` (the inverse Hessian), from a seeded ``numpy`` generator. Each draw gives every
customer's expected orders, spend and CLTV; a customer's low/high are the (1−interval)/2 and
(1+interval)/2 quantiles over the draws, and the interval of a sum over customers (all of them,
or a group) comes from the per-draw sums, so it accounts for the customers sharing the same
parameters. Point estimates are at θ̂, not the mean of the draws. Gamma-Gamma draws with
q ≤ 1 (infinite mean spend) are redrawn, i.e. the normal is truncated to q > 1. When a
covariance is not finite (singular Hessian) the intervals that depend on it are NaN and the
result's ``warnings`` says so.

How it stays fast: customers are collapsed to distinct (x, t_x, T) rows, and those to distinct
(x, T) pairs, with the int64 key of ``retention.models.bgnbd`` (resolution 1e-6 of the unit).
The ₂F₁ is evaluated once per (pair, month, draw); P(alive) once per (row, draw); spend and
CLTV per (customer, draw). The discounted sum uses summation by parts,
Σ_m ΔE_m f_m = Σ_m E_m (f_m − f_{m+1}) with f_{M+1} = 0, so only the running E_m is kept.
Customers are sorted by row (rows are sorted by pair) and processed in chunks of at most
``CHUNK_VALUES`` values per (customers × draws) array, so memory stays bounded.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy Way: An
Alternative to the Pareto/NBD Model". Marketing Science 24(2), 275-284 (eq. 10).
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis". Journal of Marketing Research 42(4), 415-430.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2007). "Computing P(alive) Using the BG/NBD
Model". http://www.brucehardie.com/notes/021/
Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value".
http://www.brucehardie.com/notes/025/
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, special

from retention.models.bgnbd import RESOLUTION, BgNbdFit, _check_rfm, _combine
from retention.models.gamma_gamma import GammaGammaFit
from retention.models.rfm_summary import UNITS

__all__ = [
    "CHUNK_VALUES",
    "CUSTOMER_COLUMNS",
    "DAYS_PER_MONTH",
    "GROUP_COLUMNS",
    "MAX_DRAWS",
    "MAX_HORIZON_DAYS",
    "TOTAL_FIELDS",
    "CltvSettings",
    "CustomerPredictions",
    "GroupPredictions",
    "discount_factors",
    "predict_customers",
    "predict_customers_and_groups",
    "predict_group_totals",
]

DAYS_PER_MONTH = 365.25 / 12
MAX_HORIZON_DAYS = 3653  # ten years: 121 months
MAX_DRAWS = 10_000
CHUNK_VALUES = 2_000_000  # values per (customers × draws) array in one chunk
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "p_alive",
    "p_alive_low",
    "p_alive_high",
    "expected_orders",
    "expected_orders_low",
    "expected_orders_high",
    "expected_spend",
    "expected_spend_low",
    "expected_spend_high",
    "predicted_cltv",
    "predicted_cltv_low",
    "predicted_cltv_high",
)
TOTAL_FIELDS: tuple[str, ...] = (
    "expected_orders",
    "expected_orders_low",
    "expected_orders_high",
    "predicted_cltv",
    "predicted_cltv_low",
    "predicted_cltv_high",
)
GROUP_COLUMNS: tuple[str, ...] = ("group_code", "customers", *TOTAL_FIELDS)
_TOTAL_METRICS = ("expected_orders", "predicted_cltv")
_MAX_REDRAW_ROUNDS = 100

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --- settings and results -----------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class CltvSettings:
    """What to predict and how.

    - ``horizon_days``: length of the prediction window in days, 1..``MAX_HORIZON_DAYS``.
    - ``unit``: the time unit of frequency/recency/T and of the BG/NBD alpha, "day" or "week".
    - ``margin``: share of revenue kept, 0..1; 1.0 (default) makes the CLTV discounted revenue.
    - ``annual_discount_rate``: d in (1+d)^(−m/12), 0..1 (0.10 = 10 % a year).
    - ``interval``: central probability of the intervals, strictly between 0 and 1.
    - ``draws``: parameter draws for the intervals, 2..``MAX_DRAWS``.
    - ``seed``: seed of the ``numpy`` generator for the draws, ≥ 0.
    """

    horizon_days: int = 365
    unit: Literal["day", "week"] = "week"
    margin: float = 1.0
    annual_discount_rate: float = 0.10
    interval: float = 0.80
    draws: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if not _is_int(self.horizon_days) or not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise ValueError(
                f"horizon_days must be a whole number of days from 1 to {MAX_HORIZON_DAYS}, "
                f"got {self.horizon_days!r}"
            )
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if not _is_real(self.margin) or not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"margin must be a share from 0 to 1, got {self.margin!r}")
        rate = self.annual_discount_rate
        if not _is_real(rate) or not 0.0 <= rate <= 1.0:
            raise ValueError(
                f"annual_discount_rate must be from 0 to 1 (0.10 = 10 % a year), got {rate!r}"
            )
        if not _is_real(self.interval) or not 0.0 < self.interval < 1.0:
            raise ValueError(
                f"interval must be strictly between 0 and 1 (0.80 = 80 %), got {self.interval!r}"
            )
        if not _is_int(self.draws) or not 2 <= self.draws <= MAX_DRAWS:
            raise ValueError(
                f"draws must be a whole number from 2 to {MAX_DRAWS}, got {self.draws!r}"
            )
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be a whole number ≥ 0, got {self.seed!r}")

    @property
    def quantiles(self) -> tuple[float, float]:
        """(low, high) probabilities of the central interval."""
        return (1.0 - self.interval) / 2.0, (1.0 + self.interval) / 2.0


@dataclass(frozen=True)
class CustomerPredictions:
    """Per-customer predictions and their totals.

    - ``customers``: one row per input customer, in input order (RangeIndex), columns
      ``CUSTOMER_COLUMNS``.
    - ``totals``: a float Series indexed by ``TOTAL_FIELDS`` (expected_orders and
      predicted_cltv summed over all customers, each with _low/_high from the per-draw sums).
    - ``total_draws``: ``settings.draws`` rows, columns ``expected_orders`` and
      ``predicted_cltv``: the sum over customers under each parameter draw (for Monte Carlo
      over parameter uncertainty).
    - ``warnings``: plain sentences on what is missing or approximate (empty when all is well).
    """

    customers: pd.DataFrame
    totals: pd.Series
    total_draws: pd.DataFrame
    warnings: tuple[str, ...]
    settings: CltvSettings


@dataclass(frozen=True)
class GroupPredictions:
    """Sums per group.

    - ``groups``: one row per group code present, sorted by code, columns ``GROUP_COLUMNS``
      (``group_code``, ``customers`` and the ``TOTAL_FIELDS`` of the group's members).
    - ``expected_orders_draws``, ``predicted_cltv_draws``: (groups × ``settings.draws``) sums
      over each group's members per parameter draw, rows as in ``groups`` (sums of groups per
      draw give exact intervals for unions of groups).
    - ``warnings``: as in ``CustomerPredictions``.
    """

    groups: pd.DataFrame
    expected_orders_draws: Array
    predicted_cltv_draws: Array
    warnings: tuple[str, ...]
    settings: CltvSettings


# --- discounting --------------------------------------------------------------------------


def discount_factors(horizon_days: int, annual_rate: float) -> tuple[Array, Array]:
    """Month ends and discount factors of a horizon.

    Returns (month_ends_days, factors), both of shape (M,) with M = ⌈H / (365.25/12)⌉:
    month_ends_days[m−1] = min(m · 365.25/12, H) (so the last month may be partial and ends at
    H) and factors[m−1] = (1+d)^(−m/12), cash at the end of month m.
    """
    CltvSettings(horizon_days=horizon_days, annual_discount_rate=annual_rate)  # validates
    months = math.ceil(horizon_days / DAYS_PER_MONTH - 1e-9)
    m = np.arange(1, months + 1, dtype="float64")
    ends = np.minimum(m * DAYS_PER_MONTH, float(horizon_days))
    ends[-1] = float(horizon_days)
    return ends, (1.0 + annual_rate) ** (-m / 12.0)


# --- layout: distinct rows and pairs ------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Customers sorted by distinct (x, T, t_x) row; rows sorted by distinct (x, T) pair."""

    order: IntArray  # customer positions, sorted by row
    row_of_sorted: IntArray  # row of each customer in ``order``
    row_x: Array
    row_t_x: Array
    row_big_t: Array
    pair_of_row: IntArray  # non-decreasing
    pair_x: Array
    pair_big_t: Array


def _unique_rows(
    x: Array, t_x: Array, big_t: Array, resolution: float = RESOLUTION
) -> tuple[Array, Array, Array, IntArray, IntArray]:
    """Distinct (x, round(T/res), round(t_x/res)) rows, sorted by that key.

    Returns (x, t_x, T) of each row (values of its first occurrence), the row of every
    customer (the inverse index) and the pair of every row, pairs being distinct (x, T); the
    pair index is non-decreasing along the rows.
    """
    ticks_t = np.rint(big_t / resolution).astype("int64")
    ticks_tx = np.rint(t_x / resolution).astype("int64")
    pair_key = _combine(x.astype("int64"), ticks_t)
    key = _combine(pair_key, ticks_tx)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    row_pair_key = pair_key[first]
    new_pair = np.empty(len(first), dtype=bool)
    new_pair[:1] = True
    new_pair[1:] = row_pair_key[1:] != row_pair_key[:-1]
    pair_of_row = np.cumsum(new_pair).astype("int64") - 1
    return x[first], t_x[first], big_t[first], inverse.astype("int64").ravel(), pair_of_row


def _layout(x: Array, t_x: Array, big_t: Array) -> _Layout:
    row_x, row_t_x, row_big_t, inverse, pair_of_row = _unique_rows(x, t_x, big_t)
    order = np.argsort(inverse, kind="stable").astype("int64")
    first_of_pair = np.flatnonzero(np.r_[True, pair_of_row[1:] != pair_of_row[:-1]])
    return _Layout(
        order=order,
        row_of_sorted=inverse[order],
        row_x=row_x,
        row_t_x=row_t_x,
        row_big_t=row_big_t,
        pair_of_row=pair_of_row,
        pair_x=row_x[first_of_pair],
        pair_big_t=row_big_t[first_of_pair],
    )


# --- parameter draws ----------------------------------------------------------------------


def _covariance_factor(covariance: Array, size: int, name: str) -> Array | None:
    """L with L Lᵀ = Σ (from the eigen-decomposition, so a zero or singular Σ is fine), or
    None when Σ is not finite. Raises when Σ is not a (k × k) symmetric PSD matrix."""
    cov = np.asarray(covariance, dtype="float64")
    if cov.shape != (size, size):
        raise ValueError(f"{name} covariance must be {size}×{size}, got shape {cov.shape}")
    if not np.isfinite(cov).all():
        return None
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-12):
        raise ValueError(f"{name} covariance is not symmetric")
    values, vectors = np.linalg.eigh(cov)
    if values.min(initial=0.0) < -1e-10 * max(1.0, float(np.abs(values).max(initial=0.0))):
        raise ValueError(f"{name} covariance is not positive semi-definite")
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def _draws(mle: Array, factor: Array | None, normals: Array) -> Array:
    """(S+1, k) parameters: row 0 the MLE, rows 1..S the MLE · exp(L z_s) (so a zero
    covariance reproduces the MLE bit for bit)."""
    shifts = np.zeros_like(normals) if factor is None else normals @ factor.T
    return np.vstack([mle, mle * np.exp(shifts)])


def _gamma_gamma_draws(
    mle: Array, factor: Array | None, n_draws: int, rng: np.random.Generator
) -> tuple[Array, int]:
    """Draws as ``_draws``, with those at q ≤ 1 redrawn; returns (draws, number redrawn)."""
    draws = _draws(mle, factor, rng.standard_normal((n_draws, 3)))
    redrawn = 0
    for _ in range(_MAX_REDRAW_ROUNDS):
        bad = np.flatnonzero(draws[:, 1] <= 1.0)
        if len(bad) == 0:
            break
        redrawn += len(bad)
        draws[bad] = _draws(mle, factor, rng.standard_normal((len(bad), 3)))[1:]
    else:
        raise ValueError(
            "the Gamma-Gamma covariance leaves too little probability at q > 1 to draw from; "
            "the mean spend is too uncertain for intervals"
        )
    return draws, redrawn


# --- per-chunk evaluation -----------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """Customers ``positions``; arrays (customers × (1 + draws)), column 0 at the MLE."""

    positions: IntArray
    p_alive: Array
    orders: Array
    spend: Array
    cltv: Array


def _pair_values(
    bg: Array, x: Array, big_t: Array, times: Array, weights: Array
) -> tuple[Array, Array]:
    """E[Y(t_M) | alive, x, T] and Σ_m (f_m − f_{m+1}) · E[Y(t_m) | alive, x, T] per (pair, draw).

    Euler-transformed eq. 10 of FHL 2005 (see the module docstring); arrays (pairs, draws).
    """
    r, alpha, a, b = (bg[None, :, i] for i in range(4))
    xs, ts = x[:, None], big_t[:, None]
    c = a + b + xs - 1.0
    scale = c / (a - 1.0)
    log_base = np.log(alpha + ts)
    hyper_a, hyper_b = a + b - 1.0 - r, a - 1.0
    discounted = np.zeros(np.broadcast_shapes(xs.shape, r.shape))
    alive = np.zeros_like(discounted)
    for t, weight in zip(times, weights, strict=True):
        end = alpha + ts + t
        hyper = special.hyp2f1(hyper_a, hyper_b, c, t / end)
        power = hyper_b * (log_base - np.log(end))
        # expm1 keeps precision when the product is near 1; a draw with a > 1 can make the
        # hypergeometric factor ≤ 0, where the plain form 1 − e^power · hyper is exact enough.
        with np.errstate(invalid="ignore", divide="ignore"):
            precise = -np.expm1(power + np.log(hyper))
        with np.errstate(invalid="ignore", over="ignore"):
            alive = scale * np.where(hyper > 0, precise, 1.0 - np.exp(power) * hyper)
        bad = ~np.isfinite(alive)
        if bad.any():
            alive = _original_form(alive, bad, r, alpha, a, b, xs, ts, t)
        discounted += weight * alive
    return alive, discounted


def _original_form(
    alive: Array,
    bad: NDArray[np.bool_],
    r: Array,
    alpha: Array,
    a: Array,
    b: Array,
    xs: Array,
    ts: Array,
    t: float,
) -> Array:
    """E[Y(t) | alive, x, T] by eq. 10 as published, where the Euler-transformed form is not
    finite (extreme draws such as a, b → ∞, the constant-dropout limit, make its
    hypergeometric factor overflow while the published form stays finite)."""
    shape = alive.shape
    r_, al_, a_, b_, x_, t_ = (np.broadcast_to(v, shape)[bad] for v in (r, alpha, a, b, xs, ts))
    end = al_ + t_ + t
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        hyper = special.hyp2f1(r_ + x_, b_ + x_, a_ + b_ + x_ - 1.0, t / end)
        log_term = (r_ + x_) * (np.log(al_ + t_) - np.log(end)) + np.log(hyper)
        value = (a_ + b_ + x_ - 1.0) / (a_ - 1.0) * -np.expm1(log_term)
    out = alive.copy()
    out[bad] = value
    return out


def _row_p_alive(bg: Array, x: Array, t_x: Array, big_t: Array) -> Array:
    """P(alive | x, t_x, T) per (row, draw) (Fader, Hardie & Lee 2007, eq. 1)."""
    r, alpha, a, b = (bg[None, :, i] for i in range(4))
    xs, txs, ts = x[:, None], t_x[:, None], big_t[:, None]
    repeat = xs > 0
    log_odds = np.log(a) - np.log(np.where(repeat, b + xs - 1.0, 1.0))
    log_odds = log_odds + (r + xs) * (np.log(alpha + ts) - np.log(alpha + txs))
    return special.expit(-np.where(repeat, log_odds, -np.inf))


def _evaluate(
    bg: Array,
    gg: Array,
    layout: _Layout,
    x: Array,
    mean_spend: Array,
    times: Array,
    weights: Array,
    margin: float,
) -> Iterator[_Chunk]:
    """Yield the predictions chunk by chunk, customers in ``layout.order``."""
    n = len(layout.order)
    size = max(1, CHUNK_VALUES // bg.shape[0])
    p, q, gamma = (gg[None, :, i] for i in range(3))
    for start in range(0, n, size):
        positions = layout.order[start : start + size]
        rows = layout.row_of_sorted[start : start + size]
        row_lo, row_hi = int(rows[0]), int(rows[-1]) + 1
        pair_lo = int(layout.pair_of_row[row_lo])
        pair_hi = int(layout.pair_of_row[row_hi - 1]) + 1
        alive_orders, alive_discounted = _pair_values(
            bg,
            layout.pair_x[pair_lo:pair_hi],
            layout.pair_big_t[pair_lo:pair_hi],
            times,
            weights,
        )
        rows_here = slice(row_lo, row_hi)
        row_alive = _row_p_alive(
            bg, layout.row_x[rows_here], layout.row_t_x[rows_here], layout.row_big_t[rows_here]
        )
        pair_local = layout.pair_of_row[rows_here] - pair_lo
        row_orders = row_alive * alive_orders[pair_local]
        row_discounted = row_alive * alive_discounted[pair_local]
        local = rows - row_lo
        xs = x[positions][:, None]
        zbar = mean_spend[positions][:, None]
        spend = (p * gamma + p * xs * zbar) / (p * xs + q - 1.0)
        yield _Chunk(
            positions=positions,
            p_alive=row_alive[local],
            orders=row_orders[local],
            spend=spend,
            cltv=margin * row_discounted[local] * spend,
        )


# --- shared preparation -------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    bg: Array
    gg: Array
    layout: _Layout
    x: Array
    mean_spend: Array
    times: Array
    weights: Array
    bg_ok: bool
    gg_ok: bool
    warnings: tuple[str, ...]

    def chunks(self, margin: float) -> Iterator[_Chunk]:
        return _evaluate(
            self.bg,
            self.gg,
            self.layout,
            self.x,
            self.mean_spend,
            self.times,
            self.weights,
            margin,
        )


def _prepare(
    bgnbd: BgNbdFit,
    gg: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: CltvSettings,
) -> _Run:
    if not isinstance(settings, CltvSettings):
        raise TypeError(f"settings must be a CltvSettings, got {type(settings).__name__}")
    x, t_x, big_t, _ = _check_rfm(frequency, recency, T, None)
    if len(x) == 0:
        raise ValueError("no customers to predict (empty input)")
    mean_spend = np.asarray(monetary_value, dtype="float64").ravel()
    if len(mean_spend) != len(x):
        raise ValueError(
            f"monetary_value must have one entry per customer: got {len(mean_spend)} for "
            f"{len(x)} customers"
        )
    # z̄ = 0 is allowed in predictions (every repeat purchase refunded): the formula then
    # gives pγ/(px+q−1), shrinking towards 0 as x grows. The fit itself needs z̄ > 0.
    bad_spend = (x > 0) & ~(np.isfinite(mean_spend) & (mean_spend >= 0))
    if bad_spend.any():
        raise ValueError(
            f"{int(bad_spend.sum())} customer(s) with frequency > 0 have a monetary_value that "
            "is negative (or not finite); expected spend needs spend ≥ 0"
        )
    mean_spend = np.where(x > 0, mean_spend, 0.0)  # ignored when x = 0
    p, q, gamma = gg.params.p, gg.params.q, gg.params.gamma
    if not q > 1.0:
        raise ValueError(
            f"the Gamma-Gamma fit has q = {q:.4g} ≤ 1, so the mean spend pγ/(q−1) is infinite "
            "and expected spend is undefined; the spend model does not fit this data"
        )
    warnings: list[str] = []
    for name, fit in (("BG/NBD", bgnbd), ("Gamma-Gamma", gg)):
        if not fit.converged:
            warnings.append(
                f"The {name} fit did not converge ({fit.message}); predictions may be off."
            )
    rng = np.random.default_rng(settings.seed)
    bg_factor = _covariance_factor(bgnbd.covariance, 4, "BG/NBD")
    gg_factor = _covariance_factor(gg.covariance, 3, "Gamma-Gamma")
    bg_draws = _draws(bgnbd.params.as_array(), bg_factor, rng.standard_normal((settings.draws, 4)))
    gg_draws, redrawn = _gamma_gamma_draws(
        np.array([p, q, gamma], dtype="float64"), gg_factor, settings.draws, rng
    )
    if bg_factor is None:
        warnings.append(
            "The BG/NBD covariance is not finite (singular Hessian at the optimum), so the "
            "intervals of expected orders and CLTV are not available (NaN)."
        )
    if gg_factor is None:
        warnings.append(
            "The Gamma-Gamma covariance is not finite (singular Hessian at the optimum), so "
            "the intervals of expected spend and CLTV are not available (NaN)."
        )
    if redrawn:
        warnings.append(
            f"{redrawn} Gamma-Gamma parameter draw(s) had q ≤ 1 (infinite mean spend) and were "
            "drawn again; the spend intervals assume q > 1."
        )
    month_ends, factors = discount_factors(settings.horizon_days, settings.annual_discount_rate)
    times = month_ends / UNITS[settings.unit]
    weights = factors - np.r_[factors[1:], 0.0]  # summation by parts: Σ E_m (f_m − f_{m+1})
    return _Run(
        bg=bg_draws,
        gg=gg_draws,
        layout=_layout(x, t_x, big_t),
        x=x,
        mean_spend=mean_spend,
        times=times,
        weights=weights,
        bg_ok=bg_factor is not None,
        gg_ok=gg_factor is not None,
        warnings=tuple(warnings),
    )


def _interval(values: Array, settings: CltvSettings, usable: bool) -> tuple[Array, Array]:
    """Quantiles over the last axis of ``values`` (the draws), or NaN when not usable."""
    if not usable:
        nan = np.full(values.shape[:-1], np.nan)
        return nan, nan.copy()
    low, high = np.quantile(values, settings.quantiles, axis=-1)
    return low, high


def _non_finite_warning(sums: Array) -> list[str]:
    bad = int((~np.isfinite(sums[1:])).any(axis=0).sum())
    if bad == 0:
        return []
    return [
        f"{bad} of {sums.shape[1] - 1} parameter draws gave non-finite predictions (extreme "
        "parameter values); intervals that include them are NaN."
    ]


# --- public API ---------------------------------------------------------------------------


def predict_customers(
    bgnbd: BgNbdFit,
    gg: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: CltvSettings | None = None,
) -> CustomerPredictions:
    """P(alive), expected orders, expected spend and CLTV per customer, with intervals.

    ``frequency``, ``recency``, ``T`` (in ``settings.unit``, the unit the BG/NBD model was
    fitted in) and ``monetary_value`` (mean repeat spend; ignored where frequency is 0) are
    equally long 1-D arrays, one entry per customer. Formulas and the interval method are in
    the module docstring. Raises ``ValueError`` on invalid input or when the Gamma-Gamma q ≤ 1.
    """
    settings = CltvSettings() if settings is None else settings
    run = _prepare(bgnbd, gg, frequency, recency, T, monetary_value, settings)
    customers = _CustomerSums(run, settings)
    for chunk in run.chunks(settings.margin):
        customers.add(chunk)
    return customers.result()


def predict_group_totals(
    bgnbd: BgNbdFit,
    gg: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: CltvSettings | None = None,
    *,
    groups: ArrayLike,
) -> GroupPredictions:
    """Expected orders and CLTV summed per group (cohort, channel, country…), with intervals.

    ``groups`` holds one integer code ≥ 0 per customer (e.g. from ``pd.factorize``); the other
    inputs are as in ``predict_customers``. The interval of a group is from the per-draw sums
    over its members; with the same settings the draws are those of ``predict_customers``, so
    a single group reproduces its totals.
    """
    settings = CltvSettings() if settings is None else settings
    codes = _group_codes(groups)
    run = _prepare(bgnbd, gg, frequency, recency, T, monetary_value, settings)
    sums = _GroupSums(run, settings, codes)
    for chunk in run.chunks(settings.margin):
        sums.add(chunk)
    return sums.result()


def predict_customers_and_groups(
    bgnbd: BgNbdFit,
    gg: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: CltvSettings | None = None,
    *,
    groups: ArrayLike,
) -> tuple[CustomerPredictions, GroupPredictions]:
    """``predict_customers`` and ``predict_group_totals`` from one evaluation of the models.

    The same results as the two calls, value for value: the draws, chunks and sums are the
    same; only the (customers × draws) predictions are computed once instead of twice, which
    was half of the prediction time of a scores run.
    """
    settings = CltvSettings() if settings is None else settings
    codes = _group_codes(groups)
    run = _prepare(bgnbd, gg, frequency, recency, T, monetary_value, settings)
    customers = _CustomerSums(run, settings)
    sums = _GroupSums(run, settings, codes)
    for chunk in run.chunks(settings.margin):
        customers.add(chunk)
        sums.add(chunk)
    return customers.result(), sums.result()


class _CustomerSums:
    """Per-customer columns and per-draw totals, filled chunk by chunk."""

    def __init__(self, run: _Run, settings: CltvSettings) -> None:
        self.run = run
        self.settings = settings
        n = len(run.x)
        self.columns = {name: np.empty(n) for name in CUSTOMER_COLUMNS}
        self.sums = np.zeros((settings.draws + 1, 2))

    def add(self, chunk: _Chunk) -> None:
        run, at = self.run, chunk.positions
        for name, values, usable in (
            ("p_alive", chunk.p_alive, run.bg_ok),
            ("expected_orders", chunk.orders, run.bg_ok),
            ("expected_spend", chunk.spend, run.gg_ok),
            ("predicted_cltv", chunk.cltv, run.bg_ok and run.gg_ok),
        ):
            self.columns[name][at] = values[:, 0]
            low, high = _interval(values[:, 1:], self.settings, usable)
            self.columns[f"{name}_low"][at] = low
            self.columns[f"{name}_high"][at] = high
        self.sums[:, 0] += chunk.orders.sum(axis=0)
        self.sums[:, 1] += chunk.cltv.sum(axis=0)

    def result(self) -> CustomerPredictions:
        run, settings, sums = self.run, self.settings, self.sums
        usable = np.array([run.bg_ok, run.bg_ok and run.gg_ok])
        draws = np.where(usable, sums[1:], np.nan)
        low, high = _interval(draws.T, settings, True)
        totals = pd.Series(
            [sums[0, 0], low[0], high[0], sums[0, 1], low[1], high[1]],
            index=pd.Index(TOTAL_FIELDS),
            name="total",
            dtype="float64",
        )
        return CustomerPredictions(
            customers=pd.DataFrame(self.columns, columns=list(CUSTOMER_COLUMNS)),
            totals=totals,
            total_draws=pd.DataFrame(draws, columns=list(_TOTAL_METRICS)),
            warnings=run.warnings + tuple(_non_finite_warning(np.where(usable, sums, 0.0))),
            settings=settings,
        )


def _group_codes(groups: ArrayLike) -> NDArray[np.integer]:
    codes = np.asarray(groups).ravel()
    if codes.dtype.kind not in "iu":
        raise ValueError(f"groups must be integer codes, got dtype {codes.dtype}")
    return codes


class _GroupSums:
    """Per-group sums of every draw, filled chunk by chunk."""

    def __init__(self, run: _Run, settings: CltvSettings, codes: NDArray[np.integer]) -> None:
        if len(codes) != len(run.x):
            raise ValueError(
                f"groups must have one code per customer: got {len(codes)} for "
                f"{len(run.x)} customers"
            )
        if (codes < 0).any():
            raise ValueError(
                f"groups has {int((codes < 0).sum())} negative code(s) (a missing group?); "
                "give every customer a code ≥ 0"
            )
        self.run = run
        self.settings = settings
        self.present, group_of = np.unique(codes, return_inverse=True)
        self.group_of = group_of.ravel()
        self.orders = np.zeros((len(self.present), settings.draws + 1))
        self.cltv = np.zeros_like(self.orders)

    def add(self, chunk: _Chunk) -> None:
        members = self.group_of[chunk.positions]
        indicator = sparse.csr_matrix(
            (np.ones(len(members)), (members, np.arange(len(members)))),
            shape=(len(self.present), len(members)),
        )
        self.orders += indicator @ chunk.orders
        self.cltv += indicator @ chunk.cltv

    def result(self) -> GroupPredictions:
        run, settings, orders, cltv = self.run, self.settings, self.orders, self.cltv
        n_groups = len(self.present)
        cltv_ok = run.bg_ok and run.gg_ok
        orders_low, orders_high = _interval(orders[:, 1:], settings, run.bg_ok)
        cltv_low, cltv_high = _interval(cltv[:, 1:], settings, cltv_ok)
        table = pd.DataFrame(
            {
                "group_code": self.present,
                "customers": np.bincount(self.group_of, minlength=n_groups).astype("int64"),
                "expected_orders": orders[:, 0],
                "expected_orders_low": orders_low,
                "expected_orders_high": orders_high,
                "predicted_cltv": cltv[:, 0],
                "predicted_cltv_low": cltv_low,
                "predicted_cltv_high": cltv_high,
            },
            columns=list(GROUP_COLUMNS),
        )
        sums = np.stack([orders.sum(axis=0), cltv.sum(axis=0)], axis=1)
        usable = np.array([run.bg_ok, cltv_ok])
        missing = np.full((n_groups, settings.draws), np.nan)
        return GroupPredictions(
            groups=table,
            expected_orders_draws=orders[:, 1:].copy() if run.bg_ok else missing,
            predicted_cltv_draws=cltv[:, 1:].copy() if cltv_ok else missing.copy(),
            warnings=run.warnings + tuple(_non_finite_warning(np.where(usable, sums, 0.0))),
            settings=settings,
        )
