"""Segment comparison: hand-checked stats, retention curves and tests on a tiny shop with
overlapping and empty segments; predicted CLTV from the stored run on the sample shop."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import proportion  # not its test_* names: pytest would collect them
from statsmodels.stats.multitest import multipletests

from retention.ingest.load import load_frames
from retention.metrics.cohorts import CohortQuery, average_curves, cohort_cells
from retention.models.runs import latest_run, refresh_models
from retention.sample import build_sample_db
from retention.segments import compare as cmp
from retention.segments.compare import (
    CLTV_COLUMNS,
    CURVE_COLUMNS,
    STATS_COLUMNS,
    TEST_COLUMNS,
    compare,
    fits_from_run,
    minimum_detectable_difference,
    predicted_cltv_by_segment,
    retention_curves,
    segment_overlap,
    segment_stats,
    welch_test,
)
from retention.segments.saved import save_segment
from retention.store import Store
from tests.conftest import frame

# --- the tiny shop ------------------------------------------------------------------------
#
# Seven customers; the last order day of the file is 2024-04-20, so April is not complete.
#
#   customer  country  loyal  counted orders (revenue)                      orders  revenue
#   c1        DE       yes    Jan 5 (100), Feb 10 (50), Apr 1 (30)          3       180
#   c2        DE              Jan 20 (40)  [+ a cancelled order: not counted] 1       40
#   c3        DE       yes    Feb 3 (60), Feb 25 (20)                       2       80
#   c4        US              Jan 10 (80), Mar 15 (40)                      2       120
#   c5        US              Mar 2 (10), Mar 20 (5, refunded: still counted) 2     15
#   c6        US       yes    Apr 20 (70)                                   1       70
#   c7        DE              Mar 25 (50)                                   1       50
#   guest                     Apr 15 (25): revenue of the shop, but no customer
#
# All customers: 7, revenue 555. Segments (ids in order of saving):
#   1 Germany = country DE  -> c1 c2 c3 c7
#   2 Loyal   = loyalty     -> c1 c3 c6       (shares c1, c3 with Germany; c6 with US)
#   3 US      = country US  -> c4 c5 c6
#   4 Nobody  = country FR  -> nobody

ORDERS = [
    ("o1", "c1", "2024-01-05 10:00", 100.0, "completed"),
    ("o2", "c1", "2024-02-10 10:00", 50.0, "completed"),
    ("o3", "c1", "2024-04-01 10:00", 30.0, "completed"),
    ("o4", "c2", "2024-01-20 10:00", 40.0, "completed"),
    ("o5", "c2", "2024-02-15 10:00", 90.0, "cancelled"),
    ("o6", "c3", "2024-02-03 10:00", 60.0, "completed"),
    ("o7", "c3", "2024-02-25 10:00", 20.0, "completed"),
    ("o8", "c4", "2024-01-10 10:00", 80.0, "completed"),
    ("o9", "c4", "2024-03-15 10:00", 40.0, "completed"),
    ("o10", "c5", "2024-03-02 10:00", 10.0, "completed"),
    ("o11", "c5", "2024-03-20 10:00", 5.0, "refunded"),
    ("o12", "c6", "2024-04-20 10:00", 70.0, "completed"),
    ("o13", "c7", "2024-03-25 10:00", 50.0, "completed"),
    ("o14", None, "2024-04-15 10:00", 25.0, "completed"),
]
CUSTOMERS = [
    ("c1", "DE", True),
    ("c2", "DE", False),
    ("c3", "DE", True),
    ("c4", "US", False),
    ("c5", "US", False),
    ("c6", "US", True),
    ("c7", "DE", False),
]
GERMANY, LOYAL, US, NOBODY = 1, 2, 3, 4

# Order values of each segment (counted orders of its members), for the Welch checks.
GERMANY_ORDERS = [100.0, 50.0, 30.0, 40.0, 60.0, 20.0, 50.0]
LOYAL_ORDERS = [100.0, 50.0, 30.0, 60.0, 20.0, 70.0]
US_ORDERS = [80.0, 40.0, 10.0, 5.0, 70.0]


def _country(values: list[str]) -> dict[str, object]:
    return {"op": "and", "rules": [{"attribute": "country", "operator": "in", "value": values}]}


@pytest.fixture
def shop(store: Store) -> Store:
    orders = [
        {"order_id": o, "customer_id": c, "ordered_at": at, "revenue": r, "status": s}
        for o, c, at, r, s in ORDERS
    ]
    customers = [
        {"customer_id": c, "email": f"{c}@example.com", "country": k, "loyalty_member": loyal}
        for c, k, loyal in CUSTOMERS
    ]
    load_frames(
        store,
        {"orders": frame("orders", orders), "customers": frame("customers", customers)},
        source_name="compare",
    )
    loyal = {"op": "and", "rules": [{"attribute": "loyalty_member", "operator": "is_true"}]}
    for name, rules in (
        ("Germany", _country(["DE"])),
        ("Loyal", loyal),
        ("US", _country(["US"])),
        ("Nobody", _country(["FR"])),
    ):
        save_segment(store, name, rules)
    return store


# --- segment_stats ------------------------------------------------------------------------


def test_stats_are_typed_out(shop: Store) -> None:
    out = segment_stats(shop, [GERMANY, LOYAL, US, NOBODY])
    assert list(out.columns) == list(STATS_COLUMNS)
    assert out["segment_id"].tolist() == [GERMANY, LOYAL, US, NOBODY]
    assert out["name"].tolist() == ["Germany", "Loyal", "US", "Nobody"]
    g, lo, us, nobody = (out.iloc[i] for i in range(4))

    # Germany: c1 c2 c3 c7; revenue 180 + 40 + 80 + 50 = 350 from 3 + 1 + 2 + 1 = 7 orders.
    assert g["customers"] == 4 and g["customer_share"] == pytest.approx(4 / 7)
    assert g["revenue"] == pytest.approx(350.0)
    assert g["revenue_share"] == pytest.approx(350 / 555)  # the guest's 25 is not in 555
    assert g["orders"] == 7 and g["aov"] == pytest.approx(50.0)
    # Order values 100 50 30 40 60 20 50: mean 50, squared deviations 2500 0 400 100 100 900 0
    # = 4000, sample variance 4000 / 6; the cancelled order o5 is not among them.
    assert g["order_value_variance"] == pytest.approx(4000 / 6)
    assert g["aov_se"] == pytest.approx(math.sqrt(4000 / 6 / 7))
    # Revenue per customer 350 / 4 = 87.5; deviations 92.5 -47.5 -7.5 -37.5 -> 12275 / 3.
    assert g["revenue_per_customer"] == pytest.approx(87.5)
    assert g["revenue_per_customer_se"] == pytest.approx(math.sqrt(12275 / 3 / 4))
    # Repeat buyers: c1 (3 orders) and c3 (2): 2 of 4.
    assert g["repeat_customers"] == 2 and g["repeat_rate"] == pytest.approx(0.5)
    assert g["repeat_rate_se"] == pytest.approx(math.sqrt(0.5 * 0.5 / 4))

    # Loyal: c1 c3 c6 = 180 + 80 + 70 = 330 from 6 orders; AOV 55; c1 and c3 repeat.
    assert (lo["customers"], lo["orders"], lo["repeat_customers"]) == (3, 6, 2)
    assert lo["revenue"] == pytest.approx(330.0) and lo["aov"] == pytest.approx(55.0)
    # Deviations from 55: 45 -5 -25 5 -35 15 -> 2025 + 25 + 625 + 25 + 1225 + 225 = 4150.
    assert lo["order_value_variance"] == pytest.approx(4150 / 5)

    # US: c4 c5 c6 = 120 + 15 + 70 = 205 from 5 orders (c5's refunded order counts, at its
    # net 5); AOV 41; c4 and c5 repeat.
    assert (us["customers"], us["orders"], us["repeat_customers"]) == (3, 5, 2)
    assert us["revenue"] == pytest.approx(205.0) and us["aov"] == pytest.approx(41.0)
    assert us["order_value_variance"] == pytest.approx(np.var(US_ORDERS, ddof=1))
    assert us["repeat_rate"] == pytest.approx(2 / 3)

    # Overlapping segments each count their own members: 4 + 3 + 3 > 7 customers.
    assert out["customers"].sum() == 10

    # Nobody: zero counts, no rates.
    assert (nobody["customers"], nobody["orders"], nobody["repeat_customers"]) == (0, 0, 0)
    assert nobody["revenue"] == 0.0 and nobody["customer_share"] == 0.0
    assert nobody[["aov", "repeat_rate", "repeat_rate_se", "aov_se"]].isna().all()


def test_stats_keep_the_order_given(shop: Store) -> None:
    assert segment_stats(shop, [US, GERMANY])["segment_id"].tolist() == [US, GERMANY]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], "at least one"),
        ([GERMANY, GERMANY], "once"),
        ([GERMANY, 99], "no saved segment has id \\[99\\]; saved segments: 1 \\(Germany\\)"),
        (["1"], "whole numbers"),
    ],
)
def test_bad_segment_ids_are_refused(shop: Store, ids: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        segment_stats(shop, ids)  # type: ignore[arg-type]


# --- retention_curves ---------------------------------------------------------------------


def test_retention_curves_are_typed_out(shop: Store) -> None:
    out = retention_curves(shop, [GERMANY, LOYAL, US, NOBODY], periods=3)
    assert list(out.columns) == list(CURVE_COLUMNS)
    # The data end on 2024-04-20, so complete months: January cohort 3 (k = 0, 1, 2), February
    # 2, March 1, April 0 (c6 is never eligible). Cohorts: c1 c2 c4 Jan, c3 Feb, c5 c7 Mar.
    expected = {
        # Germany c1 c2 c3 c7. k0: all 4 eligible and active. k1: c1 c2 c3 eligible, only
        # c1 ordered in the month after its first (Feb). k2: c1 c2 eligible, neither ordered
        # in March. k3: nobody has a complete k3 (c1's April order is in an open month).
        GERMANY: [(4, 4), (3, 1), (2, 0), (0, 0)],
        # Loyal c1 c3 c6: c6 (April) never eligible; c1 active at k1 only.
        LOYAL: [(2, 2), (2, 1), (1, 0), (0, 0)],
        # US c4 c5 c6: c4 (Jan) ordered again in March (k2), c5 (Mar) only in k0.
        US: [(2, 2), (1, 0), (1, 1), (0, 0)],
        NOBODY: [(0, 0)] * 4,
    }
    for segment_id, cells in expected.items():
        rows = out[out["segment_id"] == segment_id]
        assert rows["period_index"].tolist() == [0, 1, 2, 3]
        got = list(zip(rows["eligible_customers"], rows["active_customers"], strict=True))
        assert got == cells
        eligible = np.array([e for e, _ in cells], dtype=float)
        active = np.array([a for _, a in cells], dtype=float)
        with np.errstate(invalid="ignore"):
            rate = active / eligible
        np.testing.assert_allclose(rows["retention_rate"], rate, equal_nan=True)
    germany = out[out["segment_id"] == GERMANY]
    assert germany["retention_rate_se"].iloc[1] == pytest.approx(math.sqrt(1 / 3 * 2 / 3 / 3))


def test_retention_curve_of_everybody_is_the_cohort_pages_curve(shop: Store) -> None:
    rule = {"attribute": "orders", "operator": ">=", "value": 1}
    everybody = save_segment(shop, "Everybody", {"op": "and", "rules": [rule]})
    ours = retention_curves(shop, [everybody.segment_id], periods=2)
    theirs = average_curves(cohort_cells(shop, CohortQuery(grain="month")))
    theirs = theirs[theirs["period_index"] <= 2]
    assert ours["eligible_customers"].tolist() == theirs["customers"].tolist() == [6, 4, 3]
    np.testing.assert_allclose(ours["retention_rate"], theirs["retention_rate"])


def test_retention_curves_refuse_bad_arguments(shop: Store) -> None:
    with pytest.raises(ValueError, match="unknown period 'day'; use one of week, month"):
        retention_curves(shop, [GERMANY], period="day")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="periods must be 0 to"):
        retention_curves(shop, [GERMANY], periods=-1)


# --- compare ------------------------------------------------------------------------------


def test_compare_tests_each_segment_against_the_first(shop: Store) -> None:
    result = compare(shop, [GERMANY, LOYAL, US])
    assert result.baseline == GERMANY and result.segment_ids == (GERMANY, LOYAL, US)
    tests = result.tests
    assert list(tests.columns) == list(TEST_COLUMNS)
    assert list(zip(tests["segment_id"], tests["metric"], strict=True)) == [
        (LOYAL, "repeat_rate"),
        (LOYAL, "aov"),
        (US, "repeat_rate"),
        (US, "aov"),
    ]
    assert (tests["baseline_name"] == "Germany").all()

    # Repeat rate: Loyal 2 of 3, US 2 of 3, Germany 2 of 4; statsmodels on the counts.
    for position in (0, 2):
        row = tests.iloc[position]
        direct = proportion.test_proportions_2indep(
            2, 3, 2, 4, method="agresti-caffo", compare="diff"
        )
        low, high = proportion.confint_proportions_2indep(
            2, 3, 2, 4, method="newcomb", compare="diff"
        )
        assert row["difference"] == pytest.approx(2 / 3 - 1 / 2)
        assert row["p_value"] == pytest.approx(direct.pvalue, rel=1e-12)
        assert row["statistic"] == pytest.approx(direct.statistic, rel=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-12)

    # AOV: Welch on the order values, against scipy on the raw values.
    for position, values in ((1, LOYAL_ORDERS), (3, US_ORDERS)):
        row = tests.iloc[position]
        direct = stats.ttest_ind(values, GERMANY_ORDERS, equal_var=False)
        assert row["difference"] == pytest.approx(np.mean(values) - 50.0)
        assert row["statistic"] == pytest.approx(direct.statistic, rel=1e-9)
        assert row["p_value"] == pytest.approx(direct.pvalue, rel=1e-9)
        assert row["df"] == pytest.approx(direct.df, rel=1e-9)
        ci = direct.confidence_interval(0.95)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)

    holm = multipletests(tests["p_value"].to_numpy(), method="holm")[1]
    np.testing.assert_allclose(tests["p_value_holm"], holm)
    assert not tests["significant"].any()  # three customers a side tell nothing


def test_compare_warns_about_small_and_overlapping_segments(shop: Store) -> None:
    result = compare(shop, [GERMANY, LOYAL, US])
    # Loyal (3) vs Germany (4): pooled rate (2 + 2 + 1) / (3 + 4 + 2) = 5/9, so
    # D = (1.95996 + 0.84162) · √(5/9 · 4/9 · (1/3 + 1/4)) ≈ 1.063: about 106 points.
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    d = z * math.sqrt(5 / 9 * 4 / 9 * (1 / 3 + 1 / 4))
    assert minimum_detectable_difference(2, 3, 2, 4) == pytest.approx(d)
    assert round(100 * d) == 106
    small = [w for w in result.warnings if "too few" in w]
    assert small == [
        'Segment "Loyal" has only 3 customers: too few to tell a difference in repeat rate '
        "of less than about 106 percentage points.",
        'Segment "US" has only 3 customers: too few to tell a difference in repeat rate '
        "of less than about 106 percentage points.",
    ]
    # Germany and Loyal share c1 and c3: half of Germany, two thirds of Loyal -> a warning.
    # Loyal and US share c6 (a third of each): below the 50% line. Germany and US: nobody.
    overlap = result.overlap
    assert overlap[["segment_a", "segment_b", "shared_customers"]].values.tolist() == [
        [GERMANY, LOYAL, 2],
        [GERMANY, US, 0],
        [LOYAL, US, 1],
    ]
    assert overlap["share_of_a"].tolist() == pytest.approx([0.5, 0.0, 1 / 3])
    assert overlap["share_of_b"].tolist() == pytest.approx([2 / 3, 0.0, 1 / 3])
    shared = [w for w in result.warnings if "share" in w]
    assert len(shared) == 1
    assert shared[0].startswith('Segments "Germany" and "Loyal" share 2 customers (67% of "Loyal")')


def test_compare_with_a_baseline_and_an_empty_segment(shop: Store) -> None:
    result = compare(shop, [US, NOBODY, GERMANY], baseline=GERMANY)
    assert result.baseline == GERMANY
    assert result.stats["segment_id"].tolist() == [US, NOBODY, GERMANY]
    assert result.tests["segment_id"].tolist() == [US, US, NOBODY, NOBODY]
    # US vs Germany: the same numbers as statsmodels on 2 of 3 vs 2 of 4.
    direct = proportion.test_proportions_2indep(2, 3, 2, 4, method="agresti-caffo", compare="diff")
    assert result.tests["p_value"].iloc[0] == pytest.approx(direct.pvalue, rel=1e-12)
    # The empty segment: no test, a plain warning, and the Holm adjustment ignores it.
    empty = result.tests[result.tests["segment_id"] == NOBODY]
    assert empty[["value", "difference", "p_value", "p_value_holm"]].isna().all().all()
    assert not empty["significant"].any()
    assert (
        'Segment "Nobody" has no customers (its rules match nobody now), so there is nothing '
        "to compare it with." in result.warnings
    )


def test_a_segment_inside_another_is_named_as_such(shop: Store) -> None:
    rules = [
        {"attribute": "country", "operator": "in", "value": ["DE"]},
        {"attribute": "loyalty_member", "operator": "is_true"},
    ]
    german_loyal = save_segment(shop, "German loyal", {"op": "and", "rules": rules})
    overlap = segment_overlap(shop, [GERMANY, german_loyal.segment_id])
    assert overlap["share_of_b"].tolist() == [1.0]
    result = compare(shop, [GERMANY, german_loyal.segment_id])
    inside = 'Every customer of "German loyal" is also in "Germany"'
    assert any(w.startswith(inside) for w in result.warnings)


@pytest.mark.parametrize(
    ("ids", "baseline", "message"),
    [
        ([GERMANY], None, "compare 2 to 4 segments"),
        ([GERMANY, LOYAL, US, NOBODY, 5], None, "compare 2 to 4 segments"),
        ([GERMANY, LOYAL], US, "baseline must be one of the compared segments"),
    ],
)
def test_compare_refuses_bad_choices(
    shop: Store, ids: list[int], baseline: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compare(shop, ids, baseline=baseline)


def test_welch_matches_scipy_and_handles_degenerate_groups() -> None:
    a, b = [3.0, 5.0, 9.0, 1.0], [2.0, 2.5, 3.0]
    direct = stats.ttest_ind_from_stats(
        np.mean(a), np.std(a, ddof=1), 4, np.mean(b), np.std(b, ddof=1), 3, equal_var=False
    )
    got = welch_test(np.mean(a), np.var(a, ddof=1), 4, np.mean(b), np.var(b, ddof=1), 3)
    assert got.statistic == pytest.approx(direct.statistic, rel=1e-12)
    assert got.p_value == pytest.approx(direct.pvalue, rel=1e-12)
    one = welch_test(5.0, float("nan"), 1, 2.0, 1.0, 3)  # one order: no variance
    assert one.difference == 3.0 and math.isnan(one.p_value)
    flat = welch_test(5.0, 0.0, 3, 5.0, 0.0, 3)  # no spread at all
    assert flat.se == 0.0 and math.isnan(flat.p_value)


def test_no_model_run_gives_nan_and_a_warning(shop: Store) -> None:
    out = predicted_cltv_by_segment(shop, [GERMANY, NOBODY])
    assert list(out.columns) == list(CLTV_COLUMNS)
    assert out["customers"].tolist() == [4, 0]
    assert out[list(CLTV_COLUMNS[4:])].isna().all().all()
    assert out.attrs["run_id"] is None
    assert out.attrs["warnings"][0].startswith("No model run is stored yet")


# --- predicted CLTV on the sample shop ----------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("compare")) / "shop.duckdb"
    build_sample_db(path, 2000, 21)
    with Store(path) as s:
        refresh_models(s)
        rules = {
            "All customers": {"attribute": "orders", "operator": ">=", "value": 1},
            "US": {"attribute": "country", "operator": "in", "value": ["US"]},
            "Loyal": {"attribute": "loyalty_member", "operator": "is_true"},
            "Big spenders": {"attribute": "revenue", "operator": ">=", "value": 300},
        }
        for name, rule in rules.items():
            save_segment(s, name, {"op": "and", "rules": [rule]})
        yield s


ALL, SAMPLE_US, SAMPLE_LOYAL, BIG = 1, 2, 3, 4


def test_everybody_reproduces_the_stored_totals(sample: Store) -> None:
    run = latest_run(sample, "scores")
    assert run is not None
    out = predicted_cltv_by_segment(sample, [ALL, SAMPLE_US])
    assert out.attrs["run_id"] == run.run_id and out.attrs["warnings"] == ()
    everybody = out.iloc[0]
    totals = run.summary["totals"]
    assert everybody["customers"] == everybody["scored_customers"] == totals["customers"]
    for field in (
        "expected_orders",
        "expected_orders_low",
        "expected_orders_high",
        "predicted_cltv",
        "predicted_cltv_low",
        "predicted_cltv_high",
    ):
        assert everybody[field] == pytest.approx(totals[field], rel=1e-9, abs=0), field


def test_segment_estimates_are_the_sums_of_their_members_scores(sample: Store) -> None:
    out = predicted_cltv_by_segment(sample, [SAMPLE_US, SAMPLE_LOYAL, BIG])
    sums = sample.query(
        "SELECT m.segment_id, count(*) AS n, sum(s.predicted_cltv) AS cltv, "
        "sum(s.expected_orders) AS orders FROM segment_members AS m "
        "JOIN customer_scores AS s USING (customer_id) GROUP BY ALL ORDER BY ALL"
    ).set_index("segment_id")
    for row in out.itertuples(index=False):
        expected = sums.loc[row.segment_id]
        assert row.scored_customers == row.customers == expected["n"]
        assert row.predicted_cltv == pytest.approx(expected["cltv"], rel=1e-9)
        assert row.expected_orders == pytest.approx(expected["orders"], rel=1e-9)
        assert row.predicted_cltv_low <= row.predicted_cltv <= row.predicted_cltv_high
        assert row.expected_orders_low <= row.expected_orders <= row.expected_orders_high
        n = row.scored_customers
        assert row.predicted_cltv_per_customer == pytest.approx(row.predicted_cltv / n)
        assert row.predicted_cltv_per_customer_low == pytest.approx(row.predicted_cltv_low / n)
    # Big spenders (revenue to date ≥ 300) are worth more per head than the US at large.
    per_head = out.set_index("segment_id")["predicted_cltv_per_customer"]
    assert per_head[BIG] > per_head[SAMPLE_US]


def test_a_narrower_interval_sits_inside_the_wider_one(sample: Store) -> None:
    wide = predicted_cltv_by_segment(sample, [SAMPLE_LOYAL]).iloc[0]
    narrow_frame = predicted_cltv_by_segment(sample, [SAMPLE_LOYAL], interval=0.5)
    narrow = narrow_frame.iloc[0]
    assert narrow_frame.attrs["interval"] == 0.5
    assert narrow["predicted_cltv"] == wide["predicted_cltv"]
    assert wide["predicted_cltv_low"] < narrow["predicted_cltv_low"]
    assert narrow["predicted_cltv_high"] < wide["predicted_cltv_high"]
    with pytest.raises(ValueError, match="interval must be strictly between 0 and 1"):
        predicted_cltv_by_segment(sample, [SAMPLE_LOYAL], interval=1.5)


def test_an_unidentified_fit_gives_nan_intervals(
    sample: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = latest_run(sample, "scores")
    assert run is not None
    bgnbd = dict(run.bgnbd, covariance_log_params=[[None] * 4 for _ in range(4)])
    unidentified = replace(run, bgnbd=bgnbd)
    fit, _ = fits_from_run(unidentified)
    assert np.isnan(fit.covariance).all()
    monkeypatch.setattr(cmp, "latest_run", lambda _db, _purpose: unidentified)
    frame_out = predicted_cltv_by_segment(sample, [SAMPLE_US])
    out = frame_out.iloc[0]
    assert any("BG/NBD covariance is not finite" in w for w in frame_out.attrs["warnings"])
    assert math.isfinite(out["predicted_cltv"])
    assert math.isnan(out["predicted_cltv_low"]) and math.isnan(out["predicted_cltv_high"])


def test_the_sample_shops_curves_agree_with_the_cohort_page(sample: Store) -> None:
    for grain in ("week", "month", "quarter"):
        ours = retention_curves(sample, [ALL], period=grain, periods=6)  # type: ignore[arg-type]
        theirs = average_curves(cohort_cells(sample, CohortQuery(grain=grain)))  # type: ignore[arg-type]
        theirs = theirs[theirs["period_index"] <= 6].reset_index(drop=True)
        assert ours["eligible_customers"].tolist() == theirs["customers"].tolist()
        np.testing.assert_allclose(ours["retention_rate"], theirs["retention_rate"], rtol=1e-12)


def test_compare_on_the_sample_shop_finds_the_loyal_members_repeat_more(sample: Store) -> None:
    result = compare(sample, [ALL, SAMPLE_LOYAL, SAMPLE_US])
    tests = result.tests.set_index(["segment_id", "metric"])
    loyal = tests.loc[(SAMPLE_LOYAL, "repeat_rate")]
    assert loyal["difference"] > 0 and loyal["significant"]
    stats_frame = result.stats.set_index("segment_id")
    assert stats_frame.loc[ALL, "customer_share"] == 1.0
    assert stats_frame.loc[ALL, "revenue_share"] == pytest.approx(1.0)
    # Both are inside "All customers", and the warnings say so.
    assert sum('is also in "All customers"' in w for w in result.warnings) == 2
    pd.testing.assert_frame_equal(
        result.stats, segment_stats(sample, [ALL, SAMPLE_LOYAL, SAMPLE_US])
    )


def test_the_size_warning_follows_the_threshold(sample: Store) -> None:
    counts = segment_stats(sample, [ALL, SAMPLE_LOYAL]).set_index("segment_id")
    d = minimum_detectable_difference(
        int(counts.loc[SAMPLE_LOYAL, "repeat_customers"]),
        int(counts.loc[SAMPLE_LOYAL, "customers"]),
        int(counts.loc[ALL, "repeat_customers"]),
        int(counts.loc[ALL, "customers"]),
    )
    assert 0.05 < d < 0.10  # a few hundred loyal members against 2,000 customers
    quiet = compare(sample, [ALL, SAMPLE_LOYAL])
    assert not [w for w in quiet.warnings if "too few" in w]
    strict = compare(sample, [ALL, SAMPLE_LOYAL], detectable_difference=0.05)
    n = int(counts.loc[SAMPLE_LOYAL, "customers"])
    assert [w for w in strict.warnings if "too few" in w] == [
        f'Segment "Loyal" has only {n:,} customers: too few to tell a difference in repeat '
        f"rate of less than about {100 * d:.0f} percentage points."
    ]
