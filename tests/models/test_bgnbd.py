"""BG/NBD: published CDNOW fit, hand-checked formulas, gradient, deduplication, invariants."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from retention.models.bgnbd import (
    BgNbdFit,
    BgNbdParams,
    _ll_terms,
    bgnbd_log_likelihood,
    bgnbd_log_likelihood_per_customer,
    deduplicate,
    expected_purchases,
    expected_purchases_unconditional,
    fit_bgnbd,
    p_alive,
)
from retention.models.rfm_summary import read_cdnow, summary_from_transactions

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL 2005, Table/§5


def cdnow_summary(unit: str = "week") -> pd.DataFrame:
    orders = read_cdnow(CDNOW)
    return summary_from_transactions(
        orders["customer_id"], orders["ordered_at"], orders["revenue"], "1997-09-30", unit=unit
    )


def fit_of(summary: pd.DataFrame) -> BgNbdFit:
    return fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    return cdnow_summary("week")


@pytest.fixture(scope="module")
def cdnow_fit(weekly: pd.DataFrame) -> BgNbdFit:
    return fit_of(weekly)


# --- the published CDNOW numbers ----------------------------------------------------------


def test_cdnow_parameters_match_published(cdnow_fit: BgNbdFit) -> None:
    # Published to 3 decimals: allow the rounding (5e-4) plus 1e-3.
    assert cdnow_fit.converged, cdnow_fit.message
    for name in ("r", "alpha", "a", "b"):
        fitted, published = getattr(cdnow_fit.params, name), getattr(PUBLISHED, name)
        assert abs(fitted - published) <= 1e-3 + 5e-4, name
        assert round(fitted, 3) == published, name  # in fact it rounds to the same digits
    assert cdnow_fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert cdnow_fit.n_customers == 2357


def test_cdnow_conditional_expectation(cdnow_fit: BgNbdFit) -> None:
    # FHL 2005 §5: a customer with x = 2, t_x = 30.43, T = 38.86 buys 1.226 times in 39 weeks.
    value = expected_purchases(cdnow_fit.params, 39.0, 2, 30.43, 38.86)
    assert float(value) == pytest.approx(1.226, abs=1e-3)


def test_cdnow_covariance_is_a_covariance(cdnow_fit: BgNbdFit) -> None:
    cov = cdnow_fit.covariance
    assert cov.shape == (4, 4)
    np.testing.assert_allclose(cov, cov.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    np.testing.assert_allclose(cov @ cdnow_fit.hessian, np.eye(4), atol=1e-8)


def test_day_unit_rescales_alpha_only(weekly: pd.DataFrame, cdnow_fit: BgNbdFit) -> None:
    daily = cdnow_summary("day")
    day_fit = fit_of(daily)
    assert day_fit.params.alpha == pytest.approx(7 * cdnow_fit.params.alpha, rel=1e-6)
    for name in ("r", "a", "b"):
        assert getattr(day_fit.params, name) == pytest.approx(
            getattr(cdnow_fit.params, name), rel=1e-6
        )
    # The density of t_x changes by the Jacobian 7^−x per customer: ℓ_day = ℓ_week − x ln 7.
    shift = weekly["frequency"].sum() * math.log(7)
    assert day_fit.log_likelihood == pytest.approx(cdnow_fit.log_likelihood - shift, abs=1e-6)


def test_fit_ignores_row_order(weekly: pd.DataFrame, cdnow_fit: BgNbdFit) -> None:
    shuffled = weekly.sample(frac=1.0, random_state=7)
    again = fit_of(shuffled)
    np.testing.assert_allclose(again.params.as_array(), cdnow_fit.params.as_array(), rtol=1e-9)
    assert again.log_likelihood == pytest.approx(cdnow_fit.log_likelihood, abs=1e-9)


def test_weights_equal_repeated_rows(weekly: pd.DataFrame) -> None:
    half = weekly.iloc[::2]
    doubled = pd.concat([half, half])
    weighted = fit_bgnbd(
        half["frequency"], half["recency"], half["T"], weights=np.full(len(half), 2)
    )
    plain = fit_of(doubled)
    np.testing.assert_allclose(weighted.params.as_array(), plain.params.as_array(), rtol=1e-9)
    assert weighted.n_customers == plain.n_customers == len(doubled)


# --- likelihood: by hand, gradient, deduplication ----------------------------------------


def brute_force_ll(params: BgNbdParams, x: int, t_x: float, big_t: float) -> float:
    """Eq. 6 of FHL 2005 typed out term by term, with plain Γ and B functions."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    beta = special.beta
    a1 = math.gamma(r + x) * alpha**r / math.gamma(r)
    first = beta(a, b + x) / beta(a, b) / (alpha + big_t) ** (r + x)
    second = beta(a + 1, b + x - 1) / beta(a, b) / (alpha + t_x) ** (r + x) if x > 0 else 0.0
    return math.log(a1 * (first + second))


