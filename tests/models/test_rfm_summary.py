"""The per-customer summary: CDNOW conventions, hand-made cases, invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.models.rfm_summary import SUMMARY_COLUMNS, read_cdnow, summary_from_transactions

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return read_cdnow(CDNOW)


def summarise(frame: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    return summary_from_transactions(
        frame["customer_id"], frame["ordered_at"], frame["revenue"], "1997-09-30", **kwargs
    )


def test_read_cdnow_shape(cdnow: pd.DataFrame) -> None:
    # README: 6,919 rows, 2,357 customers, eight rows with a $0 value.
    assert len(cdnow) == 6919
    assert cdnow["customer_id"].nunique() == 2357
    assert (cdnow["revenue"] == 0).sum() == 8
    assert list(cdnow.columns) == ["customer_id", "ordered_at", "cds", "revenue"]


def test_cdnow_customer_1(cdnow: pd.DataFrame) -> None:
    # Purchases 1997-01-01, 01-18, 08-02 in calibration (12-12 is in the holdout):
    # x = 2; t_x = 213 days = 30.43 weeks; T = 272 days (to 1997-09-30 00:00) = 38.86 weeks;
    # mean repeat spend = (29.73 + 14.96) / 2.
    s = summarise(cdnow)
    one = s.loc[s["customer_id"] == 1].iloc[0]
    assert one["frequency"] == 2
    assert round(one["recency"], 2) == 30.43
    assert round(one["T"], 2) == 38.86
    assert one["monetary_value"] == pytest.approx(22.345)
    assert tuple(s.columns) == SUMMARY_COLUMNS


def test_cdnow_totals(cdnow: pd.DataFrame) -> None:
    s = summarise(cdnow)
    assert len(s) == 2357
    assert (s["frequency"] > 0).sum() == 946  # the spend model's 946 customers
    assert (s.loc[s["frequency"] > 0, "monetary_value"] > 0).all()
    # Everyone was acquired in 1997 Q1: T between 26.14 (1997-03-31) and 38.86 weeks.
    assert s["T"].min() >= 183 / 7
    assert s["T"].max() == pytest.approx(272 / 7)


def test_day_unit_is_seven_times_week(cdnow: pd.DataFrame) -> None:
    weeks, days = summarise(cdnow), summarise(cdnow, unit="day")
    np.testing.assert_array_equal(weeks["frequency"], days["frequency"])
    np.testing.assert_allclose(days["recency"], 7 * weeks["recency"])
    np.testing.assert_allclose(days["T"], 7 * weeks["T"])
    assert (days["T"] == np.round(days["T"])).all()


def test_hand_made_same_day_merge_and_window() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c", "a", "d"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 18:00",  # same day as the first: merged, not a repeat
                    "2024-01-08 12:00",  # one repeat day, 7 days later
                    "2024-01-10",
                    "2024-01-15",  # bought on the last calibration day: T = 0
                    "2024-02-01",  # after calibration: ignored
                    "2024-02-01",  # only after calibration: not a customer yet
                ],
                format="ISO8601",
            ),
            "revenue": [10.0, 5.0, 20.0, 7.0, 3.0, 99.0, 1.0],
        }
    )
    s = summary_from_transactions(
        orders["customer_id"], orders["ordered_at"], orders["revenue"], "2024-01-15", unit="day"
    )
    expected = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "frequency": np.array([1, 0, 0], dtype="int64"),
            "recency": [7.0, 0.0, 0.0],
            "T": [14.0, 5.0, 0.0],
            "monetary_value": [20.0, 0.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(s, expected)
    late = summary_from_transactions(
        orders["customer_id"],
        orders["ordered_at"],
        orders["revenue"],
        "2024-01-15",
        unit="day",
        first_day="2024-01-05",
    )
    assert list(late["customer_id"]) == ["a", "b", "c"]
    assert late.loc[0, "frequency"] == 0  # a's first day in the window is 01-08
    assert late.loc[0, "T"] == 7.0


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="unit must be one of day, week"):
        summary_from_transactions([1], ["2024-01-01"], [1.0], "2024-01-02", unit="month")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same length"):
        summary_from_transactions([1, 2], ["2024-01-01"], [1.0], "2024-01-02")
    with pytest.raises(ValueError, match="timestamps has 1 missing"):
        summary_from_transactions([1], [None], [1.0], "2024-01-02")
    with pytest.raises(ValueError, match="first_day"):
        summary_from_transactions([1], ["2024-01-01"], [1.0], "2024-01-02", first_day="2024-02-01")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 60), st.integers(0, 100)),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_row_order_never_matters(rows: list[tuple[int, int, int]], rnd: object) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "revenue"])
    frame["ordered_at"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D")
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 2**31))  # type: ignore[attr-defined]
    a = summary_from_transactions(
        frame["customer_id"], frame["ordered_at"], frame["revenue"], "2024-02-15"
    )
    b = summary_from_transactions(
        shuffled["customer_id"], shuffled["ordered_at"], shuffled["revenue"], "2024-02-15"
    )
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    assert (a["recency"] <= a["T"]).all()
    assert ((a["frequency"] > 0) | (a["recency"] == 0)).all()
