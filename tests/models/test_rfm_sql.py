"""The DuckDB RFM summary agrees with the pandas reference, on CDNOW and on the sample shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from retention.models.rfm_sql import rfm_summary, transactions_after
from retention.models.rfm_summary import read_cdnow, summary_from_transactions
from retention.sample import build_sample_db
from retention.store import Store
from tests.cdnow import CALIBRATION_END, CDNOW_TXT, HOLDOUT_END, import_cdnow


@pytest.fixture(scope="module")
def cdnow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store(Path(tmp_path_factory.mktemp("cdnow")) / "cdnow.duckdb") as s:
        import_cdnow(s)
        yield s


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("rfm")) / "shop.duckdb"
    build_sample_db(path, 1500, 5)
    with Store(path) as s:
        yield s


def test_cdnow_customer_one(cdnow_store: Store) -> None:
    # README: customer 1 has x = 2, t_x = 30.43, T = 38.86 weeks.
    summary = rfm_summary(cdnow_store, CALIBRATION_END, unit="week")
    one = summary.set_index("customer_id").loc["c0001"]
    assert one["frequency"] == 2
    assert one["recency"] == pytest.approx(213 / 7)
    assert one["T"] == pytest.approx(272 / 7)
    assert len(summary) == 2357
    assert (summary["frequency"] > 0).sum() == 946


@pytest.mark.parametrize("unit", ["week", "day"])
def test_cdnow_agrees_with_pandas(cdnow_store: Store, unit: str) -> None:
    orders = read_cdnow(CDNOW_TXT)
    expected = summary_from_transactions(
        orders["customer_id"].map(lambda c: f"c{c:04d}"),
        orders["ordered_at"],
        orders["revenue"],
        CALIBRATION_END,
        unit=unit,  # type: ignore[arg-type]
    )
    got = rfm_summary(cdnow_store, CALIBRATION_END, unit=unit)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-9)


def test_sample_shop_agrees_with_pandas(sample_store: Store) -> None:
    orders = sample_store.query(
        "SELECT customer_id, ordered_at, revenue::DOUBLE AS revenue FROM orders "
        "WHERE customer_id IS NOT NULL AND status IN ('completed', 'refunded')"
    )
    end = date(2026, 6, 30)
    start = date(2025, 1, 1)
    expected = summary_from_transactions(
        orders["customer_id"], orders["ordered_at"], orders["revenue"], end, first_day=start
    )
    got = rfm_summary(sample_store, end, first_day=start)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-9)


def test_holdout_transactions(cdnow_store: Store) -> None:
    orders = read_cdnow(CDNOW_TXT)
    later = orders[
        (orders["ordered_at"] > pd.Timestamp(CALIBRATION_END))
        & (orders["ordered_at"] <= pd.Timestamp(HOLDOUT_END))
    ]
    days = later.groupby("customer_id")["ordered_at"].nunique()
    got = transactions_after(cdnow_store, CALIBRATION_END, HOLDOUT_END)
    assert got["transactions"].sum() == days.sum()
    assert got["revenue"].sum() == pytest.approx(later["revenue"].sum())
    assert len(got) == len(days)


def test_bad_arguments(cdnow_store: Store) -> None:
    with pytest.raises(ValueError, match="unit"):
        rfm_summary(cdnow_store, CALIBRATION_END, unit="month")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after"):
        rfm_summary(cdnow_store, date(1997, 1, 1), first_day=date(1997, 2, 1))
    with pytest.raises(ValueError, match="before"):
        transactions_after(cdnow_store, HOLDOUT_END, CALIBRATION_END)
