"""BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

While active, a customer buys as a Poisson process with rate λ ~ Gamma(r, α) (shape r, rate
α); after each repeat purchase they drop out for good with probability p ~ Beta(a, b). A
customer is summarised by (x, t_x, T): repeat purchases, time of the last one and time since
the first purchase (see ``retention.models.rfm_summary``). The log-likelihood of one customer
is (eq. 6 of the paper)

    ℓ = lnΓ(r+x) − lnΓ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
        + ln[ (α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x) ],

the last term evaluated with log-sum-exp. Its gradient in the log-parameters is analytic.

How it stays fast (see DESIGN.md, "Rules that keep it fast"): rows with the same (x, t_x, T)
are collapsed into one row with a weight; t_x and T are first rounded to ``RESOLUTION`` = 1e-6
of the time unit (whole days are exact in either unit: a day is 1/7 week, and days that are
equal stay equal) and the three integers are packed into one int64 key, so only a 1-D
``np.unique`` is needed. The likelihood is then summed in chunks of ``CHUNK_ROWS`` rows (the
lnΓ, ln B and ψ terms, which depend on x alone, once per distinct x and gathered), and
the optimiser runs with BLAS limited to one thread. Parameters are optimised on the log scale
with L-BFGS-B and polished with Newton steps on a numerical Hessian (central differences of
the analytic gradient); the inverse of that Hessian is the covariance of the log-parameters.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy Way: An
Alternative to the Pareto/NBD Model". Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2007). "Computing P(alive) Using the BG/NBD
Model". http://www.brucehardie.com/notes/021/
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special
from threadpoolctl import threadpool_limits

__all__ = [
    "CHUNK_ROWS",
    "RESOLUTION",
    "BgNbdFit",
    "BgNbdParams",
    "bgnbd_log_likelihood",
    "bgnbd_log_likelihood_per_customer",
    "deduplicate",
    "expected_purchases",
    "expected_purchases_unconditional",
    "fit_bgnbd",
    "distinct_x",
    "weighted_sum_in_chunks",
    "p_alive",
]

RESOLUTION = 1e-6
CHUNK_ROWS = 65_536
_INT_LIMIT = 2**62

Array = NDArray[np.float64]
Objective = Callable[[Array], tuple[float, Array]]


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: λ ~ Gamma(shape r, rate alpha), p ~ Beta(a, b).

    ``alpha`` is in the time unit of the data (it scales with it: alpha in days = 7 · alpha in
    weeks); r, a and b are unit-free.
    """

    r: float
    alpha: float
    a: float
    b: float

    def as_array(self) -> Array:
        return np.array([self.r, self.alpha, self.a, self.b], dtype="float64")


@dataclass(frozen=True)
class BgNbdFit:
    """A maximum-likelihood fit.

    ``hessian`` is the Hessian of the negative log-likelihood (summed over customers) in the
    log-parameters (ln r, ln alpha, ln a, ln b) at the optimum, ``covariance`` its inverse (the
    asymptotic covariance of the log-parameters; NaN when the Hessian is singular).
    """

    params: BgNbdParams
    log_likelihood: float
    n_customers: float
    n_unique_rows: int
    converged: bool
    iterations: int
    hessian: Array
    covariance: Array
    message: str


# --- input checks and deduplication -------------------------------------------------------


def _check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None
) -> tuple[Array, Array, Array, Array]:
    x = np.asarray(frequency, dtype="float64").ravel()
    t_x = np.asarray(recency, dtype="float64").ravel()
    big_t = np.asarray(T, dtype="float64").ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype="float64").ravel()
    if not len(x) == len(t_x) == len(big_t) == len(w):
        raise ValueError(
            "frequency, recency, T and weights must have the same length, got "
            f"{len(x)}, {len(t_x)}, {len(big_t)} and {len(w)}"
        )
    problems = {
        "frequency is not a whole number ≥ 0": ~((x >= 0) & (x == np.round(x))),
        "recency is negative or not finite": ~(np.isfinite(t_x) & (t_x >= 0)),
        "T is not finite or less than recency": ~(np.isfinite(big_t) & (big_t >= t_x)),
        "recency is 0 while frequency > 0": (x > 0) & (t_x <= 0),
        "weight is negative or not finite": ~(np.isfinite(w) & (w >= 0)),
    }
    found = [f"{int(bad.sum())} row(s): {what}" for what, bad in problems.items() if bad.any()]
    if found:
        raise ValueError("invalid BG/NBD input; " + "; ".join(found))
    return x, t_x, big_t, w


