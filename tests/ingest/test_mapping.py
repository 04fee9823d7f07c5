"""Column-mapping suggestions, table guessing and the Shopify orders export."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from retention.ingest.mapping import (
    SHOPIFY_ORDERS_MAPPING,
    is_shopify_orders_export,
    suggest_mapping,
    suggest_table,
)
from retention.ingest.prepare import prepare_import

TODAY = date(2024, 12, 31)


def test_suggest_mapping_for_common_order_headers() -> None:
    columns = ["Order ID", "Customer ID", "Order Date", "Total", "Status", "Coupon", "Currency"]
    assert suggest_mapping(columns, "orders") == {
        "Order ID": "order_id",
        "Customer ID": "customer_id",
        "Order Date": "ordered_at",
        "Total": "revenue",
        "Status": "status",
        "Coupon": "coupon_code",
        "Currency": "currency",
    }


def test_suggest_mapping_ignores_case_spaces_and_punctuation() -> None:
    columns = ["ORDER-NUMBER", "customer", "created_at", "Net  Sales", "utm_source", "Discount"]
    assert suggest_mapping(columns, "orders") == {
        "ORDER-NUMBER": "order_id",
        "customer": "customer_id",
        "created_at": "ordered_at",
        "Net  Sales": "revenue",
        "utm_source": "channel",
        "Discount": "discount_amount",
    }


def test_better_synonym_wins_and_a_column_is_used_once() -> None:
    # "Revenue" ranks above "Amount"; "Email" feeds customer_id only when there is no id.
    assert suggest_mapping(["Email", "Date", "Amount", "Revenue", "Id"], "orders") == {
        "Email": "customer_id",
        "Date": "ordered_at",
        "Revenue": "revenue",
        "Id": "order_id",
    }
    assert suggest_mapping(["Customer ID", "Email", "Billing Country"], "customers") == {
        "Customer ID": "customer_id",
        "Email": "email",
        "Billing Country": "country",
    }


def test_suggest_mapping_for_traffic_and_spend() -> None:
    assert suggest_mapping(["Date", "Source", "Device Category", "Sessions"], "traffic_daily") == {
        "Date": "date",
        "Source": "channel",
        "Device Category": "device",
        "Sessions": "sessions",
    }
    assert suggest_mapping(["Month", "Channel", "Cost"], "marketing_spend") == {
        "Month": "date",
        "Channel": "channel",
        "Cost": "spend",
    }


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["Order ID", "Customer ID", "Date", "Revenue", "Status"], "orders"),
        (["customer_id", "email", "country", "accepts_marketing"], "customers"),
        (["order_id", "sku", "quantity", "line_revenue"], "order_items"),
        (["date", "channel", "device", "sessions", "checkouts"], "traffic_daily"),
        (["Month", "Channel", "Spend"], "marketing_spend"),
        (["something", "else"], "orders"),
    ],
)
def test_suggest_table(columns: list[str], expected: str) -> None:
    assert suggest_table(columns) == expected


SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,"
    "Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing Country,Cancelled at,"
    "Refunded Amount,Source,Id"
)
SHOPIFY_ROWS = [
    # #1001: three line items; the Mug appears twice and is summed. Order fields on row 1 only.
    "#1001,Ann@Example.com,paid,2024-01-15 10:24:00 -0500,fulfilled,yes,USD,45.00,5.00,3.60,"
    "53.60,WELCOME,5.00,2024-01-15 10:23:45 -0500,2,Mug,15.00,MUG-1,Ann Lee,US,,0.00,web,5001",
    "#1001,,,,,,,,,,,,,2024-01-15 10:23:45 -0500,1,Beans,20.00,BEAN-1,,,,,,5001",
    "#1001,,,,,,,,,,,,,2024-01-15 10:23:45 -0500,1,Mug,15.00,MUG-1,,,,,,5001",
    # #1002: partially refunded: revenue 30 - 10 = 20, status refunded.
    "#1002,bob@example.com,partially_refunded,,,no,USD,30.00,0,0,30.00,,0.00,"
    "2024-01-16 08:00:00 +0100,1,Beans,30.00,BEAN-1,Bob,DE,,10.00,shopify_draft_order,5002",
    # #1003: voided, a guest (no e-mail), no SKU: product_id falls back to the name.
    "#1003,,voided,,,no,USD,10.00,0,0,10.00,,0.00,2024-01-17 08:00:00 +0000,1,Tea,10.00,,,,,0,"
    "web,5003",
    # #1004: paid but Cancelled at is set: cancelled. Ann's newest order: her country is CA.
    "#1004,ann@example.com,paid,,,no,USD,10.00,0,0,10.00,,0.00,2024-01-18 08:00:00 +0000,1,Tea,"
    "10.00,,Ann Lee,CA,2024-01-19 08:00:00 +0000,0,web,5004",
]


def shopify_bytes() -> bytes:
    return ("\n".join([SHOPIFY_HEADER, *SHOPIFY_ROWS]) + "\n").encode()


def test_shopify_export_is_recognised() -> None:
    columns = SHOPIFY_HEADER.split(",")
    assert is_shopify_orders_export(columns)
    assert not is_shopify_orders_export(["Name", "Email", "Total"])
    assert suggest_table(columns) == "orders"
    assert suggest_mapping(columns, "orders") == SHOPIFY_ORDERS_MAPPING


def test_shopify_export_collapses_line_items_into_orders() -> None:
    prepared = prepare_import(shopify_bytes(), "orders_export.csv", "orders", today=TODAY)
    assert prepared.is_shopify
    assert prepared.rows_read == 6
    assert prepared.rejected.empty
    valid = prepared.valid
    assert valid["order_id"].tolist() == ["#1001", "#1002", "#1003", "#1004"]
    assert [None if pd.isna(v) else v for v in valid["customer_id"]] == [
        "ann@example.com",
        "bob@example.com",
        None,
        "ann@example.com",
    ]
    # 10:23:45 at -05:00 is 15:23:45 UTC; 08:00 at +01:00 is 07:00 UTC.
    assert valid["ordered_at"].tolist() == [
        pd.Timestamp("2024-01-15 15:23:45"),
        pd.Timestamp("2024-01-16 07:00:00"),
        pd.Timestamp("2024-01-17 08:00:00"),
        pd.Timestamp("2024-01-18 08:00:00"),
    ]
    # revenue = Subtotal - Refunded Amount.
    assert valid["revenue"].tolist() == [45.0, 20.0, 10.0, 10.0]
    assert valid["discount_amount"].tolist() == [5.0, 0.0, 0.0, 0.0]
    assert valid["status"].tolist() == ["completed", "refunded", "cancelled", "cancelled"]
    assert valid["channel"].tolist() == ["web", "shopify_draft_order", "web", "web"]
    assert valid["coupon_code"].iloc[0] == "WELCOME"
    assert valid["currency"].tolist() == ["USD"] * 4


def test_shopify_related_order_items_and_customers() -> None:
    prepared = prepare_import(shopify_bytes(), "orders_export.csv", "orders", today=TODAY)
    items = prepared.related["order_items"]
    assert items[["order_id", "product_id", "product_name", "quantity"]].values.tolist() == [
        ["#1001", "MUG-1", "Mug", 3],
        ["#1001", "BEAN-1", "Beans", 1],
        ["#1002", "BEAN-1", "Beans", 1],
        ["#1003", "Tea", "Tea", 1],
        ["#1004", "Tea", "Tea", 1],
    ]
    assert items["line_revenue"].tolist() == [45.0, 20.0, 30.0, 10.0, 10.0]
    assert str(items["quantity"].dtype) == "int64"
    customers = prepared.related["customers"]
    assert customers["customer_id"].tolist() == ["ann@example.com", "bob@example.com"]
    assert customers["email"].tolist() == ["ann@example.com", "bob@example.com"]
    assert customers["name"].tolist() == ["Ann Lee", "Bob"]
    assert customers["country"].tolist() == ["CA", "DE"]
    # Ann said "no" on her newest order.
    assert customers["accepts_marketing"].tolist() == [False, False]
    assert customers["loyalty_member"].tolist() == [False, False]


def test_shopify_rows_of_one_order_may_come_in_any_order() -> None:
    shuffled = [SHOPIFY_ROWS[i] for i in (2, 5, 0, 4, 1, 3)]
    data = ("\n".join([SHOPIFY_HEADER, *shuffled]) + "\n").encode()
    prepared = prepare_import(data, "orders_export.csv", "orders", today=TODAY)
    valid = prepared.valid.sort_values("order_id", ignore_index=True)
    assert valid["revenue"].tolist() == [45.0, 20.0, 10.0, 10.0]
    assert valid["status"].tolist() == ["completed", "refunded", "cancelled", "cancelled"]
    items = prepared.related["order_items"].sort_values(["order_id", "product_id"])
    assert items["quantity"].tolist() == [1, 3, 1, 1, 1]