@pytest.mark.parametrize(("x", "t_x", "big_t"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 1.5, 3)])
def test_log_likelihood_by_hand(x: int, t_x: float, big_t: float) -> None:
    got = bgnbd_log_likelihood_per_customer(PUBLISHED, [x], [t_x], [big_t])[0]
    assert got == pytest.approx(brute_force_ll(PUBLISHED, x, t_x, big_t), rel=1e-12)


def test_likelihood_is_a_probability_mass_and_density() -> None:
    # x = 0 is a probability: P(X(T) = 0) = (α/(α+T))^r (eq. 8 of FHL 2005 at x = 0); x = 1
    # is a density over t_x in (0, T]; together they hold less than all the mass.
    p = PUBLISHED
    got = math.exp(bgnbd_log_likelihood_per_customer(p, [0], [0.0], [10.0])[0])
    assert got == pytest.approx((p.alpha / (p.alpha + 10.0)) ** p.r, rel=1e-12)
    mass_1, _ = integrate.quad(
        lambda t: math.exp(bgnbd_log_likelihood_per_customer(p, [1], [t], [10.0])[0]), 0, 10
    )
    assert 0 < got + mass_1 < 1


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 12, 200).astype(float)
    big_t = rng.uniform(1, 50, 200)
    t_x = np.where(x > 0, rng.uniform(0.01, 1, 200) * big_t, 0.0)
    theta = np.log([0.5, 3.0, 1.3, 2.2])
    _, grad = _ll_terms(theta, x, t_x, big_t)
    eps = 1e-6
    for i in range(4):
        e = np.zeros(4)
        e[i] = eps
        numeric = (
            _ll_terms(theta + e, x, t_x, big_t)[0] - _ll_terms(theta - e, x, t_x, big_t)[0]
        ) / (2 * eps)
        np.testing.assert_allclose(grad[i], numeric, rtol=1e-6, atol=1e-7)


rows = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 30), st.integers(0, 30)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_deduplicated_likelihood_equals_the_plain_sum(triples: list[tuple[int, int, int]]) -> None:
    # Days as weeks (d/7): many exact repeats, and values that are not exact in binary.
    x = np.array([t[0] for t in triples], dtype=float)
    t_x_days = np.array([t[1] for t in triples], dtype=float)
    big_t_days = t_x_days + np.array([t[2] for t in triples], dtype=float)
    t_x_days = np.where(x > 0, np.maximum(t_x_days, 1.0), 0.0)
    big_t_days = np.maximum(big_t_days, t_x_days)
    t_x, big_t = t_x_days / 7, big_t_days / 7
    plain = bgnbd_log_likelihood_per_customer(PUBLISHED, x, t_x, big_t).sum()
    deduped = bgnbd_log_likelihood(PUBLISHED, x, t_x, big_t)
    assert deduped == pytest.approx(plain, rel=1e-12, abs=1e-9)
    ux, ut_x, ubig_t, w = deduplicate(x, t_x, big_t)
    assert w.sum() == len(x)
    assert len(set(zip(x, t_x, big_t, strict=True))) == len(ux)


def test_deduplicate_wide_spans_fall_back_to_ranks() -> None:
    # Spans too wide to multiply into one int64 (x up to 1e6, times up to 1e6 units).
    x = np.array([0, 10**6, 10**6, 3])
    t_x = np.array([0.0, 9e5, 9e5, 2.5])
    big_t = np.array([1e6, 1e6, 1e6, 1e6])
    ux, _, _, w = deduplicate(x, t_x, big_t)
    assert len(ux) == 3
    assert sorted(w) == [1, 1, 2]


