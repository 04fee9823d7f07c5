"""Gamma-Gamma spend model: published CDNOW fit, hand-checked formulas, gradient, invariants."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from retention.models.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    _ll_terms,
    expected_spend,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)
from retention.models.rfm_summary import read_cdnow, summary_from_transactions

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
PUBLISHED = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)  # Fader & Hardie (2013)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    orders = read_cdnow(CDNOW)
    return summary_from_transactions(
        orders["customer_id"], orders["ordered_at"], orders["revenue"], "1997-09-30"
    )


@pytest.fixture(scope="module")
def cdnow_fit(summary: pd.DataFrame) -> GammaGammaFit:
    return fit_gamma_gamma(summary["frequency"], summary["monetary_value"])


def test_cdnow_parameters_match_published(cdnow_fit: GammaGammaFit) -> None:
    # Published to 2 decimals: agree within the rounding (0.005) plus 0.005, i.e. 1e-2; in
    # fact each rounds to the published digits.
    assert cdnow_fit.converged, cdnow_fit.message
    assert cdnow_fit.n_customers == 946  # "the 946 customers with x > 0"
    for name in ("p", "q", "gamma"):
        fitted, published = getattr(cdnow_fit.params, name), getattr(PUBLISHED, name)
        assert abs(fitted - published) <= 1e-2, name
        assert round(fitted, 2) == published, name
    cov = cdnow_fit.covariance
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_x_zero_rows_are_ignored(summary: pd.DataFrame, cdnow_fit: GammaGammaFit) -> None:
    repeat = summary[summary["frequency"] > 0]
    only = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])
    np.testing.assert_allclose(only.params.as_array(), cdnow_fit.params.as_array(), rtol=1e-9)


def test_fit_ignores_row_order(summary: pd.DataFrame, cdnow_fit: GammaGammaFit) -> None:
    shuffled = summary.sample(frac=1.0, random_state=5)
    again = fit_gamma_gamma(shuffled["frequency"], shuffled["monetary_value"])
    np.testing.assert_allclose(again.params.as_array(), cdnow_fit.params.as_array(), rtol=1e-9)


def brute_force_ll(params: GammaGammaParams, x: int, zbar: float) -> float:
    """Fader & Hardie (2013), eq. 3: the density of z̄ given x, typed out with plain Γ."""
    p, q, g = params.p, params.q, params.gamma
    value = (
        math.gamma(p * x + q)
        / (math.gamma(p * x) * math.gamma(q))
        * g**q
        * zbar ** (p * x - 1)
        * x ** (p * x)
        / (g + x * zbar) ** (p * x + q)
    )
    return math.log(value)


@pytest.mark.parametrize(("x", "zbar"), [(1, 10.0), (2, 22.345), (5, 3.5)])
def test_log_likelihood_by_hand(x: int, zbar: float) -> None:
    got = gamma_gamma_log_likelihood(PUBLISHED, [x], [zbar])
    assert got == pytest.approx(brute_force_ll(PUBLISHED, x, zbar), rel=1e-12)


def test_density_integrates_to_one() -> None:
    for x in (1, 3):
        mass, _ = integrate.quad(
            lambda z, x=x: math.exp(gamma_gamma_log_likelihood(PUBLISHED, [x], [z])), 0, np.inf
        )
        assert mass == pytest.approx(1.0, abs=1e-7)


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 15, 300).astype(float)
    zbar = rng.gamma(2.0, 10.0, 300)
    theta = np.log([4.0, 3.0, 12.0])
    _, grad = _ll_terms(theta, x, zbar)
    eps = 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = eps
        numeric = (_ll_terms(theta + e, x, zbar)[0] - _ll_terms(theta - e, x, zbar)[0]) / (2 * eps)
        np.testing.assert_allclose(grad[i], numeric, rtol=1e-6, atol=1e-7)


def test_expected_spend_hand_made() -> None:
    p, q, g = PUBLISHED.p, PUBLISHED.q, PUBLISHED.gamma
    population = p * g / (q - 1)
    # x = 0: no own history, the population mean.
    assert expected_spend(PUBLISHED, 0, 0.0) == pytest.approx(population, rel=1e-12)
    # The weighted mean of the note, written out.
    x, zbar = 2, 22.345
    weight = p * x / (p * x + q - 1)
    want = (1 - weight) * population + weight * zbar
    assert expected_spend(PUBLISHED, x, zbar) == pytest.approx(want, rel=1e-12)
    # Shrinks toward z̄ as x grows; equals z̄ when z̄ is the population mean.
    many = expected_spend(PUBLISHED, np.array([1, 10, 100, 10_000]), 50.0)
    assert np.all(np.diff(np.abs(many - 50.0)) < 0)
    assert expected_spend(PUBLISHED, 7, population) == pytest.approx(population, rel=1e-12)


def test_expected_spend_matches_posterior_mean_by_integration() -> None:
    # E[Z | x, z̄] = p · E[1/ν | x, z̄] with ν | data ~ Gamma(px + q, γ + x z̄).
    p, q, g = PUBLISHED.p, PUBLISHED.q, PUBLISHED.gamma
    x, zbar = 3, 17.0
    shape, rate = p * x + q, g + x * zbar
    mean_inverse, _ = integrate.quad(
        lambda v: (
            (1 / v)
            * math.exp(shape * math.log(rate) - special.gammaln(shape))
            * v ** (shape - 1)
            * math.exp(-rate * v)
        ),
        0,
        np.inf,
    )
    assert expected_spend(PUBLISHED, x, zbar) == pytest.approx(p * mean_inverse, rel=1e-8)


def test_non_positive_spend_is_refused_with_a_count() -> None:
    with pytest.raises(ValueError, match=r"2 of 3 customer\(s\) with frequency > 0"):
        fit_gamma_gamma([1, 2, 3, 0], [0.0, -1.0, 5.0, 0.0])
    with pytest.raises(ValueError, match="no customers with frequency > 0"):
        fit_gamma_gamma([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        fit_gamma_gamma([1, 2], [3.0])


def test_recovers_simulated_parameters() -> None:
    truth = GammaGammaParams(p=5.0, q=4.0, gamma=20.0)
    rng = np.random.default_rng(8)
    n = 20_000
    x = rng.integers(1, 10, n)
    nu = rng.gamma(truth.q, 1 / truth.gamma, n)
    # The mean of x Gamma(p, ν) values is Gamma(p x, x ν).
    zbar = rng.gamma(truth.p * x, 1 / (x * nu))
    fit = fit_gamma_gamma(x, zbar)
    z = (np.log(fit.params.as_array()) - np.log(truth.as_array())) / np.sqrt(
        np.diag(fit.covariance)
    )
    assert np.all(np.abs(z) < 4), z


def test_identical_rows_collapse_into_weights(
    summary: pd.DataFrame, cdnow_fit: GammaGammaFit
) -> None:
    # Every customer twice: the same parameters, twice the log-likelihood and customers.
    doubled = pd.concat([summary, summary], ignore_index=True)
    fit = fit_gamma_gamma(doubled["frequency"], doubled["monetary_value"])
    assert fit.n_customers == 2 * cdnow_fit.n_customers == 2 * 946
    assert fit.log_likelihood == pytest.approx(2 * cdnow_fit.log_likelihood, rel=1e-9)
    for name in ("p", "q", "gamma"):
        assert getattr(fit.params, name) == pytest.approx(getattr(cdnow_fit.params, name), rel=1e-6)
