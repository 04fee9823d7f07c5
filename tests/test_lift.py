"""Lift of an export: a constructed case with a known answer, checked by hand and by statsmodels."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion  # not `from ... import test_*`: pytest would collect it
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from retention.ingest.load import load_frames
from retention.lift import export_lift, welch_interval
from retention.store import Store
from retention.targets import ExportNotFoundError
from tests.conftest import frame

TARGET = [f"t{i:03d}" for i in range(1, 101)]
HOLDOUT = [f"h{i:03d}" for i in range(1, 101)]
EXPORT_DAY = date(2024, 3, 31)  # the export's data_last_day: orders up to here were known
END = date(2024, 6, 30)


def _order(n: int, customer: str | None, day: str, revenue: float, **extra: object) -> dict:
    return {"order_id": f"o{n:04d}", "customer_id": customer, "ordered_at": day,
            "revenue": revenue, **extra}  # fmt: skip


def _orders() -> list[dict]:
    rows: list[dict] = []
    n = 0
    # Everyone (and x001, who is not in the export) bought once before the export.
    for cid in [*TARGET, *HOLDOUT, "x001"]:
        n += 1
        rows.append(_order(n, cid, "2024-01-10", 70.0))
    # After the export (2024-04-01 .. 2024-06-30):
    # target t001-t010: two orders of 25 (50 each); t011-t030: one order of 50.
    for i, cid in enumerate(TARGET[:30]):
        if i < 10:
            rows += [_order(n + 1, cid, "2024-04-10", 25.0), _order(n + 2, cid, "2024-05-01", 25.0)]
            n += 2
        else:
            n += 1
            rows.append(_order(n, cid, "2024-04-20", 50.0))
    # holdout h001-h020: one order of 40.
    for cid in HOLDOUT[:20]:
        n += 1
        rows.append(_order(n, cid, "2024-05-15", 40.0))
    # What must not count:
    rows += [
        _order(n + 1, "t031", "2024-04-05", 99.0, status="cancelled"),  # cancelled
        _order(n + 2, None, "2024-04-05", 99.0),  # a guest
        _order(n + 3, "x001", "2024-04-05", 99.0),  # not in the export
        _order(n + 4, "t032", "2024-03-31 18:00", 99.0),  # on the export's last day
        _order(n + 5, "h021", "2024-07-01", 99.0),  # after END (counts when end is later)
    ]
    return rows


def _record(
    store: Store, export_id: int, target: list[str], holdout: list[str], day: date = EXPORT_DAY
) -> None:
    """An export row and its members, written directly: the groups are the constructed ones."""
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO exports VALUES ($id, TIMESTAMP '2024-04-01 09:00', 'Constructed', "
            "'{}', '[]', 'csv', true, $pct, 0, $n, $nt, $nh, $day)",
            {"id": export_id, "n": len(target) + len(holdout), "nt": len(target),
             "nh": len(holdout), "pct": 100 * len(holdout) / (len(target) + len(holdout)),
             "day": day},
        )  # fmt: skip
        for group, ids in (("target", target), ("holdout", holdout)):
            for cid in ids:
                tx.execute(
                    "INSERT INTO export_members VALUES ($id, $c, $g)",
                    {"id": export_id, "c": cid, "g": group},
                )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path = tmp_path_factory.mktemp("lift") / "lift.duckdb"
    store = Store(path)
    load_frames(store, {"orders": frame("orders", _orders())}, source_name="constructed")
    _record(store, 1, TARGET, HOLDOUT)
    _record(store, 2, TARGET[:10], HOLDOUT[:2])  # small groups
    _record(store, 3, TARGET, [])  # no holdout
    _record(store, 4, TARGET, HOLDOUT, date(2024, 7, 1))  # made from the newest data
    yield store
    store.close()


def test_constructed_case_counts(shop: Store) -> None:
    lift = export_lift(shop, 1, end=END)
    assert (lift.data_last_day, lift.start, lift.end, lift.days) == (
        EXPORT_DAY, date(2024, 4, 1), END, 91,  # April 30 + May 31 + June 30
    )  # fmt: skip
    t, h = lift.target, lift.holdout
    assert (t.customers, t.buyers, t.orders, t.revenue) == (100, 30, 40, 1500.0)
    assert (h.customers, h.buyers, h.orders, h.revenue) == (100, 20, 20, 800.0)
    assert (t.repeat_purchase_rate, h.repeat_purchase_rate) == (0.30, 0.20)
    assert (t.revenue_per_customer, h.revenue_per_customer) == (15.0, 8.0)
    assert lift.warnings == ()


def _wilson(count: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927): (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_purchase_rate_lift_by_hand_and_by_statsmodels(shop: Store) -> None:
    est = export_lift(shop, 1, end=END).repeat_purchase_rate
    assert est.difference == pytest.approx(0.10)  # 30/100 - 20/100
    assert est.relative_pct == pytest.approx(50.0)  # 0.10 / 0.20
    # Newcomb (1998) method 10 by hand: Wilson intervals of each share, then
    # low = d - sqrt((p1 - l1)² + (u2 - p2)²), high = d + sqrt((u1 - p1)² + (p2 - l2)²).
    z = stats.norm.ppf(0.975)
    l1, u1 = _wilson(30, 100, z)
    l2, u2 = _wilson(20, 100, z)
    low = 0.10 - math.sqrt((0.30 - l1) ** 2 + (u2 - 0.20) ** 2)
    high = 0.10 + math.sqrt((u1 - 0.30) ** 2 + (0.20 - l2) ** 2)
    assert (est.low, est.high) == pytest.approx((low, high), abs=1e-12)
    assert (est.low, est.high) == pytest.approx((-0.020249, 0.216734), abs=1e-6)
    assert (est.low, est.high) == pytest.approx(
        proportion.confint_proportions_2indep(30, 100, 20, 100, method="newcomb"), abs=1e-12
    )
    # Score test: z = 0.1 / sqrt(0.25 · 0.75 · (1/100 + 1/100) · 200/199) = 1.62891, p = 0.10333
    # (the pooled share 50/200 = 0.25 is the restricted MLE at difference 0; 200/199 is the
    # Miettinen-Nurminen correction).
    zs = 0.1 / math.sqrt(0.25 * 0.75 * 0.02 * 200 / 199)
    assert est.p_value == pytest.approx(2 * stats.norm.sf(zs), rel=1e-9)
    assert est.p_value == pytest.approx(0.10333, abs=1e-5)
    assert est.p_value == pytest.approx(
        proportion.test_proportions_2indep(30, 100, 20, 100, method="score").pvalue, rel=1e-12
    )


def test_revenue_lift_against_statsmodels_on_the_raw_customers(shop: Store) -> None:
    est = export_lift(shop, 1, end=END).revenue_per_customer
    assert est.difference == pytest.approx(7.0)  # 1500/100 - 800/100
    assert est.relative_pct == pytest.approx(87.5)  # 7 / 8
    # Per-customer revenue, zeros included: 30 × 50 + 70 × 0 and 20 × 40 + 80 × 0.
    t = np.r_[np.full(30, 50.0), np.zeros(70)]
    h = np.r_[np.full(20, 40.0), np.zeros(80)]
    compare = CompareMeans(DescrStatsW(t), DescrStatsW(h))
    low, high = compare.tconfint_diff(usevar="unequal")
    _tstat, p, _df = compare.ttest_ind(usevar="unequal")
    assert (est.low, est.high) == pytest.approx((low, high), rel=1e-10)
    assert (est.low, est.high) == pytest.approx((1.457118, 12.542882), abs=1e-6)
    assert est.p_value == pytest.approx(p, rel=1e-9)
    # By hand: s_t² = (30 · 35² + 70 · 15²) / 99 = 52500/99, s_h² = (20 · 32² + 80 · 8²) / 99
    # = 25600/99; se = sqrt((52500 + 25600) / 9900) = 2.80872; CI = 7 ± t(0.975, 177.0) · se.
    se = math.sqrt((52500 + 25600) / 9900)
    assert se == pytest.approx(2.80872, abs=1e-5)
    assert 7 - stats.t.ppf(0.975, 177.0019) * se == pytest.approx(1.457118, abs=1e-5)
    a, b = 52500 / 99 / 100, 25600 / 99 / 100
    df = (a + b) ** 2 / (a * a / 99 + b * b / 99)
    assert df == pytest.approx(177.0019, abs=1e-4)
    _, _, df_fn, _ = welch_interval(15.0, 52500 / 99, 100, 8.0, 25600 / 99, 100, 0.05)
    assert df_fn == pytest.approx(df, rel=1e-12)


def test_default_end_is_the_last_order_day(shop: Store) -> None:
    lift = export_lift(shop, 1)
    assert lift.end == date(2024, 7, 1) and lift.days == 92
    assert lift.holdout.buyers == 21  # h021's order on 2024-07-01 now counts


def test_confidence_level_widens_the_interval(shop: Store) -> None:
    narrow = export_lift(shop, 1, end=END, confidence=0.80).revenue_per_customer
    wide = export_lift(shop, 1, end=END, confidence=0.99).revenue_per_customer
    assert wide.low < narrow.low < 7.0 < narrow.high < wide.high
    with pytest.raises(ValueError, match="between 0 and 1"):
        export_lift(shop, 1, confidence=95)


def test_warnings_small_groups_no_days_no_holdout(shop: Store) -> None:
    small = export_lift(shop, 2, end=END)
    # target t001-t010 all bought (10 buyers); holdout h001-h002 both bought (2 buyers).
    assert (small.target.customers, small.target.buyers) == (10, 10)
    assert (small.holdout.customers, small.holdout.buyers) == (2, 2)
    assert small.warnings == (
        "The target group has only 10 customers; with fewer than 30 the intervals are unreliable.",
        "The holdout group has only 2 customers; with fewer than 30 the intervals are unreliable.",
        "The holdout group has only 2 buyers since the export; with fewer than 5 the "
        "intervals are unreliable.",
    )
    # Everyone bought in both groups: the rate difference is 0 and the test is undefined.
    assert small.repeat_purchase_rate.difference == 0.0

    none_yet = export_lift(shop, 1, end=EXPORT_DAY)
    assert none_yet.days == 0 and none_yet.target.buyers == 0
    assert none_yet.warnings[0].startswith("No days have passed since the export")

    no_holdout = export_lift(shop, 3, end=END)
    assert no_holdout.holdout.customers == 0
    assert no_holdout.repeat_purchase_rate.difference is None
    assert no_holdout.revenue_per_customer.difference is None
    assert "holdout group is empty" in " ".join(no_holdout.warnings)
    assert no_holdout.to_dict()["holdout"]["customers"] == 0


def test_no_orders_after_the_export_yet(shop: Store) -> None:
    # Export 4 saw every order (up to 2024-07-01); asking up to August finds nothing new.
    lift = export_lift(shop, 4, end=date(2024, 8, 31))
    assert lift.days == 61 and (lift.target.buyers, lift.holdout.buyers) == (0, 0)
    assert lift.warnings == (
        "The file has no orders after the export's data (2024-07-01) yet; import newer "
        "orders to measure the lift.",
    )
    revenue = lift.revenue_per_customer
    assert revenue.difference == 0.0  # no spread at all: no interval, no p-value
    assert (revenue.low, revenue.high, revenue.p_value) == (None, None, None)


def test_unknown_export(shop: Store) -> None:
    with pytest.raises(ExportNotFoundError, match="recorded exports: 1, 2, 3, 4"):
        export_lift(shop, 42)


def test_to_dict_is_json_ready(shop: Store) -> None:
    import json

    out = json.loads(json.dumps(export_lift(shop, 1, end=END).to_dict()))
    assert out["end"] == "2024-06-30" and out["repeat_purchase_rate"][
        "difference"
    ] == pytest.approx(0.1)