def _dense_rank(values: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.unique(values, return_inverse=True)[1].astype("int64").ravel()


def _combine(left: NDArray[np.int64], right: NDArray[np.int64]) -> NDArray[np.int64]:
    """One int64 key per (left, right) pair, both ≥ 0; ranks the columns when the spans are
    too wide to multiply (ranks are < n, and n² fits in int64 for any realistic n)."""
    span = int(right.max(initial=0)) + 1
    if (int(left.max(initial=0)) + 1) * span >= _INT_LIMIT:
        left, right = _dense_rank(left), _dense_rank(right)
        span = int(right.max(initial=0)) + 1
    return left * span + right


def deduplicate(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    resolution: float = RESOLUTION,
) -> tuple[Array, Array, Array, Array]:
    """Collapse rows with the same (x, round(t_x/res), round(T/res)) into one weighted row.

    Returns (x, t_x, T, weight) of the distinct rows; the values of each are those of its first
    occurrence, and weight is the summed input weight (1 per row by default). Rows whose
    weight is 0 are dropped.
    """
    x, t_x, big_t, w = _check_rfm(frequency, recency, T, weights)
    keep = w > 0
    x, t_x, big_t, w = x[keep], t_x[keep], big_t[keep], w[keep]
    ticks_t = np.rint(big_t / resolution).astype("int64")
    ticks_tx = np.rint(t_x / resolution).astype("int64")
    key = _combine(_combine(x.astype("int64"), ticks_tx), ticks_t)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w, minlength=len(first))
    return x[first], t_x[first], big_t[first], counts


# --- likelihood ---------------------------------------------------------------------------


def distinct_x(x: Array) -> tuple[Array, NDArray[np.intp]]:
    """(values, codes) with ``values[codes] == x``: the terms of ℓ that depend on x alone
    (the lnΓ, ln B and ψ terms) are evaluated once per distinct x and gathered, since x takes
    few values (a count of repeat orders) while the rows run into the hundreds of thousands."""
    values, codes = np.unique(x, return_inverse=True)
    return values, codes.ravel()


def _ll_terms(
    theta: Array,
    x: Array,
    t_x: Array,
    big_t: Array,
    by_x: tuple[Array, NDArray[np.intp]] | None = None,
) -> tuple[Array, Array]:
    """Per-row log-likelihood and its gradient in the log-parameters (shape (4, n)).

    ``by_x`` is ``distinct_x(x)`` when the caller has it (computed here otherwise); the result
    is the same either way, bit for bit.
    """
    values, codes = distinct_x(x) if by_x is None else by_x
    r, alpha, a, b = np.exp(theta)
    # Terms in x alone, one entry per distinct x.
    repeat_v = values > 0
    bx1_v = np.where(repeat_v, b + values - 1.0, 1.0)
    psi_ab = special.digamma(a + b)
    psi_abx_v = special.digamma(a + b + values)
    ll_v = (
        special.gammaln(r + values)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + values)
        - special.betaln(a, b)
    )
    d_r_v = special.digamma(r + values) - special.digamma(r) + np.log(alpha)
    d_a_v = psi_ab - psi_abx_v
    d_b_v = special.digamma(b + values) - special.digamma(b) + psi_ab - psi_abx_v
    log_drop_v = np.where(repeat_v, np.log(a) - np.log(bx1_v), -np.inf)
    # Terms in t_x and T, per row.
    rx = r + x
    log_at = np.log(alpha + big_t)
    log_atx = np.log(alpha + t_x)
    a3 = -rx * log_at
    a4 = log_drop_v[codes] - rx * log_atx
    tail = np.logaddexp(a3, a4)
    w4 = np.exp(a4 - tail)  # share of the "dropped out after t_x" branch; 0 when x = 0
    w3 = 1.0 - w4
    ll = ll_v[codes] + tail
    d_r = d_r_v[codes] - w3 * log_at - w4 * log_atx
    d_alpha = r / alpha - rx * (w3 / (alpha + big_t) + w4 / (alpha + t_x))
    d_a = d_a_v[codes] + w4 / a
    d_b = d_b_v[codes] - w4 / bx1_v[codes]
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return ll, grad


