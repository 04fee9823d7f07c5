"""The holdout check on CDNOW (imported as a user would) and on a tiny hand-made shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from retention.ingest.load import load_frames
from retention.models.holdout import (
    HoldoutCheck,
    check_holdout,
    default_calibration_end,
    holdout_verdict,
)
from retention.store import Store
from tests.cdnow import CALIBRATION_END, HOLDOUT_END, import_cdnow
from tests.conftest import frame


@pytest.fixture(scope="module")
def cdnow_check(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HoldoutCheck]:
    with Store(Path(tmp_path_factory.mktemp("cdnow")) / "cdnow.duckdb") as s:
        import_cdnow(s)
        yield check_holdout(s, CALIBRATION_END, HOLDOUT_END, unit="week")


def test_cdnow_fit_is_the_published_one(cdnow_check: HoldoutCheck) -> None:
    p = cdnow_check.bgnbd.params
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert cdnow_check.gamma_gamma is not None
    g = cdnow_check.gamma_gamma.params
    assert (round(g.p, 2), round(g.q, 2), round(g.gamma, 2)) == (6.25, 3.74, 15.44)
    assert cdnow_check.customers == 2357
    assert cdnow_check.warnings == []


def test_cdnow_holdout_counts(cdnow_check: HoldoutCheck) -> None:
    # 684 customers made 1,882 purchase days between 1997-10-01 and 1998-06-30 (checked with
    # a direct count over the file in tests/models/test_rfm_sql.py's holdout test).
    t = cdnow_check.totals
    assert t["actual_purchases"] == 1882
    assert t["holdout_days"] == 273  # 39 weeks
    by_x = cdnow_check.by_frequency
    assert by_x["customers"].sum() == 2357
    assert by_x.loc[by_x["bucket"] == 0, "customers"].item() == 1411  # 2357 − 946 repeaters
    weighted = (by_x["actual"] * by_x["customers"]).sum()
    assert weighted == pytest.approx(1882)
    predicted = (by_x["predicted"] * by_x["customers"]).sum()
    assert predicted == pytest.approx(t["predicted_purchases"])
    # FHL 2005 Fig. 3: customers with no repeat purchase in calibration made 0.24 each later,
    # and the model says 0.23.
    zero = by_x[by_x["bucket"] == 0].iloc[0]
    assert round(zero["actual"], 2) == 0.24
    assert round(zero["predicted"], 2) == 0.23


def test_cdnow_tracking(cdnow_check: HoldoutCheck) -> None:
    tr = cdnow_check.tracking
    assert tr["date"].iloc[-1] == HOLDOUT_END
    assert tr["actual"].is_monotonic_increasing
    assert tr["predicted"].is_monotonic_increasing
    last_calibration = tr[tr["period"] == "calibration"].iloc[-1]
    # 2,457 repeat purchase days in calibration (FHL 2005 report 2,457 repeat transactions
    # in weeks 1-39 once same-day purchases merge), so 2,457 + 1,882 = 4,339 at the end.
    assert tr["actual"].iloc[-1] == 4339
    assert tr["actual"].iloc[-1] - last_calibration["actual"] >= 1882 - 60


def test_cdnow_verdict_reads_the_totals(cdnow_check: HoldoutCheck) -> None:
    sentences = holdout_verdict(cdnow_check)
    assert "1,882" in sentences[0]
    assert "273 days after 30 Sep 1997" in sentences[0]
    assert "underestimated" in sentences[0]
    # FHL 2005 Fig. 3 again: one-order customers 0.23 predicted vs 0.24 actual each.
    assert sentences[2] == (
        "Customers with one order in the calibration period are underestimated by 5% "
        "(0.23 predicted vs 0.24 actual purchases each, 1,411 customers)."
    )
    assert sentences[3].startswith("Among repeat customers the group furthest off is those")


# --- a tiny shop: three customers, calibration to 2026-03-31, holdout to 2026-06-29 -------


def tiny_orders() -> pd.DataFrame:
    rows = [
        # c1: repeat buyer; two orders on 01-10 are one purchase day.
        ("o1", "c1", "2026-01-10", 10.0),
        ("o2", "c1", "2026-01-10", 5.0),
        ("o3", "c1", "2026-02-10", 20.0),
        ("o4", "c1", "2026-04-15", 30.0),  # holdout
        ("o5", "c1", "2026-05-15", 30.0),  # holdout
        # c2: one calibration order, one holdout order
        ("o6", "c2", "2026-03-01", 40.0),
        ("o7", "c2", "2026-06-01", 40.0),  # holdout
        # c3: arrives in the holdout: not in the model's population
        ("o8", "c3", "2026-05-01", 50.0),
    ]
    return frame(
        "orders",
        [
            {
                "order_id": o,
                "customer_id": c,
                "ordered_at": pd.Timestamp(d),
                "revenue": v,
                "status": "completed",
            }
            for o, c, d, v in rows
        ],
    )


def test_tiny_shop_by_hand(store: Store) -> None:
    load_frames(store, {"orders": tiny_orders()}, source_name="tiny")
    check = check_holdout(store, date(2026, 3, 31), date(2026, 6, 29), unit="day")
    assert check.customers == 2  # c3 first bought after the calibration end
    by_x = check.by_frequency.set_index("bucket")
    # x = 1 (c1): 2 holdout purchases; x = 0 (c2): 1.
    assert by_x.loc[1, "actual"] == 2 and by_x.loc[0, "actual"] == 1
    assert check.totals["actual_purchases"] == 3
    assert check.totals["actual_revenue"] == 100.0  # c3's 50 is not counted
    # Two customers cannot pin down four parameters: the Hessian is singular, and the check
    # says so.
    assert not (check.bgnbd.covariance == check.bgnbd.covariance).all()  # NaN
    # Tracking counts only repeat days: c1's 02-10 in calibration, then 3 in the holdout.
    assert check.tracking["actual"].iloc[-1] == 4
    # Far too little data: all four warnings, in plain words.
    text = " ".join(check.warnings)
    assert "Only 2 customers" in text
    assert "bought again" in text
    assert "calibration period is 81 days" in text
    assert "do not pin down" in text
    assert check.gamma_gamma is None  # one repeat customer cannot fit the spend model


def test_holdout_must_follow_calibration(store: Store) -> None:
    load_frames(store, {"orders": tiny_orders()}, source_name="tiny")
    with pytest.raises(ValueError, match="must end after"):
        check_holdout(store, date(2026, 3, 31), date(2026, 3, 31))
    with pytest.raises(ValueError, match="No customer ordered"):
        check_holdout(store, date(2025, 1, 1), date(2026, 3, 31))


def test_default_calibration_end() -> None:
    # 2026-01-01 + 0.75 × 364 days = +273 days.
    assert default_calibration_end(date(2026, 1, 1), date(2026, 12, 31)) == date(2026, 10, 1)
