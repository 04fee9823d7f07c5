"""Kaplan–Meier and log-rank on weighted count tables: by hand, against statsmodels, invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from retention.models.survival import (
    CURVE_COLUMNS,
    greenwood_se,
    kaplan_meier,
    kaplan_meier_by_group,
    logrank,
    p_value_text,
)


def counts(rows: list[tuple[str, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["group", "duration", "events", "censored"])


def expand(c: pd.DataFrame) -> pd.DataFrame:
    """One row per observation (what the database never sends to pandas)."""
    rows = []
    for r in c.itertuples():
        rows += [(r.group, r.duration, 1)] * int(r.events)
        rows += [(r.group, r.duration, 0)] * int(r.censored)
    return pd.DataFrame(rows, columns=["group", "time", "status"])


# Five customers: reorders after 2, 4 and 4 days; two have not reordered, censored at 3 and 6.
FIVE = counts([("all", 2, 1, 0), ("all", 3, 0, 1), ("all", 4, 2, 0), ("all", 6, 0, 1)])


def test_kaplan_meier_by_hand() -> None:
    curve = kaplan_meier(FIVE)
    assert curve["days"].tolist() == [2, 3, 4, 6]
    # at risk = durations >= t: 5 at day 2, 4 at day 3 (censored one still counts), 3, 1.
    assert curve["at_risk"].tolist() == [5, 4, 3, 1]
    assert curve["events"].tolist() == [1, 0, 2, 0]
    assert curve["censored"].tolist() == [0, 1, 0, 1]
    # S(2) = 1 - 1/5 = 0.8; censoring at 3 does not move S; S(4) = 0.8 * (1 - 2/3) = 0.26667.
    assert curve["survival"].tolist() == pytest.approx([0.8, 0.8, 0.8 / 3, 0.8 / 3])
    # Greenwood: se(2) = 0.8 √(1/(5·4)) = 0.178885; se(4) = 0.26667 √(0.05 + 2/(3·1)) = 0.225750.
    se = greenwood_se(
        curve["survival"].to_numpy(), curve["at_risk"].to_numpy(), curve["events"].to_numpy()
    )
    assert se[[0, 2]] == pytest.approx([0.178885, 0.225750], abs=1e-6)
    # log-log band at day 2: θ-se = 0.178885 / (0.8 · |ln 0.8|) = 1.002045;
    # lower = 0.8^exp(1.959964 · 1.002045) = 0.8^7.128 = 0.2040, upper = 0.8^exp(-1.9640) = 0.9696
    assert curve.loc[0, "ci_lower"] == pytest.approx(0.2040, abs=1e-3)
    assert curve.loc[0, "ci_upper"] == pytest.approx(0.9696, abs=1e-3)


def test_only_censored_gives_survival_one() -> None:
    curve = kaplan_meier(counts([("g", 5, 0, 3)]))
    assert curve["survival"].tolist() == [1.0]
    assert (curve["ci_lower"].tolist(), curve["ci_upper"].tolist()) == ([1.0], [1.0])


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="censored"):
        kaplan_meier(FIVE.drop(columns="censored"))


SAMPLE = counts(
    [
        ("a", 0, 1, 0),
        ("a", 1, 3, 1),
        ("a", 4, 2, 2),
        ("a", 9, 5, 0),
        ("a", 12, 0, 4),
        ("b", 1, 1, 0),
        ("b", 4, 1, 3),
        ("b", 7, 4, 1),
        ("b", 12, 2, 2),
        ("c", 2, 2, 2),
        ("c", 9, 1, 1),
        ("c", 15, 1, 6),
    ]
)


def test_freq_weights_give_the_curve_of_the_expanded_data() -> None:
    for group, part in SAMPLE.groupby("group"):
        ours = kaplan_meier(part)
        ours = ours[ours["events"] > 0]
        e = expand(part)
        sm = SurvfuncRight(e["time"], e["status"])
        assert ours["days"].tolist() == sm.surv_times.tolist(), group
        assert ours["survival"].to_numpy() == pytest.approx(sm.surv_prob), group
        assert ours["at_risk"].to_numpy() == pytest.approx(sm.n_risk), group
        # Our Greenwood error from weighted counts equals statsmodels' on the expanded rows.
        se = greenwood_se(
            ours["survival"].to_numpy(), ours["at_risk"].to_numpy(), ours["events"].to_numpy()
        )
        finite = np.isfinite(sm.surv_prob_se)
        assert se[finite] == pytest.approx(sm.surv_prob_se[finite]), group


def test_logrank_by_hand() -> None:
    # a: reorder at day 1; b: reorder at day 2. Day 1: n = 2 (1 + 1), d = 1, E_b = 0.5,
    # V_bb = 1·(2 − 1)/(2 − 1)·½·½ = 0.25. Day 2: only b at risk, E_b = 1, variance 0.
    # O_b − E_b = 1 − 1.5 = −0.5, χ² = 0.25 / 0.25 = 1, df 1, p = 0.3173.
    result = logrank(counts([("a", 1, 1, 0), ("b", 2, 1, 0)]))
    assert result is not None
    assert result.chisq == pytest.approx(1.0)
    assert result.df == 1
    assert result.p_value == pytest.approx(0.317311, abs=1e-6)
    assert result.expected == pytest.approx((0.5, 1.5))


@pytest.mark.parametrize("groups", [("a", "b"), ("a", "b", "c")])
def test_logrank_equals_survdiff_on_expanded_data(groups: tuple[str, ...]) -> None:
    part = SAMPLE[SAMPLE["group"].isin(groups)]
    ours = logrank(part)
    e = expand(part)
    chisq, p = survdiff(e["time"], e["status"], e["group"])
    assert ours is not None
    assert ours.chisq == pytest.approx(chisq)
    assert ours.p_value == pytest.approx(p)
    assert ours.df == len(groups) - 1


def test_logrank_needs_two_groups() -> None:
    assert logrank(FIVE) is None


def test_p_value_text() -> None:
    assert p_value_text(0.0004) == "p < 0.001"
    assert p_value_text(0.0342) == "p = 0.034"


rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.integers(0, 30),
        st.integers(0, 5),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=25,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=60, deadline=None)
@given(rows, st.randoms(use_true_random=False))
def test_survival_invariants(data: list[tuple[str, int, int, int]], rnd) -> None:
    c = counts(data)
    curve = kaplan_meier_by_group(c)
    assert list(curve.columns) == list(CURVE_COLUMNS)
    assert curve["survival"].between(0, 1).all()
    for _, g in curve.groupby("group"):
        assert (np.diff(g["survival"].to_numpy()) <= 1e-12).all()
        band = g.dropna(subset=["ci_lower", "ci_upper"])
        assert (band["ci_lower"] <= band["survival"] + 1e-12).all()
        assert (band["survival"] <= band["ci_upper"] + 1e-12).all()
        assert band["ci_lower"].between(0, 1).all() and band["ci_upper"].between(0, 1).all()
    shuffled = c.sample(frac=1.0, random_state=rnd.randint(0, 10_000))
    pd.testing.assert_frame_equal(kaplan_meier_by_group(shuffled), curve)
    a, b = logrank(c), logrank(shuffled)
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert a.chisq == pytest.approx(b.chisq, abs=1e-9)
        assert 0 <= a.p_value <= 1 and not math.isnan(a.chisq)
