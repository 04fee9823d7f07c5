"""Data health on the tiny shop: empty values, duplicate keys, date coverage."""

from __future__ import annotations

from retention.health import column_nulls, date_coverage, duplicate_keys
from retention.store import Store


def test_column_nulls(tiny_store: Store) -> None:
    n = column_nulls(tiny_store, "orders").set_index("column")
    assert n.loc["customer_id", "empty"] == 1  # the guest order
    assert n.loc["coupon_code", "empty"] == 6  # only o1 has a coupon
    assert n.loc["order_id", "empty"] == 0
    assert n.loc["coupon_code", "empty_share"] == 6 / 7
    assert bool(n.loc["order_id", "required"]) is True


def test_no_duplicate_keys_after_loads(tiny_store: Store) -> None:
    for name in ("orders", "customers", "order_items"):
        assert duplicate_keys(tiny_store, name) == 0


def test_duplicate_keys_are_counted(tiny_store: Store) -> None:
    with tiny_store.transaction() as tx:  # bypass the load path on purpose
        tx.execute("INSERT INTO customers (customer_id) VALUES ('a'), ('a')")
    assert duplicate_keys(tiny_store, "customers") == 2  # three rows with key a: two extra


def test_date_coverage(tiny_store: Store) -> None:
    c = date_coverage(tiny_store).set_index("table_name")
    orders = c.loc["orders"]
    assert str(orders["first_day"])[:10] == "2024-01-03"
    assert str(orders["last_day"])[:10] == "2024-03-10"
    assert orders["days_in_span"] == 68  # Jan 3 .. Mar 10, 2024 (leap year), inclusive
    assert orders["days_with_rows"] == 7  # Jan 3, Feb 10, Feb 20, Feb 21, Mar 1, Mar 5, Mar 10
    assert c.loc["traffic_daily", "rows"] == 0
