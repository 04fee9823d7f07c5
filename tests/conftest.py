"""Shared fixtures: a fresh store per test and a tiny hand-written shop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from retention.ingest.load import load_frames
from retention.schema import TABLES
from retention.store import Store


def frame(table_name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """A frame with exactly the contract's columns; missing ones filled with defaults."""
    contract = TABLES[table_name]
    defaults: dict[str, object] = {
        "discount_amount": 0.0,
        "status": "completed",
        "quantity": 1,
        "accepts_marketing": False,
        "loyalty_member": False,
        "channel": None,
    }
    records = [{c: row.get(c, defaults.get(c)) for c in contract.column_names} for row in rows]
    out = pd.DataFrame.from_records(records, columns=list(contract.column_names))
    for column in contract.columns:
        if column.kind in ("timestamp", "date"):
            out[column.name] = pd.to_datetime(out[column.name], format="ISO8601")
        elif column.kind == "money":
            out[column.name] = out[column.name].astype("float64")
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "test.duckdb") as s:
        yield s


# The tiny shop. Customer a: 3 counted orders (one refunded) + 1 cancelled; b: 1 order;
# c: only a cancelled order (so not a customer); one guest order.
TINY_ORDERS = [
    {
        "order_id": "o1",
        "customer_id": "a",
        "ordered_at": "2024-01-03 10:00",
        "revenue": 100.0,
        "channel": "email",
        "coupon_code": "WELCOME",
        "discount_amount": 10.0,
    },
    {
        "order_id": "o2",
        "customer_id": "a",
        "ordered_at": "2024-02-10 12:00",
        "revenue": 50.0,
        "channel": "organic",
    },
    {
        "order_id": "o3",
        "customer_id": "a",
        "ordered_at": "2024-03-01 09:00",
        "revenue": 20.0,
        "status": "refunded",
        "channel": "organic",
    },
    {
        "order_id": "o4",
        "customer_id": "a",
        "ordered_at": "2024-03-05 09:00",
        "revenue": 70.0,
        "status": "cancelled",
    },
    {
        "order_id": "o5",
        "customer_id": "b",
        "ordered_at": "2024-02-20 08:00",
        "revenue": 30.0,
        "channel": "social",
    },
    {
        "order_id": "o6",
        "customer_id": "c",
        "ordered_at": "2024-02-21 08:00",
        "revenue": 40.0,
        "status": "cancelled",
        "channel": "social",
    },
    {
        "order_id": "o7",
        "customer_id": None,
        "ordered_at": "2024-03-10 08:00",
        "revenue": 15.0,
        "channel": "organic",
    },
]
TINY_CUSTOMERS = [
    {
        "customer_id": "a",
        "email": "a@example.com",
        "country": "DE",
        "acquisition_channel": "email",
        "accepts_marketing": True,
    },
    {"customer_id": "b", "email": "b@example.com", "country": "US"},
]
TINY_ITEMS = [
    {"order_id": "o1", "product_id": "p1", "category": "coffee", "line_revenue": 60.0},
    {"order_id": "o1", "product_id": "p2", "category": "mugs", "line_revenue": 40.0},
    {"order_id": "o5", "product_id": "p2", "category": "mugs", "line_revenue": 30.0},
]


@pytest.fixture
def tiny_store(store: Store) -> Store:
    load_frames(
        store,
        {
            "orders": frame("orders", TINY_ORDERS),
            "customers": frame("customers", TINY_CUSTOMERS),
            "order_items": frame("order_items", TINY_ITEMS),
        },
        source_name="tiny",
    )
    return store
