"""Gamma-Gamma model of spend per transaction (Colombo & Jiang 1999; Fader & Hardie 2013).

A customer's transaction values are z_j ~ Gamma(p, ν) (shape p, rate ν), with ν ~ Gamma(q, γ)
across customers, independent of the purchase process. It is fitted on customers with x > 0
repeat transactions from their mean repeat spend z̄ = Σ z_j / x, whose marginal density gives
the log-likelihood of one customer

    ℓ = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln z̄ + px ln x − (px+q) ln(γ + x z̄).

Parameters are optimised on the log scale (L-BFGS-B, analytic gradient, then Newton polish
on a numerical Hessian; see ``retention.models.bgnbd``), with the likelihood summed in chunks.

Zero spend: the model needs z̄ > 0. On CDNOW every one of the 946 customers with x > 0 has a
positive mean repeat spend (the eight $0 rows are first purchases or are absorbed in a day's
sum), so the published fit is reproduced with no special handling; a customer with x > 0 and
z̄ ≤ 0 is an error here, never silently dropped. Customers with x = 0 carry no information
on spend and are left out of the fit (their ``monetary_value`` is ignored).

References
----------
Colombo, R. & Jiang, W. (1999). "A stochastic RFM model". Journal of Interactive Marketing
13(3), 2-12.
Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value".
http://www.brucehardie.com/notes/025/
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis". Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from retention.models.bgnbd import _minimise, distinct_x, weighted_sum_in_chunks

__all__ = [
    "fittable_spend",
    "GammaGammaFit",
    "GammaGammaParams",
    "expected_spend",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class GammaGammaParams:
    """Spend per transaction ~ Gamma(p, ν), ν ~ Gamma(q, gamma).

    ``gamma`` is in currency units; the population mean spend is p·gamma/(q−1) when q > 1.
    """

    p: float
    q: float
    gamma: float

    def as_array(self) -> Array:
        return np.array([self.p, self.q, self.gamma], dtype="float64")


@dataclass(frozen=True)
class GammaGammaFit:
    """A maximum-likelihood fit on the customers with x > 0.

    ``hessian``/``covariance`` are for the log-parameters (ln p, ln q, ln gamma), as in
    ``BgNbdFit``.
    """

    params: GammaGammaParams
    log_likelihood: float
    n_customers: float
    converged: bool
    iterations: int
    hessian: Array
    covariance: Array
    message: str


def _repeat_customers(
    frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None
) -> tuple[Array, Array, Array]:
    """(x, z̄, w) of the rows with x > 0 and weight > 0; raises on invalid input."""
    x = np.asarray(frequency, dtype="float64").ravel()
    mean_spend = np.asarray(monetary_value, dtype="float64").ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype="float64").ravel()
    if not len(x) == len(mean_spend) == len(w):
        raise ValueError(
            "frequency, monetary_value and weights must have the same length, got "
            f"{len(x)}, {len(mean_spend)} and {len(w)}"
        )
    if not ((x >= 0) & (x == np.round(x))).all():
        raise ValueError("frequency must be whole numbers ≥ 0")
    if not (np.isfinite(w) & (w >= 0)).all():
        raise ValueError("weights must be finite and ≥ 0")
    keep = (x > 0) & (w > 0)
    x, mean_spend, w = x[keep], mean_spend[keep], w[keep]
    bad = ~(np.isfinite(mean_spend) & (mean_spend > 0))
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {len(x)} customer(s) with frequency > 0 have a mean repeat "
            "spend that is not positive (or not finite); the Gamma-Gamma model needs spend > 0. "
            "Drop or correct them before fitting."
        )
    return x, mean_spend, w


def _ll_terms(
    theta: Array,
    x: Array,
    mean_spend: Array,
    by_x: tuple[Array, NDArray[np.intp]] | None = None,
) -> tuple[Array, Array]:
    """Per-customer log-likelihood and its gradient in (ln p, ln q, ln gamma), shape (3, n).

    The lnΓ and ψ terms depend on x alone and are evaluated once per distinct x
    (``by_x = distinct_x(x)``, computed here when not given); the result is the same bit for
    bit.
    """
    values, codes = distinct_x(x) if by_x is None else by_x
    p, q, gamma = np.exp(theta)
    # Terms in x alone, one entry per distinct x.
    px_v = p * values
    shape_v = px_v + q
    log_x_v = np.log(values)
    gammaln_v = special.gammaln(shape_v) - special.gammaln(px_v) - special.gammaln(q)
    psi_shape_v = special.digamma(shape_v)
    psi_diff_v = psi_shape_v - special.digamma(px_v)
    psi_q_v = psi_shape_v - special.digamma(q) + np.log(gamma)
    # Per customer.
    px = px_v[codes]
    shape = shape_v[codes]
    log_x = log_x_v[codes]
    log_total = np.log(gamma + x * mean_spend)
    log_spend = np.log(mean_spend)
    ll = (
        gammaln_v[codes]
        + q * np.log(gamma)
        + (px - 1.0) * log_spend
        + px * log_x
        - shape * log_total
    )
    d_p = x * (psi_diff_v[codes] + log_spend + log_x - log_total)
    d_q = psi_q_v[codes] - log_total
    d_gamma = q / gamma - shape / (gamma + x * mean_spend)
    return ll, np.stack([d_p * p, d_q * q, d_gamma * gamma])


def gamma_gamma_log_likelihood(
    params: GammaGammaParams,
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    weights: ArrayLike | None = None,
) -> float:
    """Σ w_i ℓ_i over the customers with x > 0 (others contribute nothing)."""
    x, mean_spend, w = _repeat_customers(frequency, monetary_value, weights)
    theta = np.log(params.as_array())
    return weighted_sum_in_chunks(_ll_terms, theta, (x, mean_spend), w, distinct_x(x))[0]


def _collapse(x: Array, mean_spend: Array, w: Array) -> tuple[Array, Array, Array]:
    """Rows with the same (x, z̄) become one row with their summed weight: the likelihood is
    Σ w_i ℓ_i, so this changes nothing but the work (on a 1M-customer sample shop 365k repeat
    customers collapse to 212k rows)."""
    if len(x) == 0:
        return x, mean_spend, w
    order = np.lexsort((mean_spend, x))
    xs, zs = x[order], mean_spend[order]
    new = np.empty(len(xs), dtype=bool)
    new[0] = True
    new[1:] = (xs[1:] != xs[:-1]) | (zs[1:] != zs[:-1])
    group = np.cumsum(new) - 1
    return xs[new], zs[new], np.bincount(group, weights=w[order])


def _start(mean_spend: Array, w: Array) -> Array:
    """Method-of-moments-ish start: p = 1, q = 2, gamma = weighted mean spend (so p·γ/(q−1)
    equals the observed mean)."""
    return np.log([1.0, 2.0, float(np.average(mean_spend, weights=w))])


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model by maximum likelihood.

    ``frequency`` x and ``monetary_value`` z̄ (mean spend over the x repeat transactions) are
    equally long 1-D arrays, one entry per customer (or per group, with ``weights``). Rows
    with x = 0 are ignored; a row with x > 0 and z̄ ≤ 0 raises ``ValueError``.
    """
    x, mean_spend, w = _collapse(*_repeat_customers(frequency, monetary_value, weights))
    n_customers = float(w.sum())
    if n_customers <= 0:
        raise ValueError("no customers with frequency > 0 to fit the spend model on")

    by_x = distinct_x(x)

    def objective(theta: Array) -> tuple[float, Array]:
        ll, grad = weighted_sum_in_chunks(_ll_terms, theta, (x, mean_spend), w, by_x)
        return -ll, -grad

    theta, value, hessian, covariance, converged, iterations, message = _minimise(
        objective, _start(mean_spend, w), scale=n_customers
    )
    return GammaGammaFit(
        params=GammaGammaParams(*(float(v) for v in np.exp(theta))),
        log_likelihood=-value,
        n_customers=n_customers,
        converged=converged,
        iterations=iterations,
        hessian=hessian,
        covariance=covariance,
        message=message,
    )


