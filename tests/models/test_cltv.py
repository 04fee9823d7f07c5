"""CLTV: hand-checked discounting, agreement with the BG/NBD and Gamma-Gamma formulas,
intervals from parameter draws, units, chunking, invariants and input checks."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from retention.models import cltv
from retention.models.bgnbd import BgNbdFit, BgNbdParams, expected_purchases, fit_bgnbd, p_alive
from retention.models.cltv import (
    CUSTOMER_COLUMNS,
    GROUP_COLUMNS,
    TOTAL_FIELDS,
    CltvSettings,
    CustomerPredictions,
    discount_factors,
    predict_customers,
    predict_customers_and_groups,
    predict_group_totals,
)
from retention.models.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    expected_spend,
    fit_gamma_gamma,
)
from retention.models.rfm_summary import read_cdnow, summary_from_transactions

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
BG = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL 2005, CDNOW, weeks
GG = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)  # Fader & Hardie 2013, CDNOW
WEEK = 7.0


def hand_fits(
    bg: BgNbdParams = BG,
    gg: GammaGammaParams = GG,
    bg_cov: np.ndarray | None = None,
    gg_cov: np.ndarray | None = None,
) -> tuple[BgNbdFit, GammaGammaFit]:
    """Fits with given parameters; zero covariance (no parameter uncertainty) by default."""
    bg_fit = BgNbdFit(
        params=bg,
        log_likelihood=0.0,
        n_customers=0.0,
        n_unique_rows=0,
        converged=True,
        iterations=0,
        hessian=np.full((4, 4), np.nan),
        covariance=np.zeros((4, 4)) if bg_cov is None else bg_cov,
        message="hand-made",
    )
    gg_fit = GammaGammaFit(
        params=gg,
        log_likelihood=0.0,
        n_customers=0.0,
        converged=True,
        iterations=0,
        hessian=np.full((3, 3), np.nan),
        covariance=np.zeros((3, 3)) if gg_cov is None else gg_cov,
        message="hand-made",
    )
    return bg_fit, gg_fit


# A few customers in weeks: new (x = 0), CDNOW customer 1 (x = 2), a frequent recent buyer,
# and a frequent buyer who went quiet.
X = np.array([0, 2, 10, 10])
T_X = np.array([0.0, 30.43, 38.0, 5.0])
BIG_T = np.array([10.0, 38.86, 38.86, 38.86])
SPEND = np.array([0.0, 40.0, 25.0, 25.0])


def predict(
    settings_: CltvSettings, fits: tuple[BgNbdFit, GammaGammaFit] | None = None
) -> CustomerPredictions:
    """Predictions for the four hand-made customers (zero covariance by default)."""
    bg_fit, gg_fit = hand_fits() if fits is None else fits
    return predict_customers(bg_fit, gg_fit, X, T_X, BIG_T, SPEND, settings_)


def cdnow_summary(unit: str) -> pd.DataFrame:
    orders = read_cdnow(CDNOW)
    return summary_from_transactions(
        orders["customer_id"], orders["ordered_at"], orders["revenue"], "1997-09-30", unit=unit
    )


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    return cdnow_summary("week")


@pytest.fixture(scope="module")
def fits(weekly: pd.DataFrame) -> tuple[BgNbdFit, GammaGammaFit]:
    bg_fit = fit_bgnbd(weekly["frequency"], weekly["recency"], weekly["T"])
    gg_fit = fit_gamma_gamma(weekly["frequency"], weekly["monetary_value"])
    assert bg_fit.converged and gg_fit.converged
    return bg_fit, gg_fit


def predict_cdnow(
    summary: pd.DataFrame, fitted: tuple[BgNbdFit, GammaGammaFit], settings_: CltvSettings
) -> CustomerPredictions:
    return predict_customers(
        *fitted,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        settings_,
    )


# --- discounting by hand ------------------------------------------------------------------


def test_discount_factors_by_hand() -> None:
    # A month is 365.25/12 = 30.4375 days. 365 days = 11.99 months → 12 months, the last
    # ending at day 365 (not 365.25); factors 1.1^(−m/12), the 12th exactly 1/1.1.
    ends, factors = discount_factors(365, 0.10)
    assert len(ends) == 12
    np.testing.assert_allclose(ends[:3], [30.4375, 60.875, 91.3125], rtol=0, atol=0)
    assert ends[-1] == 365.0
    np.testing.assert_allclose(factors, 1.1 ** (-np.arange(1, 13) / 12), rtol=1e-15)
    assert factors[-1] == pytest.approx(1 / 1.1, rel=1e-15)
    # 30 days is one (partial) month: one factor, (1+d)^(−1/12).
    ends, factors = discount_factors(30, 0.10)
    assert ends.tolist() == [30.0]
    assert factors[0] == pytest.approx(0.992088943, rel=1e-9)  # 1.1^(−1/12)
    # 61 days: two whole months and one day of a third.
    ends, _ = discount_factors(61, 0.0)
    assert ends.tolist() == [30.4375, 60.875, 61.0]
    # 487 days = 16 × 30.4375 exactly: 16 months, no empty 17th.
    ends, factors = discount_factors(487, 0.0)
    assert len(ends) == 16 and ends[-1] == 487.0
    assert np.all(factors == 1.0)


def test_undiscounted_cltv_is_orders_times_spend() -> None:
    # d = 0, margin = 1: CLTV = E[Y(h)] · E[Z] (FHL 2005 eq. 10 × Fader & Hardie 2013 eq. 5).
    result = predict(CltvSettings(horizon_days=365, unit="week", annual_discount_rate=0.0))
    orders = expected_purchases(BG, 365 / WEEK, X, T_X, BIG_T)
    spend = expected_spend(GG, X, SPEND)
    frame = result.customers
    np.testing.assert_allclose(frame["expected_orders"], orders, rtol=1e-10)
    np.testing.assert_allclose(frame["expected_spend"], spend, rtol=1e-13)
    np.testing.assert_allclose(frame["predicted_cltv"], orders * spend, rtol=1e-10)
    np.testing.assert_allclose(frame["p_alive"], p_alive(BG, X, T_X, BIG_T), rtol=1e-14)
    # By hand: a new customer's spend is the population mean pγ/(q−1) = 6.25·15.44/2.74.
    assert frame["expected_spend"][0] == pytest.approx(35.218978102, rel=1e-9)
    # Customer 2: (pγ + p·x·z̄)/(p·x + q − 1) = (96.5 + 500)/(12.5 + 2.74) = 596.5/15.24.
    assert frame["expected_spend"][1] == pytest.approx(39.140419948, rel=1e-9)
    assert list(frame.columns) == list(CUSTOMER_COLUMNS)


def test_published_conditional_expectation() -> None:
    # FHL 2005 §5: x = 2, t_x = 30.43, T = 38.86 buys 1.226 times in the next 39 weeks.
    result = predict(CltvSettings(horizon_days=273, unit="week"))
    assert result.customers["expected_orders"][1] == pytest.approx(1.226, abs=1e-3)


def test_one_month_is_discounted_by_one_twelfth_of_a_year() -> None:
    # 30 days = one month: CLTV = E[Y(30 days)] · E[Z] · (1+d)^(−1/12) exactly.
    d = 0.25
    result = predict(CltvSettings(horizon_days=30, annual_discount_rate=d))
    orders = expected_purchases(BG, 30 / WEEK, X, T_X, BIG_T)
    spend = expected_spend(GG, X, SPEND)
    np.testing.assert_allclose(
        result.customers["predicted_cltv"], orders * spend * 1.25 ** (-1 / 12), rtol=1e-10
    )


def test_two_months_by_hand() -> None:
    # Customer 2 (x = 2, t_x = 30.43, T = 38.86 weeks, z̄ = 40), horizon 60 days, d = 20 %,
    # margin 0.5. Month 1 ends at 30.4375 days, month 2 at 60 (partial):
    #   E1 = E[Y(30.4375/7)] = 0.159859559..., E2 = E[Y(60/7)] = 0.308207733...
    #   f1 = 1.2^(−1/12) = 0.984921375..., f2 = 1.2^(−2/12) = 0.970070115...
    #   spend = 596.5/15.24 = 39.140419947...
    #   CLTV = 0.5 · spend · (E1·f1 + (E2 − E1)·f2) = 5.897624225...
    e1 = float(expected_purchases(BG, 30.4375 / WEEK, 2, 30.43, 38.86))
    e2 = float(expected_purchases(BG, 60 / WEEK, 2, 30.43, 38.86))
    assert e1 == pytest.approx(0.159859559, rel=1e-8)
    assert e2 == pytest.approx(0.308207733, rel=1e-8)
    by_hand = 0.5 * 596.5 / 15.24 * (e1 * 0.9849213752608887 + (e2 - e1) * 0.9700701154458004)
    assert by_hand == pytest.approx(5.897624225, rel=1e-9)
    result = predict(CltvSettings(horizon_days=60, margin=0.5, annual_discount_rate=0.2))
    assert result.customers["predicted_cltv"][1] == pytest.approx(by_hand, rel=1e-10)
    assert result.customers["expected_orders"][1] == pytest.approx(e2, rel=1e-10)


def test_monthly_increments_sum_and_discount() -> None:
    # ΔE_m from the paper's formula at the month ends: they sum to E[Y(h)], and Σ ΔE_m f_m
    # is what the CLTV discounts (the module uses summation by parts instead).
    horizon, d = 400, 0.15
    ends, factors = discount_factors(horizon, d)
    cumulative = np.stack([expected_purchases(BG, e / WEEK, X, T_X, BIG_T) for e in ends])
    increments = np.diff(cumulative, axis=0, prepend=0.0)
    assert np.all(increments > 0)
    result = predict(CltvSettings(horizon_days=horizon, annual_discount_rate=d))
    frame = result.customers
    np.testing.assert_allclose(increments.sum(axis=0), frame["expected_orders"], rtol=1e-10)
    discounted = factors @ increments
    np.testing.assert_allclose(
        discounted * frame["expected_spend"], frame["predicted_cltv"], rtol=1e-10
    )


def test_discounting_lowers_value() -> None:
    plain = predict(CltvSettings(annual_discount_rate=0.0)).customers["predicted_cltv"]
    for rate in (0.05, 0.3, 1.0):
        discounted = predict(CltvSettings(annual_discount_rate=rate)).customers
        assert np.all(discounted["predicted_cltv"] < plain)
        # A year discounted by at most (1+d)^(−1): the value of every month lies in between.
        assert np.all(discounted["predicted_cltv"] > plain / (1 + rate))


def test_margin_scales_value_only() -> None:
    full = predict(CltvSettings()).customers
    third = predict(CltvSettings(margin=0.3)).customers
    np.testing.assert_allclose(third["predicted_cltv"], 0.3 * full["predicted_cltv"], rtol=1e-14)
    np.testing.assert_array_equal(third["expected_orders"], full["expected_orders"])


def test_large_frequency_and_long_horizon_stay_finite() -> None:
    # A daily buyer (x = 300 repeat days in 301 days) over ten years, in days: the paper's
    # ₂F₁(r+x, b+x; a+b+x−1; z) overflows here (bgnbd.expected_purchases is not finite), the
    # Euler-transformed one does not. Check against the integral over the dropout probability:
    # given alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x), and
    # E[Y(t) | alive] = E_p[(1 − (1 + p·t/(α+T))^−(r+x)) / p].
    days = dataclasses.replace(BG, alpha=BG.alpha * WEEK)
    x, t_x, big_t, horizon = 300, 300.0, 301.0, 3653
    r, alpha, a, b = days.r, days.alpha, days.a, days.b
    with np.errstate(all="ignore"):
        assert not np.isfinite(expected_purchases(days, horizon, x, t_x, big_t))

    def integrand(p: float) -> float:
        if p == 0.0:
            return (r + x) * horizon / (alpha + big_t)  # the limit as p → 0
        return -math.expm1(-(r + x) * math.log1p(p * horizon / (alpha + big_t))) / p

    alive_mean, _ = integrate.quad(
        integrand, 0, 1, weight="alg", wvar=(a - 1, b + x - 1), epsabs=0, epsrel=1e-12
    )
    expected = alive_mean / special.beta(a, b + x) * float(p_alive(days, x, t_x, big_t))
    settings_ = CltvSettings(horizon_days=horizon, unit="day", draws=2)
    result = predict_customers(*hand_fits(bg=days), [x], [t_x], [big_t], [30.0], settings_)
    assert result.customers["expected_orders"][0] == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(result.customers.to_numpy()).all()


# --- intervals ----------------------------------------------------------------------------


def test_cdnow_intervals_bracket_the_estimate(
    weekly: pd.DataFrame, fits: tuple[BgNbdFit, GammaGammaFit]
) -> None:
    result = predict_cdnow(weekly, fits, CltvSettings())
    frame = result.customers
    assert len(frame) == len(weekly) and result.warnings == ()
    for name in ("expected_orders", "expected_spend", "predicted_cltv"):
        assert np.all(frame[f"{name}_low"] <= frame[name]), name
        assert np.all(frame[name] <= frame[f"{name}_high"]), name
        assert np.all(frame[f"{name}_low"] < frame[f"{name}_high"]), name
    totals = result.totals
    assert list(totals.index) == list(TOTAL_FIELDS)
    for name in ("expected_orders", "predicted_cltv"):
        assert totals[f"{name}_low"] < totals[name] < totals[f"{name}_high"], name
    # The estimate is the sum of the customers' estimates; draws hold settings.draws sums.
    assert totals["predicted_cltv"] == pytest.approx(frame["predicted_cltv"].sum(), rel=1e-12)
    assert result.total_draws.shape == (200, 2)
    low, high = np.quantile(result.total_draws["predicted_cltv"], [0.1, 0.9])
    # Equal up to rounding: the sums may be added in another order (seen 1 ulp apart).
    assert totals["predicted_cltv_low"] == pytest.approx(low, rel=1e-12)
    assert totals["predicted_cltv_high"] == pytest.approx(high, rel=1e-12)


def test_zero_covariance_gives_empty_intervals() -> None:
    result = predict(CltvSettings(draws=5))
    frame = result.customers
    for name in ("expected_orders", "expected_spend", "predicted_cltv"):
        np.testing.assert_array_equal(frame[f"{name}_low"], frame[name])
        np.testing.assert_array_equal(frame[f"{name}_high"], frame[name])
    totals = result.totals
    assert totals["predicted_cltv_low"] == totals["predicted_cltv"] == totals["predicted_cltv_high"]


def test_seed_fixes_the_draws(weekly: pd.DataFrame, fits: tuple[BgNbdFit, GammaGammaFit]) -> None:
    small = weekly.iloc[:300]
    first = predict_cdnow(small, fits, CltvSettings(draws=50, seed=1))
    again = predict_cdnow(small, fits, CltvSettings(draws=50, seed=1))
    other = predict_cdnow(small, fits, CltvSettings(draws=50, seed=2))
    pd.testing.assert_frame_equal(first.customers, again.customers)
    pd.testing.assert_frame_equal(first.total_draws, again.total_draws)
    assert not np.allclose(
        first.customers["predicted_cltv_low"], other.customers["predicted_cltv_low"]
    )
    # Point estimates do not depend on the draws.
    np.testing.assert_array_equal(
        first.customers["predicted_cltv"], other.customers["predicted_cltv"]
    )


def test_smaller_covariance_gives_narrower_intervals(
    weekly: pd.DataFrame, fits: tuple[BgNbdFit, GammaGammaFit]
) -> None:
    bg_fit, gg_fit = fits
    shrunk = (
        dataclasses.replace(bg_fit, covariance=bg_fit.covariance / 100),
        dataclasses.replace(gg_fit, covariance=gg_fit.covariance / 100),
    )
    small = weekly.iloc[:300]
    wide = predict_cdnow(small, fits, CltvSettings(draws=100)).customers
    narrow = predict_cdnow(small, shrunk, CltvSettings(draws=100)).customers
    for name in ("expected_orders", "expected_spend", "predicted_cltv"):
        wide_width = wide[f"{name}_high"] - wide[f"{name}_low"]
        narrow_width = narrow[f"{name}_high"] - narrow[f"{name}_low"]
        # Standard deviations 10 times smaller: widths about 10 times smaller.
        ratio = narrow_width / wide_width
        assert ratio.between(0.05, 0.2).all(), (name, ratio.describe())


def test_non_finite_covariance_gives_nan_intervals_and_a_warning() -> None:
    nan4, nan3 = np.full((4, 4), np.nan), np.full((3, 3), np.nan)
    spread4, spread3 = np.eye(4) * 0.01, np.eye(3) * 0.01
    no_bg = predict(CltvSettings(draws=20), hand_fits(bg_cov=nan4, gg_cov=spread3))
    frame = no_bg.customers
    assert frame["expected_orders_low"].isna().all() and frame["predicted_cltv_high"].isna().all()
    assert frame["expected_spend_low"].notna().all()
    assert frame["predicted_cltv"].notna().all()  # point estimates are still there
    assert no_bg.totals[["expected_orders_low", "predicted_cltv_high"]].isna().all()
    assert no_bg.totals[["expected_orders", "predicted_cltv"]].notna().all()
    assert no_bg.total_draws.isna().all().all()
    assert len(no_bg.warnings) == 1 and "BG/NBD covariance is not finite" in no_bg.warnings[0]

    no_gg = predict(CltvSettings(draws=20), hand_fits(bg_cov=spread4, gg_cov=nan3))
    frame = no_gg.customers
    assert frame["expected_spend_low"].isna().all() and frame["predicted_cltv_low"].isna().all()
    assert frame["expected_orders_low"].notna().all()
    assert no_gg.totals[["expected_orders_low", "expected_orders_high"]].notna().all()
    assert np.isnan(no_gg.totals["predicted_cltv_low"])
    assert no_gg.total_draws["predicted_cltv"].isna().all()
    assert "Gamma-Gamma covariance is not finite" in no_gg.warnings[0]
    # Group sums say the same.
    by_group = predict_group_totals(
        *hand_fits(bg_cov=spread4, gg_cov=nan3),
        X,
        T_X,
        BIG_T,
        SPEND,
        CltvSettings(draws=20),
        groups=[0, 0, 1, 1],
    )
    assert by_group.groups["predicted_cltv_high"].isna().all()
    assert by_group.groups["expected_orders_high"].notna().all()
    assert np.isnan(by_group.predicted_cltv_draws).all()
    assert np.isfinite(by_group.expected_orders_draws).all()
    assert by_group.warnings == no_gg.warnings


def test_unit_day_and_week_agree(
    weekly: pd.DataFrame, fits: tuple[BgNbdFit, GammaGammaFit]
) -> None:
    # Fitted in days, alpha is 7 times larger and the rest equal (to ~1e-6): same predictions.
    daily = cdnow_summary("day")
    day_fits = (
        fit_bgnbd(daily["frequency"], daily["recency"], daily["T"]),
        fits[1],
    )
    in_weeks = predict_cdnow(weekly, fits, CltvSettings(unit="week")).customers
    in_days = predict_cdnow(daily, day_fits, CltvSettings(unit="day")).customers
    for name in ("p_alive", "expected_orders", "predicted_cltv"):
        np.testing.assert_allclose(in_days[name], in_weeks[name], rtol=2e-6, err_msg=name)
    # Same seed, (almost) the same covariance of the log-parameters: close intervals.
    np.testing.assert_allclose(
        in_days["predicted_cltv_high"], in_weeks["predicted_cltv_high"], rtol=1e-3
    )


def test_redraws_below_q_one() -> None:
    # q = 1.05 with a standard deviation of ln q of 0.5: many draws fall at q ≤ 1.
    gg_cov = np.diag([0.0, 0.25, 0.0])
    result = predict(
        CltvSettings(draws=50), hand_fits(gg=GammaGammaParams(6.0, 1.05, 15.0), gg_cov=gg_cov)
    )
    assert np.isfinite(result.customers["expected_spend_high"]).all()
    assert any("q ≤ 1" in w for w in result.warnings)


# --- groups, row order and chunking ---------------------------------------------------------


def test_group_totals_add_up(weekly: pd.DataFrame, fits: tuple[BgNbdFit, GammaGammaFit]) -> None:
    settings_ = CltvSettings(draws=100)
    args = (weekly["frequency"], weekly["recency"], weekly["T"], weekly["monetary_value"])
    whole = predict_cdnow(weekly, fits, settings_)
    one = predict_group_totals(*fits, *args, settings_, groups=np.zeros(len(weekly), dtype=int))
    row = one.groups.iloc[0]
    assert list(one.groups.columns) == list(GROUP_COLUMNS)
    assert row["customers"] == len(weekly)
    for name in TOTAL_FIELDS:
        assert row[name] == pytest.approx(whole.totals[name], rel=1e-12), name
    np.testing.assert_allclose(
        one.predicted_cltv_draws[0], whole.total_draws["predicted_cltv"], rtol=1e-12
    )
    # Codes 7 and 3 by parity of the customer id: rows sorted by code, estimates add up, and
    # the per-draw sums of the two groups add up to the per-draw totals.
    codes = np.where(weekly["customer_id"] % 2 == 0, 7, 3)
    two = predict_group_totals(*fits, *args, settings_, groups=codes)
    table = two.groups
    assert table["group_code"].tolist() == [3, 7]
    assert table["customers"].tolist() == [int((codes == 3).sum()), int((codes == 7).sum())]
    assert two.expected_orders_draws.shape == two.predicted_cltv_draws.shape == (2, 100)
    frame = whole.customers
    for code, (_, group) in zip((3, 7), table.iterrows(), strict=True):
        members = frame[codes == code]
        assert group["predicted_cltv"] == pytest.approx(members["predicted_cltv"].sum(), rel=1e-12)
        assert group["predicted_cltv_low"] < group["predicted_cltv"] < group["predicted_cltv_high"]
    np.testing.assert_allclose(
        two.predicted_cltv_draws.sum(axis=0), whole.total_draws["predicted_cltv"], rtol=1e-12
    )
    np.testing.assert_allclose(
        two.expected_orders_draws.sum(axis=0), whole.total_draws["expected_orders"], rtol=1e-12
    )


def test_one_pass_equals_the_two_calls(
    weekly: pd.DataFrame, fits: tuple[BgNbdFit, GammaGammaFit], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_ = CltvSettings(draws=30)
    args = (weekly["frequency"], weekly["recency"], weekly["T"], weekly["monetary_value"])
    codes = (weekly["customer_id"].to_numpy() % 5) * 2
    monkeypatch.setattr(cltv, "CHUNK_VALUES", 31 * 97)  # several chunks, cut inside pairs
    customers, groups = predict_customers_and_groups(*fits, *args, settings_, groups=codes)
    alone = predict_customers(*fits, *args, settings_)
    by_group = predict_group_totals(*fits, *args, settings_, groups=codes)
    pd.testing.assert_frame_equal(customers.customers, alone.customers, check_exact=True)
    pd.testing.assert_series_equal(customers.totals, alone.totals, check_exact=True)
    pd.testing.assert_frame_equal(customers.total_draws, alone.total_draws, check_exact=True)
    assert customers.warnings == alone.warnings
    pd.testing.assert_frame_equal(groups.groups, by_group.groups, check_exact=True)
    np.testing.assert_array_equal(groups.expected_orders_draws, by_group.expected_orders_draws)
    np.testing.assert_array_equal(groups.predicted_cltv_draws, by_group.predicted_cltv_draws)
    assert groups.warnings == by_group.warnings
    with pytest.raises(ValueError, match="one code per customer"):
        predict_customers_and_groups(*fits, *args, settings_, groups=codes[:-1])
    with pytest.raises(ValueError, match="integer codes"):
        predict_customers_and_groups(*fits, *args, settings_, groups=codes * 0.5)


def test_row_order_duplicates_and_chunks_do_not_matter(
    weekly: pd.DataFrame, fits: tuple[BgNbdFit, GammaGammaFit], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_ = CltvSettings(draws=20)
    small = weekly.iloc[:400]
    reference = predict_cdnow(small, fits, settings_).customers
    shuffled = small.sample(frac=1.0, random_state=3)
    again = predict_cdnow(shuffled, fits, settings_).customers
    expected = reference.iloc[small.index.get_indexer(shuffled.index)].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected, rtol=1e-12)
    # Chunks of 3 customers (63 values / 21 columns): pairs and rows cut across chunks.
    monkeypatch.setattr(cltv, "CHUNK_VALUES", 63)
    chunked = predict_cdnow(small, fits, settings_).customers
    pd.testing.assert_frame_equal(chunked, reference, rtol=1e-12)


# --- invariants -----------------------------------------------------------------------------

customers = st.lists(
    st.tuples(
        st.integers(0, 40),  # x
        st.integers(0, 700),  # T in days
        st.floats(0.0, 1.0),  # t_x as a share of T
        st.floats(1.0, 500.0),  # z̄
    ),
    min_size=1,
    max_size=8,
)


def arrays_of(rows: list[tuple[int, int, float, float]]) -> tuple[np.ndarray, ...]:
    x = np.array([r[0] for r in rows], dtype=float)
    big_t = np.array([r[1] for r in rows], dtype=float)
    big_t = np.where(x > 0, np.maximum(big_t, 1.0), big_t)
    t_x = np.where(x > 0, np.maximum(np.round(big_t * [r[2] for r in rows]), 1.0), 0.0)
    return x, t_x, big_t, np.array([r[3] for r in rows])


@settings(max_examples=40, deadline=None)
@given(customers, st.integers(1, 3000), st.integers(1, 600), st.floats(0.0, 1.0))
def test_value_grows_with_the_horizon(
    rows: list[tuple[int, int, float, float]], horizon: int, extra: int, rate: float
) -> None:
    x, t_x, big_t, spend = arrays_of(rows)
    bg_fit, gg_fit = hand_fits(bg=dataclasses.replace(BG, alpha=BG.alpha * WEEK))  # days
    results = [
        predict_customers(
            bg_fit,
            gg_fit,
            x,
            t_x,
            big_t,
            spend,
            CltvSettings(
                horizon_days=min(h, cltv.MAX_HORIZON_DAYS),
                unit="day",
                annual_discount_rate=rate,
                draws=2,
            ),
        ).customers
        for h in (horizon, horizon + extra)
    ]
    shorter, longer = results
    assert np.all(shorter["predicted_cltv"] >= 0)
    assert np.all(shorter["p_alive"].between(0, 1))
    assert np.all(longer["expected_orders"] >= shorter["expected_orders"] * (1 - 1e-12))
    assert np.all(longer["predicted_cltv"] >= shorter["predicted_cltv"] * (1 - 1e-12))
    assert np.all(
        shorter["predicted_cltv"]
        <= shorter["expected_orders"] * shorter["expected_spend"] * (1 + 1e-12)
    )


# --- input checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("horizon_days", 0, "horizon_days must be a whole number of days from 1"),
        ("horizon_days", 365.0, "horizon_days"),
        ("horizon_days", 10_000, "horizon_days"),
        ("unit", "month", "unit must be one of day, week"),
        ("margin", 1.5, "margin must be a share from 0 to 1"),
        ("margin", float("nan"), "margin"),
        ("annual_discount_rate", -0.1, "annual_discount_rate must be from 0 to 1"),
        ("interval", 1.0, "interval must be strictly between 0 and 1"),
        ("interval", 0.0, "interval"),
        ("draws", 1, "draws must be a whole number from 2"),
        ("draws", True, "draws"),
        ("seed", -1, "seed must be a whole number"),
    ],
)
def test_invalid_settings_raise(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CltvSettings(**{field: value})


def test_invalid_inputs_raise() -> None:
    bg_fit, gg_fit = hand_fits()
    ok = CltvSettings(draws=2)
    with pytest.raises(ValueError, match="1 customer.* monetary_value that is negative"):
        predict_customers(bg_fit, gg_fit, [1, 0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.0], ok)

    with pytest.raises(ValueError, match="one entry per customer"):
        predict_customers(bg_fit, gg_fit, [1], [1.0], [2.0], [5.0, 6.0], ok)
    with pytest.raises(ValueError, match="T is not finite or less than recency"):
        predict_customers(bg_fit, gg_fit, [1], [3.0], [2.0], [5.0], ok)
    with pytest.raises(ValueError, match="empty"):
        predict_customers(bg_fit, gg_fit, [], [], [], [], ok)
    low_q = hand_fits(gg=GammaGammaParams(p=6.0, q=0.9, gamma=15.0))
    with pytest.raises(ValueError, match=r"q = 0.9 ≤ 1"):
        predict_customers(*low_q, [1], [1.0], [2.0], [5.0], ok)
    with pytest.raises(ValueError, match="4×4"):
        predict_customers(
            dataclasses.replace(bg_fit, covariance=np.zeros((3, 3))),
            gg_fit,
            [1],
            [1.0],
            [2.0],
            [5.0],
            ok,
        )
    with pytest.raises(ValueError, match="negative code"):
        predict_group_totals(
            bg_fit, gg_fit, [1, 0], [1.0, 0.0], [2.0, 2.0], [5.0, 0.0], ok, groups=[0, -1]
        )
    with pytest.raises(ValueError, match="one code per customer"):
        predict_group_totals(bg_fit, gg_fit, [1], [1.0], [2.0], [5.0], ok, groups=[0, 1])
    with pytest.raises(ValueError, match="integer codes"):
        predict_group_totals(bg_fit, gg_fit, [1], [1.0], [2.0], [5.0], ok, groups=["a"])


def test_zero_mean_spend_shrinks_towards_zero() -> None:
    # A customer whose repeat purchases were all refunded has z̄ = 0: E[Z] = pγ/(px+q−1).
    bg_fit, gg_fit = hand_fits()
    p, q, gamma = gg_fit.params.p, gg_fit.params.q, gg_fit.params.gamma
    out = predict_customers(bg_fit, gg_fit, [2], [1.0], [2.0], [0.0], CltvSettings(draws=2))
    expected = p * gamma / (p * 2 + q - 1)
    assert out.customers["expected_spend"].iloc[0] == pytest.approx(expected, rel=1e-12)


def test_constant_dropout_limit_stays_finite() -> None:
    # With very few customers the fit can run to a, b → ∞ with a/(a+b) fixed (a constant
    # dropout probability): the Euler-transformed form overflows there, the published eq. 10
    # does not, and the predictions must still equal it.
    extreme = BgNbdParams(r=0.204, alpha=2.498, a=703_778.9, b=20_067_212.0)
    bg_fit, gg_fit = hand_fits(bg=extreme)
    x, t_x, big_t = [0, 2, 20], [0.0, 45.0, 137.29], [153.0, 150.29, 137.43]
    out = predict_customers(
        bg_fit, gg_fit, x, t_x, big_t, [0.0, 30.0, 36.7], CltvSettings(draws=2, unit="week")
    )
    expected = expected_purchases(extreme, 365 / 7, x, t_x, big_t)
    np.testing.assert_allclose(out.customers["expected_orders"], expected, rtol=1e-9)
    assert np.isfinite(out.customers["predicted_cltv"]).all()


def test_p_alive_interval_brackets_the_estimate() -> None:
    # With parameter uncertainty the P(alive) of a repeat buyer moves with the draws; a
    # one-order customer has P(alive) = 1 in every draw (BG/NBD: no dropout before a repeat).
    cov = np.diag([0.01, 0.01, 0.02, 0.02])
    bg_fit, gg_fit = hand_fits(bg_cov=cov)
    out = predict_customers(
        bg_fit, gg_fit, [3, 0], [10.0, 0.0], [30.0, 30.0], [20.0, 0.0], CltvSettings(draws=300)
    ).customers
    repeat, single = out.iloc[0], out.iloc[1]
    assert repeat["p_alive_low"] < repeat["p_alive"] < repeat["p_alive_high"]
    assert single["p_alive_low"] == single["p_alive"] == single["p_alive_high"] == 1.0
