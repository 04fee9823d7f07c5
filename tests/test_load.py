"""Atomic load, upsert by key and the derived customer_summary, on the tiny shop."""

from __future__ import annotations

import pandas as pd
import pytest

from retention.ingest.load import load_frames
from retention.schema import TABLES
from retention.store import Store
from tests.conftest import TINY_ORDERS, frame


def dump(store: Store) -> dict[str, pd.DataFrame]:
    """Every table's full content, sorted, for before/after comparisons."""
    return {name: store.query(f'SELECT * FROM "{name}" ORDER BY ALL') for name in TABLES}


def test_customer_summary_on_tiny_shop(tiny_store: Store) -> None:
    s = tiny_store.query("SELECT * FROM customer_summary ORDER BY customer_id")
    # c has only a cancelled order, the guest order has no customer: two customers.
    assert s["customer_id"].tolist() == ["a", "b"]
    a, b = s.iloc[0], s.iloc[1]
    assert a["orders"] == 3  # o1, o2, o3 (refunded counts); o4 cancelled does not
    assert a["revenue"] == 170.0  # 100 + 50 + 20
    assert a["discount_amount"] == 10.0
    assert a["refunded_orders"] == 1
    assert a["cancelled_orders"] == 1
    assert a["first_order_revenue"] == 100.0
    assert a["first_coupon_code"] == "WELCOME"
    assert a["first_channel"] == "email"  # customers.acquisition_channel wins
    assert a["first_category"] == "coffee"  # 60 of o1's 100 is coffee
    assert a["country"] == "DE"
    assert bool(a["accepts_marketing"]) is True
    assert str(a["first_order_at"]) == "2024-01-03 10:00:00"
    assert str(a["last_order_at"]) == "2024-03-01 09:00:00"
    assert str(a["cohort_week"].date()) == "2024-01-01"  # Monday of 2024-01-03
    assert str(a["cohort_month"].date()) == "2024-01-01"
    assert str(a["cohort_quarter"].date()) == "2024-01-01"
    assert b["orders"] == 1 and b["revenue"] == 30.0
    assert b["first_channel"] == "social"  # no acquisition_channel: first order's channel
    assert b["first_category"] == "mugs"
    assert str(b["cohort_week"].date()) == "2024-02-19"


def test_reloading_the_same_rows_adds_nothing(tiny_store: Store) -> None:
    before = dump(tiny_store)
    [report] = load_frames(
        tiny_store, {"orders": frame("orders", TINY_ORDERS)}, source_name="again", replace=False
    )
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (0, 0, 7)
    after = dump(tiny_store)
    for name in ("orders", "customers", "order_items", "customer_summary"):
        pd.testing.assert_frame_equal(before[name], after[name])


def test_overlapping_rows_are_upserted(tiny_store: Store) -> None:
    rows = [
        dict(TINY_ORDERS[0], revenue=110.0),
        dict(TINY_ORDERS[1]),
        {"order_id": "o8", "customer_id": "b", "ordered_at": "2024-04-01", "revenue": 5.0},
    ]
    [report] = load_frames(
        tiny_store, {"orders": frame("orders", rows)}, source_name="overlap", replace=False
    )
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (1, 1, 1)
    assert tiny_store.row_count("orders") == 8
    revenue = tiny_store.scalar("SELECT revenue FROM customer_summary WHERE customer_id = 'a'")
    assert float(revenue) == 180.0  # 110 + 50 + 20
    assert tiny_store.scalar("SELECT orders FROM customer_summary WHERE customer_id='b'") == 2


def test_order_items_of_an_order_are_replaced_as_a_whole(tiny_store: Store) -> None:
    items = [{"order_id": "o1", "product_id": "p9", "category": "tea", "line_revenue": 100.0}]
    load_frames(
        tiny_store, {"order_items": frame("order_items", items)}, source_name="items", replace=False
    )
    left = tiny_store.query("SELECT order_id, product_id FROM order_items ORDER BY ALL")
    assert left.values.tolist() == [["o1", "p9"], ["o5", "p2"]]
    assert (
        tiny_store.scalar("SELECT first_category FROM customer_summary WHERE customer_id = 'a'")
        == "tea"
    )


def test_failed_load_leaves_the_database_exactly_as_it_was(tiny_store: Store) -> None:
    before = dump(tiny_store)
    version = tiny_store.data_version()
    good = dict(TINY_ORDERS[0], order_id="o100")
    bad = dict(TINY_ORDERS[0], order_id="o101", status="lost")  # violates the CHECK
    with pytest.raises(Exception, match="(?i)constraint"):
        load_frames(
            tiny_store,
            {
                "customers": frame("customers", [{"customer_id": "z"}]),
                "orders": frame("orders", [good, bad]),
            },
            source_name="broken",
            replace=False,
        )
    assert tiny_store.data_version() == version
    after = dump(tiny_store)
    for name in TABLES:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)


def test_every_successful_load_changes_data_version(tiny_store: Store) -> None:
    v1 = tiny_store.data_version()
    load_frames(
        tiny_store, {"orders": frame("orders", TINY_ORDERS[:1])}, source_name="x", replace=False
    )
    assert tiny_store.data_version() == v1 + 1


def test_frame_missing_a_contract_column_is_refused(store: Store) -> None:
    orders = frame("orders", TINY_ORDERS).drop(columns=["currency"])
    with pytest.raises(ValueError, match="currency"):
        load_frames(store, {"orders": orders}, source_name="x")
    assert store.row_count("orders") == 0