def expected_spend(params: GammaGammaParams, x: ArrayLike, mean_spend: ArrayLike) -> Array:
    """E[Z | x, z̄]: expected value of a future transaction (Fader & Hardie 2013, eq. 5):

        E = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · z̄ = (pγ + px·z̄) / (px+q−1),

    a weighted mean of the population mean pγ/(q−1) and the customer's own z̄. For x = 0 it is
    the population mean pγ/(q−1) (needs q > 1). Arrays broadcast.
    """
    p, q, gamma = params.p, params.q, params.gamma
    xs = np.asarray(x, dtype="float64")
    zbar = np.where(xs > 0, np.asarray(mean_spend, dtype="float64"), 0.0)
    return (p * gamma + p * xs * zbar) / (p * xs + q - 1.0)


def fittable_spend(
    frequency: ArrayLike, monetary_value: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Inputs for the fit when some repeat buyers have z̄ ≤ 0 (every repeat order refunded).

    Returns (x for the fit, z̄ clipped at 0, how many were left out): those customers get
    x = 0 for the fit only, so they carry no weight in it, and are counted so the caller can
    say so. Predictions use the clipped z̄ with the real x, which pulls their expected spend
    towards 0 (see ``expected_spend``).
    """
    x = np.asarray(frequency, dtype="float64").ravel()
    spend = np.asarray(monetary_value, dtype="float64").ravel()
    left_out = (x > 0) & ~(spend > 0)
    return (
        np.where(left_out, 0.0, x),
        np.maximum(np.nan_to_num(spend, nan=0.0), 0.0),
        int(left_out.sum()),
    )
