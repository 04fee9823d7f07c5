"""Scenarios: hand cases typed out, the baseline exactly when nothing changes, monotone in
uplift and discount, reproducible draws, break-even, tornado order, loyalty evidence on a tiny
shop and the baseline loader on the sample shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.ingest.load import load_frames
from retention.models.runs import fit_scores, latest_run
from retention.sample import build_sample_db
from retention.scenarios import (
    EVIDENCE_COLUMNS,
    MAX_RELATIVE_UPLIFT,
    OUTCOMES,
    SUMMARY_COLUMNS,
    TORNADO_COLUMNS,
    DiscountScenario,
    LoyaltyScenario,
    SegmentBaseline,
    break_even_uplift,
    evaluate,
    loyalty_evidence,
    scenario_from_dict,
    segment_baseline,
    simulate,
    tornado,
)
from retention.segments.saved import save_segment
from retention.store import Store
from tests.conftest import frame

INCREMENTAL = [o for o in OUTCOMES if o != "roi"]

# --- hand cases ---------------------------------------------------------------------------
#
# Discount: N = 100 customers expected to place O = 50 orders worth R = 5000 (a = 100) over
# the horizon; 10 % off, 80 % reach, +20 % orders for those reached, 40 % margin, 0.50 a
# contact.
HAND = SegmentBaseline.from_arrays(100, 50.0, 5000.0)
HAND_DISCOUNT = DiscountScenario(
    discount=0.1, reach=0.8, uplift_low=0.2, uplift_high=0.2, margin=0.4, cost_per_contact=0.5
)


def test_the_discount_hand_case() -> None:
    result = simulate(HAND, HAND_DISCOUNT, draws=50, seed=3)
    # O_r = 0.8·50 = 40, R_r = 0.8·5000 = 4000, ΔO = 0.2·40 = 8, a·ΔO = 800, G = 4800
    expected = {
        "incremental_orders": 8.0,  # 0.2 · 40
        "incremental_revenue": 320.0,  # 4800 · 0.9 − 4000
        "incremental_gross_profit": -160.0,  # 0.4 · 800 − 0.1 · 4800 = 320 − 480
        "incentive_cost": 480.0,  # 0.1 · 4800
        "cannibalised_cost": 400.0,  # 0.1 · 4000 (orders expected anyway)
        "programme_cost": 50.0,  # 100 · 0.50
        "total_cost": 530.0,  # 480 + 50
        "net_profit": -210.0,  # −160 − 50
        "roi": -210.0 / 530.0,  # net / (discount + contact)
        "cltv_change": -160.0,  # incremental gross profit
        "cltv_change_per_customer": -1.6,  # −160 / 100
    }
    for name, value in expected.items():
        assert result.estimate[name] == pytest.approx(value, rel=1e-12), name
        # One uplift and no parameter draws: every draw is the estimate.
        np.testing.assert_allclose(result.draws[name], value, rtol=1e-12)
    assert result.p_loss == 1.0
    # net(u) = (0.4 − 0.1)·100·40·u − (0.1·4000 + 50) = 1200u − 450 → u* = 0.375
    assert result.break_even_uplift == pytest.approx(0.375, rel=1e-12)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    assert list(result.summary.index) == list(OUTCOMES)


def test_the_reactivation_hand_case() -> None:
    scenario = DiscountScenario(
        discount=0.1,
        reach=0.8,
        uplift_low=0.05,
        uplift_high=0.05,
        margin=0.4,
        cost_per_contact=0.5,
        uplift_mode="reactivation",
    )
    values = evaluate(HAND, scenario, 0.05)
    # ΔO = 0.05 · 0.8 · 100 = 4 orders at a = 100 → 400; G = 4000 + 400 = 4400
    assert float(values["incremental_orders"]) == pytest.approx(4.0)
    assert float(values["incremental_revenue"]) == pytest.approx(-40.0)  # 0.9·4400 − 4000
    assert float(values["incremental_gross_profit"]) == pytest.approx(-280.0)  # 160 − 440
    assert float(values["net_profit"]) == pytest.approx(-330.0)  # −280 − 50
    # slope = 0.3 · 100 · (0.8 · 100) = 2400, fixed = 450 → u* = 0.1875 of reached customers
    assert break_even_uplift(HAND, scenario) == pytest.approx(0.1875)


def test_the_loyalty_hand_case_with_tiers() -> None:
    # Four customers expected to spend 50, 150, 300 and 500 (R = 1000) in O = 10 orders
    # (a = 100). Base rate 1 point per unit; 2 from 100 expected revenue, 3 from 400.
    baseline = SegmentBaseline.from_arrays(4, 10.0, 1000.0, customer_revenue=[50, 150, 300, 500])
    scenario = LoyaltyScenario(
        enrolment=0.5,
        points_per_unit=1.0,
        point_value=0.01,
        redemption=0.6,
        uplift_low=0.1,
        uplift_high=0.1,
        margin=0.5,
        fixed_cost=10.0,
        cost_per_member=2.0,
        tiers=((100.0, 2.0), (400.0, 3.0)),
    )
    # p = (50·1 + 150·2 + 300·2 + 500·3) / 1000 = 2450 / 1000 = 2.45
    assert scenario.points_rate(baseline.customer_revenue) == pytest.approx(2.45)
    result = simulate(baseline, scenario, draws=20)
    assert result.points_rate == pytest.approx(2.45)
    # k = p·v·ρ = 2.45 · 0.01 · 0.6 = 0.0147; O_m = 5, R_m = 500, ΔO = 0.5, ΔR = 50
    expected = {
        "incremental_orders": 0.5,  # 0.1 · 5
        "incentive_cost": 8.085,  # (500 + 50) · 0.0147
        "cannibalised_cost": 7.35,  # 500 · 0.0147
        "incremental_revenue": 41.915,  # 50 − 8.085
        "incremental_gross_profit": 16.915,  # 0.5 · 50 − 8.085
        "programme_cost": 14.0,  # 10 + 2 · 0.5 · 4
        "total_cost": 22.085,  # 8.085 + 14
        "net_profit": 2.915,  # 16.915 − 14
        "roi": 2.915 / 22.085,
        "cltv_change_per_customer": 16.915 / 4,
    }
    for name, value in expected.items():
        assert result.estimate[name] == pytest.approx(value, rel=1e-12), name
    assert result.p_loss == 0.0
    # slope = (0.5 − 0.0147) · 100 · 5 = 242.65, fixed = 7.35 + 14 = 21.35
    assert result.break_even_uplift == pytest.approx(21.35 / 242.65, rel=1e-12)
    # Without tiers everyone earns 1 point: k = 0.006, points = 550 · 0.006 = 3.3
    plain = evaluate(baseline, LoyaltyScenario(**{**_inputs(scenario), "tiers": ()}), 0.1)
    assert float(plain["incentive_cost"]) == pytest.approx(3.3)
    with pytest.raises(ValueError, match="tiers need each customer's expected revenue"):
        simulate(SegmentBaseline.from_arrays(4, 10.0, 1000.0), scenario)


def _inputs(scenario: DiscountScenario | LoyaltyScenario) -> dict[str, object]:
    values = scenario.to_dict()
    values.pop("kind")
    return values


# --- invariants ---------------------------------------------------------------------------

money = st.floats(0.0, 1e7)
share = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def baselines(draw: st.DrawFn) -> SegmentBaseline:
    """Expected orders (0 or from 1e-9 up, with any subnormal-free value) times an average
    order value give the revenue, at the estimate and for each of 1 to 8 parameter draws."""
    customers = draw(st.integers(1, 100_000))
    orders = st.one_of(st.just(0.0), st.floats(1e-9, 1e6))
    aov = st.floats(0.0, 1e4)
    pairs = draw(st.lists(st.tuples(orders, aov), min_size=2, max_size=9))
    (o, a), draws = pairs[0], pairs[1:]
    return SegmentBaseline.from_arrays(
        customers,
        o,
        o * a,
        orders_draws=[d for d, _ in draws],
        revenue_draws=[d * b for d, b in draws],
        customer_revenue=draw(st.lists(money, min_size=customers, max_size=customers))
        if customers <= 20
        else None,
    )


@settings(max_examples=60, deadline=None)
@given(
    baseline=baselines(),
    reach=share,
    margin=share,
    mode=st.sampled_from(["relative", "reactivation"]),
    seed=st.integers(0, 2**32),
)
def test_zero_discount_and_zero_uplift_is_the_baseline(
    baseline: SegmentBaseline, reach: float, margin: float, mode: str, seed: int
) -> None:
    scenario = DiscountScenario(
        discount=0.0, reach=reach, uplift_low=0.0, uplift_high=0.0, margin=margin,
        uplift_mode=mode,  # type: ignore[arg-type]
    )  # fmt: skip
    result = simulate(baseline, scenario, draws=37, seed=seed)
    for name in INCREMENTAL:
        assert (result.draws[name] == 0.0).all(), name
        assert (result.summary.loc[name] == 0.0).all(), name
    assert result.draws["roi"].isna().all()  # no cost: ROI is undefined
    assert result.p_loss == 0.0 and result.break_even_uplift == 0.0


@settings(max_examples=40, deadline=None)
@given(baseline=baselines(), enrolment=share, margin=share, redemption=share)
def test_a_free_programme_with_no_uplift_is_the_baseline(
    baseline: SegmentBaseline, enrolment: float, margin: float, redemption: float
) -> None:
    scenario = LoyaltyScenario(
        enrolment=enrolment, points_per_unit=0.0, point_value=0.05, redemption=redemption,
        uplift_low=0.0, uplift_high=0.0, margin=margin,
    )  # fmt: skip
    result = simulate(baseline, scenario, draws=11)
    for name in INCREMENTAL:
        assert (result.draws[name] == 0.0).all(), name


@settings(max_examples=80, deadline=None)
@given(
    baseline=baselines(),
    discount=share,
    reach=share,
    margin=share,
    cost=st.floats(0.0, 100.0),
    uplifts=st.lists(st.floats(-1.0, MAX_RELATIVE_UPLIFT), min_size=2, max_size=2),
    mode=st.sampled_from(["relative", "reactivation"]),
)
def test_monotone_in_uplift_and_discount(
    baseline: SegmentBaseline,
    discount: float,
    reach: float,
    margin: float,
    cost: float,
    uplifts: list[float],
    mode: str,
) -> None:
    low, high = sorted(uplifts)
    if mode == "reactivation":
        low, high = abs(low) / MAX_RELATIVE_UPLIFT, abs(high) / MAX_RELATIVE_UPLIFT
        low, high = min(low, high), max(low, high)
    scenario = DiscountScenario(
        discount=discount, reach=reach, uplift_low=low, uplift_high=high, margin=margin,
        cost_per_contact=cost, uplift_mode=mode,  # type: ignore[arg-type]
    )  # fmt: skip
    at_low, at_high = evaluate(baseline, scenario, low), evaluate(baseline, scenario, high)
    scale = 1e-9 * (1.0 + baseline.expected_revenue + baseline.customers * (1.0 + cost))
    assert float(at_high["incremental_orders"]) >= float(at_low["incremental_orders"])
    if margin >= discount:  # each extra order earns m·a − d·a ≥ 0
        assert float(at_high["net_profit"]) >= float(at_low["net_profit"]) - scale
    else:
        assert float(at_high["net_profit"]) <= float(at_low["net_profit"]) + scale
    # More discount at the same uplift: lower net profit (it costs d·G more, G ≥ 0).
    deeper = DiscountScenario(**{**_inputs(scenario), "discount": min(1.0, discount + 0.05)})
    for u in (low, high):
        assert (
            float(evaluate(baseline, deeper, u)["net_profit"])
            <= float(evaluate(baseline, scenario, u)["net_profit"]) + scale
        )
    # The same shift of the whole range moves every draw the same way (same seed).
    if mode == "relative" and high + 0.1 <= MAX_RELATIVE_UPLIFT:
        shifted = DiscountScenario(
            **{**_inputs(scenario), "uplift_low": low + 0.1, "uplift_high": high + 0.1}
        )
        before = simulate(baseline, scenario, draws=25, seed=1).draws
        after = simulate(baseline, shifted, draws=25, seed=1).draws
        assert (after["incremental_orders"] >= before["incremental_orders"]).all()


def test_the_same_seed_gives_the_same_distribution() -> None:
    baseline = SegmentBaseline.from_arrays(
        1000,
        400.0,
        36_000.0,
        orders_draws=[380.0, 400.0, 430.0, 395.0],
        revenue_draws=[34_000.0, 36_000.0, 39_000.0, 35_500.0],
    )
    scenario = DiscountScenario(discount=0.15, reach=0.6, uplift_low=0.0, uplift_high=0.4)
    first = simulate(baseline, scenario, draws=500, seed=7)
    again = simulate(baseline, scenario, draws=500, seed=7)
    other = simulate(baseline, scenario, draws=500, seed=8)
    pd.testing.assert_frame_equal(first.draws, again.draws)
    pd.testing.assert_frame_equal(first.summary, again.summary)
    assert first.p_loss == again.p_loss
    assert not np.array_equal(first.draws["net_profit"], other.draws["net_profit"])
    # Draw i uses parameter draw i mod 4, and uplifts lie in the range.
    assert first.draws["parameter_draw"].tolist()[:6] == [0, 1, 2, 3, 0, 1]
    assert first.draws["uplift"].between(0.0, 0.4).all()
    summary = first.summary.loc["net_profit"]
    assert summary["low"] <= summary["median"] <= summary["high"]
    assert first.p_loss == (first.draws["net_profit"] < 0).mean()
    json.dumps(first.to_dict(include_draws=True), allow_nan=False)  # saveable as it is


def test_break_even() -> None:
    scenario = DiscountScenario(
        discount=0.2, reach=0.5, uplift_low=0.1, uplift_high=0.3, margin=0.5, cost_per_contact=1
    )
    baseline = SegmentBaseline.from_arrays(2000, 700.0, 63_000.0)
    u = break_even_uplift(baseline, scenario)
    assert u is not None and 0 < u < MAX_RELATIVE_UPLIFT
    assert float(evaluate(baseline, scenario, u)["net_profit"]) == pytest.approx(0.0, abs=1e-6)
    assert float(evaluate(baseline, scenario, 0.9 * u)["net_profit"]) < 0
    assert float(evaluate(baseline, scenario, 1.1 * u)["net_profit"]) > 0
    # A discount above the margin loses money on every extra order: it never breaks even.
    assert break_even_uplift(baseline, DiscountScenario(discount=0.5, margin=0.3)) is None
    # Nothing to recover: break-even at once.
    free = DiscountScenario(discount=0.0, cost_per_contact=0.0)
    assert break_even_uplift(baseline, free) == 0.0
    # Needing more than +500 % is out of range.
    dear = DiscountScenario(discount=0.0, margin=0.01, cost_per_contact=1000.0)
    assert break_even_uplift(baseline, dear) is None


def test_tornado_on_the_hand_case() -> None:
    table = tornado(HAND, HAND_DISCOUNT)
    assert list(table.columns) == list(TORNADO_COLUMNS)
    assert table["spread"].is_monotonic_decreasing
    # net = (0.4 − d)·800 − 4000·d − 50 at u = 0.2: d = 0.075 → −90, d = 0.125 → −330;
    # reach ρ: net = −200ρ − 50 → ρ = 0.6: −170, 1.0: −250; margin m: 800m − 530;
    # cost c: 270 − 480 − 100c → 0.375: −197.5, 0.625: −222.5; the uplift has no range.
    expected = [
        ("discount", 0.075, 0.125, -90.0, -330.0),
        ("margin", 0.3, 0.5, -290.0, -130.0),
        ("reach", 0.6, 1.0, -170.0, -250.0),
        ("cost_per_contact", 0.375, 0.625, -197.5, -222.5),
        ("uplift", 0.2, 0.2, -210.0, -210.0),
    ]
    got = table[["input", "low_value", "high_value", "net_profit_low", "net_profit_high"]]
    for row, want in zip(got.itertuples(index=False), expected, strict=True):
        assert row[0] == want[0]
        np.testing.assert_allclose(row[1:], want[1:], rtol=1e-12)
    assert table.attrs["net_profit"] == pytest.approx(-210.0)
    # Shares are clipped: reach 0.9 swung by +25 % stays at 1.
    clipped = tornado(HAND, DiscountScenario(reach=0.9)).set_index("input")
    assert clipped.loc["reach", "high_value"] == 1.0
    # With parameter draws the model's interval is one of the inputs.
    orders = np.linspace(40, 60, 11)
    drawn = SegmentBaseline.from_arrays(
        100, 50.0, 5000.0, orders_draws=orders, revenue_draws=100.0 * orders
    )
    assert "baseline" in set(tornado(drawn, HAND_DISCOUNT)["input"])


def test_inputs_are_checked_and_round_trip() -> None:
    with pytest.raises(ValueError, match="discount must be from 0 to 1"):
        DiscountScenario(discount=1.5)
    with pytest.raises(ValueError, match="uplift_mode must be one of relative, reactivation"):
        DiscountScenario(uplift_mode="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must not exceed"):
        DiscountScenario(uplift_low=0.3, uplift_high=0.1)
    with pytest.raises(ValueError, match="reactivation"):
        DiscountScenario(uplift_low=0.5, uplift_high=1.5, uplift_mode="reactivation")
    with pytest.raises(ValueError, match="increase strictly"):
        LoyaltyScenario(tiers=((100.0, 2.0), (100.0, 3.0)))
    with pytest.raises(ValueError, match="at least one customer"):
        SegmentBaseline.from_arrays(0, 1.0, 1.0)
    with pytest.raises(ValueError, match="pair up"):
        SegmentBaseline.from_arrays(1, 1.0, 1.0, orders_draws=[1, 2], revenue_draws=[1])
    with pytest.raises(ValueError, match="unknown discount scenario inputs"):
        scenario_from_dict({"kind": "discount", "uplift": 0.1})
    loyalty = LoyaltyScenario(tiers=((100.0, 2.0),))
    assert scenario_from_dict(json.loads(json.dumps(loyalty.to_dict()))) == loyalty
    assert scenario_from_dict(HAND_DISCOUNT.to_dict()) == HAND_DISCOUNT
    back = SegmentBaseline.from_dict(json.loads(json.dumps(HAND.to_dict())))
    assert back.to_dict() == HAND.to_dict()


# --- evidence on a tiny shop --------------------------------------------------------------
#
# Everyone's last order is on the file's last day D = 2024-04-30, so every R score is 1.
# Three customers have 2 orders (F = 1: "Lost"), three have 3 (F = 4: "At Risk").
#   Lost:    member 100 days of tenure, non-members 150 and 250 days; 1 repeat order each
#   At Risk: members 200 and 200 days, non-member 200 days; 2 repeat orders each
LAST_DAY = date(2024, 4, 30)
EVIDENCE_SHOP = [
    # customer, member, tenure days, orders
    ("l1", True, 100, 2),
    ("l2", False, 150, 2),
    ("l3", False, 250, 2),
    ("a1", True, 200, 3),
    ("a2", True, 200, 3),
    ("a3", False, 200, 3),
]


def _load(store: Store, members: bool = True) -> None:
    orders = []
    for customer, _, tenure, count in EVIDENCE_SHOP:
        days = [LAST_DAY - timedelta(days=tenure), LAST_DAY]
        if count == 3:
            days.insert(1, LAST_DAY - timedelta(days=tenure // 2))
        for i, day in enumerate(days):
            orders.append(
                {
                    "order_id": f"{customer}-{i}",
                    "customer_id": customer,
                    "ordered_at": f"{day} 10:00",
                    "revenue": 50.0,
                }
            )
    customers = [
        {"customer_id": c, "loyalty_member": members and m} for c, m, _, _ in EVIDENCE_SHOP
    ]
    load_frames(
        store,
        {"orders": frame("orders", orders), "customers": frame("customers", customers)},
        source_name="evidence",
    )


def test_loyalty_evidence_on_a_tiny_shop(store: Store) -> None:
    _load(store)
    evidence = loyalty_evidence(store)
    table = evidence.by_segment.set_index("rfm_segment")
    assert list(evidence.by_segment.columns) == list(EVIDENCE_COLUMNS)
    assert list(table.index) == ["At Risk", "Lost"]  # the segment map's order
    year = 365.25
    # Lost: members 1 repeat / (100/365.25) years, non-members 2 / (400/365.25) → ratio 2
    lost = table.loc["Lost"]
    assert (lost["members"], lost["non_members"]) == (1, 2)
    assert lost["member_rate"] == pytest.approx(1 / (100 / year))
    assert lost["non_member_rate"] == pytest.approx(2 / (400 / year))
    assert lost["rate_difference"] == pytest.approx(1.0)
    # At Risk: members 4 / (400/365.25), non-member 2 / (200/365.25) → the same rate
    assert table.loc["At Risk", "rate_difference"] == pytest.approx(0.0)
    # Observed member repeats 1 + 4 = 5; at the non-members' rates of their segments they
    # would have made (100/400)·2 + (400/200)·2 = 0.5 + 4 = 4.5 → 5 / 4.5 − 1
    assert evidence.uplift == pytest.approx(5 / 4.5 - 1)
    # Unstratified: (5/500) / (4/600) − 1 = 0.5, inflated by the mix of segments
    assert evidence.crude_uplift == pytest.approx(0.5)
    assert (evidence.members, evidence.non_members) == (3, 3)
    assert "upper bound" in evidence.warning and "chose to join" in evidence.warning
    json.dumps(evidence.to_dict(), allow_nan=False)


def test_no_members_no_evidence(store: Store) -> None:
    _load(store, members=False)
    evidence = loyalty_evidence(store)
    assert evidence.uplift is None and not evidence.available
    assert "no loyalty members" in evidence.warning
    assert evidence.members == 0 and evidence.non_members == 6


def test_no_model_run_no_baseline(tiny_store: Store) -> None:
    with pytest.raises(ValueError, match="No model run is stored yet"):
        segment_baseline(tiny_store, 1)


# --- the sample shop ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("scenarios")) / "shop.duckdb"
    build_sample_db(path, 1500, 21)
    with Store(path) as s:
        fit_scores(s)  # the scores run that refresh_models makes first
        for name, rule in {
            "Loyal": {"attribute": "loyalty_member", "operator": "is_true"},
            "Nobody": {"attribute": "revenue", "operator": ">=", "value": 1e12},
        }.items():
            save_segment(s, name, {"op": "and", "rules": [rule]})
        yield s


LOYAL, NOBODY = 1, 2


def test_the_baseline_is_the_members_stored_scores(sample: Store) -> None:
    run = latest_run(sample, "scores")
    assert run is not None
    baseline = segment_baseline(sample, LOYAL)
    stored = sample.query(
        "SELECT s.expected_orders, s.expected_spend FROM segment_members AS m "
        "JOIN customer_scores AS s USING (customer_id) WHERE m.segment_id = $id",
        {"id": LOYAL},
    )
    assert baseline.customers == len(stored) > 100
    assert baseline.horizon_days == run.settings.horizon_days
    assert baseline.expected_orders == pytest.approx(stored["expected_orders"].sum(), rel=1e-9)
    # Revenue, not margin and not discounted: Σ E[Y(H)] · E[Z].
    revenue = (stored["expected_orders"] * stored["expected_spend"]).sum()
    assert baseline.expected_revenue == pytest.approx(revenue, rel=1e-9)
    assert baseline.customer_revenue is not None
    assert baseline.customer_revenue.sum() == pytest.approx(revenue, rel=1e-9)
    assert baseline.draws == run.settings.draws
    assert np.quantile(baseline.orders_draws, 0.05) < baseline.expected_orders
    assert baseline.expected_orders < np.quantile(baseline.orders_draws, 0.95)
    assert (baseline.segment_id, baseline.segment_name, baseline.run_id) == (
        LOYAL,
        "Loyal",
        run.run_id,
    )
    shorter = segment_baseline(sample, LOYAL, horizon_days=90)
    assert 0 < shorter.expected_orders < baseline.expected_orders
    # A scenario on it: parameter uncertainty widens the interval beyond the uplift's.
    result = simulate(baseline, DiscountScenario(uplift_low=0.1, uplift_high=0.1), draws=400)
    assert (
        result.summary.loc["incremental_orders", "high"]
        > result.estimate["incremental_orders"]
        > result.summary.loc["incremental_orders", "low"]
    )
    with pytest.raises(ValueError, match="no customers with scores"):
        segment_baseline(sample, NOBODY)
    with pytest.raises(ValueError, match="no saved segment has id 9"):
        segment_baseline(sample, 9)


def test_loyalty_evidence_on_the_sample_shop(sample: Store) -> None:
    evidence = loyalty_evidence(sample)
    members = int(sample.scalar("SELECT count(*) FROM customer_summary WHERE loyalty_member"))
    assert evidence.members == members > 0
    assert evidence.members + evidence.non_members == sample.row_count("customer_summary")
    assert evidence.uplift is not None and np.isfinite(evidence.uplift)
    assert "upper bound" in evidence.warning