def test_invalid_input_lists_the_problems() -> None:
    with pytest.raises(ValueError, match=r"1 row\(s\): frequency is not a whole number"):
        fit_bgnbd([1.5], [1.0], [2.0])
    with pytest.raises(ValueError, match="T is not finite or less than recency"):
        fit_bgnbd([1, 2], [3.0, 1.0], [2.0, 2.0])
    with pytest.raises(ValueError, match="recency is 0 while frequency > 0"):
        fit_bgnbd([1], [0.0], [2.0])
    with pytest.raises(ValueError, match="same length"):
        fit_bgnbd([1], [1.0, 2.0], [2.0])


# --- predictions ---------------------------------------------------------------------------


def test_p_alive_hand_made() -> None:
    p = PUBLISHED
    assert p_alive(p, 0, 0.0, 38.86) == 1.0
    # x = 2, t_x = 30.43, T = 38.86: 1 / (1 + a/(b+1) · ((α+T)/(α+t_x))^(r+2)).
    odds = p.a / (p.b + 1) * ((p.alpha + 38.86) / (p.alpha + 30.43)) ** (p.r + 2)
    assert p_alive(p, 2, 30.43, 38.86) == pytest.approx(1 / (1 + odds), rel=1e-12)
    assert p_alive(p, 5, 10.0, 10.0) == pytest.approx(1 / (1 + p.a / (p.b + 4)), rel=1e-12)
    # Long silence after many purchases: nearly surely gone, and no overflow.
    assert p_alive(p, 500, 1.0, 1000.0) == pytest.approx(0.0, abs=1e-300)
    alive = p_alive(p, np.array([3, 3, 3]), np.array([5.0, 20.0, 30.0]), 30.0)
    assert np.all(np.diff(alive) > 0)  # a more recent last purchase → more likely alive


def test_expected_purchases_limits() -> None:
    p = PUBLISHED
    assert expected_purchases(p, 0.0, 2, 30.43, 38.86) == pytest.approx(0.0, abs=1e-15)
    ts = np.array([1.0, 10.0, 39.0, 100.0])
    values = expected_purchases(p, ts, 2, 30.43, 38.86)
    assert np.all(np.diff(values) > 0)
    # Small t: E ≈ t · E[λ | alive, data] · P(alive) = t · (r+x)/(α+T) · P(alive).
    t = 1e-6
    approx = t * (p.r + 2) / (p.alpha + 38.86) * p_alive(p, 2, 30.43, 38.86)
    assert expected_purchases(p, t, 2, 30.43, 38.86) == pytest.approx(approx, rel=1e-4)


def test_unconditional_expectation() -> None:
    p = PUBLISHED
    assert expected_purchases_unconditional(p, 0.0) == 0.0
    ts = np.linspace(0.5, 200, 50)
    values = expected_purchases_unconditional(p, ts)
    assert np.all(np.diff(values) > 0)
    # Small t: a new customer buys at rate E[λ] = r/α.
    assert expected_purchases_unconditional(p, 1e-6) == pytest.approx(1e-6 * p.r / p.alpha, 1e-4)
    # A brand-new customer (x = 0, T = 0) is the unconditional case.
    assert expected_purchases(p, 39.0, 0, 0.0, 0.0) == pytest.approx(
        expected_purchases_unconditional(p, 39.0), rel=1e-12
    )


# --- recovery on simulated customers ---------------------------------------------------


def simulate(params: BgNbdParams, n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Draw (x, t_x, T) in weeks from the BG/NBD process; first purchases spread over 52 weeks.

    x = min(N(T), J) with N(T) ~ Poisson(λT) and J ~ Geometric(p) (dropout after the J-th
    repeat purchase); given N(T) = n the purchase times are uniform order statistics, so the
    x-th is T · Beta(x, n − x + 1).
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    drop = rng.beta(params.a, params.b, n)
    big_t = rng.integers(1, 365, n) / 7
    purchases = rng.poisson(lam * big_t)
    x = np.minimum(purchases, rng.geometric(drop))
    t_x = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), purchases - x + 1), 0.0)
    return x, t_x, big_t


def test_recovers_simulated_parameters() -> None:
    truth = BgNbdParams(r=0.5, alpha=5.0, a=0.8, b=2.5)
    x, t_x, big_t = simulate(truth, 40_000, seed=11)
    fit = fit_bgnbd(x, t_x, big_t)
    assert fit.converged, fit.message
    estimate, se = np.log(fit.params.as_array()), np.sqrt(np.diag(fit.covariance))
    z = (estimate - np.log(truth.as_array())) / se
    assert np.all(np.abs(z) < 4), z