Terms = Callable[..., tuple[Array, Array]]


def weighted_sum_in_chunks(
    terms: Terms,
    theta: Array,
    columns: tuple[Array, ...],
    w: Array,
    by_x: tuple[Array, NDArray[np.intp]],
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[float, Array]:
    """Σ_i w_i ℓ_i and Σ_i w_i ∇ℓ_i, with ``terms(theta, *columns, by_x)`` evaluated on
    ``chunk_rows`` rows at a time (``columns[0]`` is x; ``by_x`` is ``distinct_x`` of it)."""
    values, codes = by_x
    total = 0.0
    grad = np.zeros(len(theta))
    for start in range(0, len(w), chunk_rows):
        part = slice(start, start + chunk_rows)
        ll, g = terms(theta, *(c[part] for c in columns), (values, codes[part]))
        total += float(w[part] @ ll)
        grad += g @ w[part]
    return total, grad


def bgnbd_log_likelihood_per_customer(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> Array:
    """ℓ_i for each row, without deduplication (shape of the input, 1-D)."""
    x, t_x, big_t, _ = _check_rfm(frequency, recency, T, None)
    return _ll_terms(np.log(params.as_array()), x, t_x, big_t)[0]


def bgnbd_log_likelihood(
    params: BgNbdParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> float:
    """Σ_i w_i ℓ_i over the deduplicated rows, evaluated in chunks."""
    x, t_x, big_t, w = deduplicate(frequency, recency, T, weights)
    theta = np.log(params.as_array())
    return weighted_sum_in_chunks(_ll_terms, theta, (x, t_x, big_t), w, distinct_x(x))[0]


# --- optimisation (shared with the Gamma-Gamma model) -------------------------------------


def _numerical_hessian(objective: Objective, theta: Array, step: float = 1e-5) -> Array:
    """Central differences of the analytic gradient, symmetrised."""
    n = len(theta)
    hessian = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = step
        hessian[:, i] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * step)
    return (hessian + hessian.T) / 2


def _inverse(hessian: Array) -> Array:
    try:
        if np.all(np.linalg.eigvalsh(hessian) > 0):
            return np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        pass
    return np.full_like(hessian, np.nan)


def _minimise(
    objective: Objective, theta0: Array, scale: float, newton_steps: int = 5
) -> tuple[Array, float, Array, Array, bool, int, str]:
    """Minimise a negative log-likelihood in log-parameters.

    L-BFGS-B on objective/scale (a per-customer mean keeps the gradient of order one), then
    up to ``newton_steps`` Newton steps with the numerical Hessian, each kept only if it
    shrinks the gradient without raising the objective beyond rounding. Returns (theta,
    value, hessian, covariance, converged, iterations, message).
    """

    def scaled(theta: Array) -> tuple[float, Array]:
        value, grad = objective(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return value / scale, grad / scale

    bounds = [(-30.0, 30.0)] * len(theta0)
    with threadpool_limits(limits=1, user_api="blas"):
        result = optimize.minimize(
            scaled,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10},
        )
        theta = result.x
        value, grad = objective(theta)
        hessian = _numerical_hessian(objective, theta)
        for _ in range(newton_steps):
            try:
                step = np.linalg.solve(hessian, grad)
            except np.linalg.LinAlgError:
                break
            candidate = theta - step
            candidate_value, candidate_grad = objective(candidate)
            # Near the optimum the objective is flat to rounding: judge a step by the
            # gradient, and refuse only a step that makes the objective clearly worse.
            slack = 1e-12 * max(1.0, abs(value))
            better = np.max(np.abs(candidate_grad)) < np.max(np.abs(grad))
            if not (better and candidate_value <= value + slack):
                break
            theta, value, grad = candidate, candidate_value, candidate_grad
            hessian = _numerical_hessian(objective, theta)
            if np.max(np.abs(step)) < 1e-12:
                break
    grad_norm = float(np.max(np.abs(objective(theta)[1]))) / scale
    at_bound = bool(np.any(np.abs(theta) >= 30.0 - 1e-6))
    converged = bool(np.isfinite(value) and grad_norm < 1e-4 and not at_bound)
    message = f"{result.message}; max |gradient| per customer {grad_norm:.2e}"
    if at_bound:
        message += "; a parameter reached its bound (exp(±30))"
    return theta, value, hessian, _inverse(hessian), converged, int(result.nit), message


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> BgNbdFit:
    """Fit the BG/NBD model by maximum likelihood.

    ``frequency``, ``recency`` and ``T`` are equally long 1-D arrays (one entry per customer,
    or per group of identical customers with ``weights`` giving their counts), in one time
    unit. Returns a ``BgNbdFit``; check ``converged`` before using the parameters.
    """
    x, t_x, big_t, w = deduplicate(frequency, recency, T, weights)
    n_customers = float(w.sum())
    if n_customers <= 0:
        raise ValueError("no customers to fit (empty input or all weights 0)")

    by_x = distinct_x(x)

    def objective(theta: Array) -> tuple[float, Array]:
        ll, grad = weighted_sum_in_chunks(_ll_terms, theta, (x, t_x, big_t), w, by_x)
        return -ll, -grad

    theta, value, hessian, covariance, converged, iterations, message = _minimise(
        objective, np.zeros(4), scale=n_customers
    )
    return BgNbdFit(
        params=BgNbdParams(*(float(v) for v in np.exp(theta))),
        log_likelihood=-value,
        n_customers=n_customers,
        n_unique_rows=len(x),
        converged=converged,
        iterations=iterations,
        hessian=hessian,
        covariance=covariance,
        message=message,
    )


# --- per-customer predictions -------------------------------------------------------------


def _log_odds_dropped(params: BgNbdParams, x: Array, t_x: Array, big_t: Array) -> Array:
    """ln[a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)] for x > 0, −inf for x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1.0, 1.0)
    log_odds = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    return np.where(repeat, log_odds, -np.inf)


def _one_minus(log_decay: Array, hyper: Array) -> Array:
    """1 − e^log_decay · hyper, with expm1's precision where hyper > 0; at extreme parameters
    (a > 1 far out, as on tiny shops) the hypergeometric factor can be ≤ 0, where the plain
    form is used instead of taking its log."""
    with np.errstate(invalid="ignore", divide="ignore"):
        precise = -special.expm1(log_decay + np.log(hyper))
    return np.where(hyper > 0, precise, 1.0 - np.exp(log_decay) * hyper)


def p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """P(still active at T | x, t_x, T) (Fader, Hardie & Lee 2007, eq. 1):

        P = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)),

    computed as expit(−log-odds) so it neither overflows nor underflows; 1 when x = 0.
    """
    xs, t, big_t = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    return special.expit(-_log_odds_dropped(params, xs, t, big_t))


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t units (eq. 10 of FHL 2005):

        E = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
            · P(alive | x, t_x, T).

    Arrays broadcast. Undefined at a = 1 exactly (the factor 1/(a−1)); valid for a < 1.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ts, xs, tx, big_t = (np.asarray(v, dtype="float64") for v in (t, x, t_x, T))
    horizon = alpha + big_t + ts
    hyper = special.hyp2f1(r + xs, b + xs, a + b + xs - 1.0, ts / horizon)
    log_decay = (r + xs) * (np.log(alpha + big_t) - np.log(horizon))
    bracket = _one_minus(log_decay, hyper)
    return (a + b + xs - 1.0) / (a - 1.0) * bracket * p_alive(params, xs, tx, big_t)


def expected_purchases_unconditional(params: BgNbdParams, t: ArrayLike) -> Array:
    """E[X(t)] for a customer just acquired (eq. 9 of FHL 2005):

        E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))].

    0 at t = 0 and increasing in t. Undefined at a = 1 exactly.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ts = np.asarray(t, dtype="float64")
    hyper = special.hyp2f1(r, b, a + b - 1.0, ts / (alpha + ts))
    log_decay = r * (np.log(alpha) - np.log(alpha + ts))
    return (a + b - 1.0) / (a - 1.0) * _one_minus(log_decay, hyper)
