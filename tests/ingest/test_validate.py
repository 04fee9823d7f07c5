"""Row validation: typing, dates, statuses, keys, limits; each rejected row has a reason."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention.ingest.errors import AmbiguousDateFormat
from retention.ingest.options import ReadOptions
from retention.ingest.prepare import prepare_import
from retention.schema import table

TODAY = date(2024, 12, 31)


def prepare(text: str, table_name: str = "orders", **kwargs: object):  # noqa: ANN201
    return prepare_import(text.encode(), "file.csv", table_name, today=TODAY, **kwargs)  # type: ignore[arg-type]


def reasons(prepared) -> dict[int, str]:  # noqa: ANN001
    return dict(zip(prepared.rejected["line_number"], prepared.rejected["reason"], strict=True))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15", "2024-01-15 00:00:00"),
        ("2024-01-15 10:23", "2024-01-15 10:23:00"),
        ("2024-01-15T10:23:45", "2024-01-15 10:23:45"),
        ("2024-01-15T10:23:45Z", "2024-01-15 10:23:45"),
        ("2024-01-15 10:23:45 -0500", "2024-01-15 15:23:45"),
        ("2024-01-15T10:23:45+02:00", "2024-01-15 08:23:45"),
        ("15.01.2024", "2024-01-15 00:00:00"),
        ("15.01.2024 10:23", "2024-01-15 10:23:00"),
        ("01/15/2024", "2024-01-15 00:00:00"),
        ("15/01/2024", "2024-01-15 00:00:00"),
        ("01/15/2024 1:05 PM", "2024-01-15 13:05:00"),
    ],
)
def test_each_date_format(value: str, expected: str) -> None:
    prepared = prepare(f"order_id,ordered_at,revenue\nA1,{value},1\n")
    assert prepared.valid["ordered_at"].tolist() == [pd.Timestamp(expected)]


def test_ambiguous_day_month_asks_and_date_format_resolves() -> None:
    text = "order_id,ordered_at,revenue\nA1,01/02/2024,1\nA2,03/04/2024,2\n"
    with pytest.raises(AmbiguousDateFormat) as info:
        prepare(text)
    assert info.value.column == "ordered_at"
    assert info.value.candidates == ("%d/%m/%Y", "%m/%d/%Y")
    assert "fit more than one format" in str(info.value)
    day_first = prepare(text, options=ReadOptions(date_format="%d/%m/%Y"))
    assert day_first.valid["ordered_at"].tolist() == [
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2024-04-03"),
    ]
    month_first = prepare(text, options=ReadOptions(date_format="%m/%d/%Y"))
    assert month_first.valid["ordered_at"].tolist() == [
        pd.Timestamp("2024-01-02"),
        pd.Timestamp("2024-03-04"),
    ]


def test_one_day_above_12_settles_the_order() -> None:
    prepared = prepare("order_id,ordered_at,revenue\nA1,01/02/2024,1\nA2,13/04/2024,2\n")
    assert prepared.valid["ordered_at"].tolist() == [
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2024-04-13"),
    ]


def test_month_values_become_first_day_of_month() -> None:
    prepared = prepare(
        "month,channel,spend\n2024-01,google,100\n2024-02,google,80.5\n", "marketing_spend"
    )
    assert prepared.valid["date"].tolist() == [
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-02-01"),
    ]
    assert prepared.valid["spend"].tolist() == [100.0, 80.5]


def test_status_synonyms_and_unknown_status() -> None:
    text = (
        "order_id,ordered_at,revenue,status\n"
        "A1,2024-01-01,1,Paid\nA2,2024-01-01,1,fulfilled\nA3,2024-01-01,1,SUCCESS\n"
        "A4,2024-01-01,1,refund\nA5,2024-01-01,1,Partially Refunded\nA6,2024-01-01,1,canceled\n"
        "A7,2024-01-01,1,voided\nA8,2024-01-01,1,\nA9,2024-01-01,1,pending\n"
    )
    prepared = prepare(text)
    assert prepared.valid["status"].tolist() == [
        "completed",
        "completed",
        "completed",
        "refunded",
        "refunded",
        "cancelled",
        "cancelled",
        "completed",  # empty: the column's default
    ]
    assert reasons(prepared) == {
        10: "unknown status 'pending' (allowed: completed, refunded, cancelled)"
    }


def test_row_reasons() -> None:
    text = (
        "order_id,customer_id,ordered_at,revenue,status,discount_amount\n"
        "A1,c1,2024-01-01,10,completed,0\n"  # 2: fine
        ",c1,2024-01-01,10,completed,0\n"  # 3: missing id
        "A3,c1,not a date,10,completed,0\n"  # 4
        "A4,c1,2024-01-01,ten,completed,0\n"  # 5
        "A5,c1,2024-01-01,-5,completed,0\n"  # 6: negative, not refunded
        "A6,c1,2024-01-01,-5,refunded,0\n"  # 7: fine
        "A1,c2,2024-01-02,10,completed,0\n"  # 8: duplicate of line 2
        "A8,c1,2025-03-01,10,completed,0\n"  # 9: future
        "A9,c1,2024-01-01,10,completed,-1\n"  # 10: negative discount
        "A10,c1,,10,completed,0\n"  # 11: missing date
    )
    prepared = prepare(text)
    assert prepared.valid["order_id"].tolist() == ["A1", "A6"]
    assert prepared.valid["revenue"].tolist() == [10.0, -5.0]
    assert reasons(prepared) == {
        3: "missing order_id",
        4: "date 'not a date' in column 'ordered_at' is not a valid date (format %Y-%m-%d)",
        5: "amount 'ten' in column 'revenue' is not a number",
        6: "negative revenue -5.0 with status completed (only refunded orders may have "
        "negative revenue)",
        8: "duplicate order_id 'A1': line 2 has the same key (that row is kept)",
        9: "ordered_at 2025-03-01 00:00 is in the future (today is 2024-12-31)",
        10: "negative amount in discount_amount: -1.0",
        11: "missing ordered_at",
    }
    raw = json.loads(prepared.rejected["raw"].iloc[0])
    assert raw == {
        "order_id": "",
        "customer_id": "c1",
        "ordered_at": "2024-01-01",
        "revenue": "10",
        "status": "completed",
        "discount_amount": "0",
    }
    assert prepared.rows_read == 10
    assert prepared.rejected["line_number"].dtype == "int64"


def test_negative_revenue_with_an_empty_status_is_judged_as_completed() -> None:
    # An empty status is stored as completed, so a negative revenue there is rejected (this
    # used to crash while writing the reason).
    text = "order_id,ordered_at,revenue,status\nA1,2024-01-01,-5,\nA2,2024-01-01,-5,refunded\n"
    prepared = prepare(text)
    assert prepared.valid["order_id"].tolist() == ["A2"]
    assert reasons(prepared) == {
        2: "negative revenue -5.0 with status completed (only refunded orders may have "
        "negative revenue)"
    }


def test_duplicate_key_with_an_empty_part_is_named() -> None:
    # channel and device are empty (filled with 'all' later); this used to crash.
    text = "date,channel,device,sessions\n2024-01-01,,,10\n2024-01-01,web,,5\n2024-01-01,,,7\n"
    prepared = prepare(text, "traffic_daily")
    assert prepared.valid["sessions"].tolist() == [10, 5]
    assert reasons(prepared) == {
        4: "duplicate date '2024-01-01', channel (empty), device (empty): line 2 has the same "
        "key (that row is kept)"
    }


def test_counts_funnel_and_defaults_in_traffic() -> None:
    text = (
        "date,channel,sessions,product_views,add_to_carts,checkouts\n"
        "2024-01-01,email,100,50,20,10\n"
        "2024-01-02,,100,50,20,10\n"  # channel empty: 'all'
        "2024-01-03,email,-1,0,0,0\n"
        "2024-01-04,email,100,120,0,0\n"
        "2024-01-05,email,1.5,0,0,0\n"
        "2024-01-06,email,100,10,20,5\n"  # add_to_carts > product_views: kept, warned
    )
    prepared = prepare(text, "traffic_daily")
    valid = prepared.valid
    assert list(valid.columns) == list(table("traffic_daily").column_names)
    assert valid["channel"].tolist() == ["email", "all", "email"]
    assert valid["device"].tolist() == ["all", "all", "all"]
    assert valid["sessions"].tolist() == [100, 100, 100]
    assert str(valid["sessions"].dtype) == "int64"
    assert str(valid["checkouts"].dtype) == "Int64"
    assert reasons(prepared) == {
        4: "negative count in sessions: -1",
        5: "funnel: product_views (120) exceed sessions (100)",
        6: "value '1.5' in column 'sessions' is not a whole number",
    }
    assert prepared.warnings == (
        "1 rows have a later funnel step above an earlier one (for example more checkouts "
        "than add-to-carts); they were kept, but check the export.",
    )


def test_booleans_and_customer_defaults() -> None:
    text = (
        "customer_id,accepts_marketing,loyalty_member\n"
        "c1,yes,Y\nc2,no,n\nc3,TRUE,1\nc4,false,0\nc5,,\nc6,maybe,no\n"
    )
    prepared = prepare(text, "customers")
    valid = prepared.valid
    assert valid["accepts_marketing"].tolist() == [True, False, True, False, False]
    assert valid["loyalty_member"].tolist() == [True, False, True, False, False]
    assert str(valid["accepts_marketing"].dtype) == "bool"
    assert reasons(prepared) == {
        7: "value 'maybe' in column 'accepts_marketing' is not yes/no (use yes/no, true/false, "
        "1/0 or y/n)"
    }


def test_huge_field_rejects_its_row() -> None:
    blob = "x" * 10_001
    prepared = prepare(
        f"order_id,ordered_at,revenue,note\nA1,2024-01-01,1,ok\nA2,2024-01-01,1,{blob}\n"
    )
    assert prepared.valid["order_id"].tolist() == ["A1"]
    assert reasons(prepared) == {
        3: "field in column 'note' is 10,001 characters long (limit 10,000); look for an "
        "unclosed quote"
    }
    assert len(prepared.rejected["raw"].iloc[0]) < 1200


def test_valid_frame_follows_the_contract() -> None:
    prepared = prepare("order_id,ordered_at,revenue\nA1,2024-01-01 10:00,1.5\n")
    valid = prepared.valid
    assert list(valid.columns) == list(table("orders").column_names)
    assert {c: str(t) for c, t in valid.dtypes.items()} == {
        "order_id": "str",
        "customer_id": "str",
        "ordered_at": "datetime64[us]",
        "revenue": "float64",
        "discount_amount": "float64",
        "status": "str",
        "channel": "str",
        "coupon_code": "str",
        "currency": "str",
    }
    assert valid["discount_amount"].tolist() == [0.0]
    assert valid["status"].tolist() == ["completed"]
    assert valid["customer_id"].isna().tolist() == [True]


def test_amount_formats() -> None:
    text = (
        "order_id,ordered_at,revenue\n"
        'A1,2024-01-01,$12.50\nA2,2024-01-01,"1,234.50"\nA3,2024-01-01,(3.25)\n'
        "A4,2024-01-01,12.50 USD\nA5,2024-01-01,+7\nA6,2024-01-01,1e5\n"
    )
    prepared = prepare(text.replace("(3.25)", "3.25"))
    assert prepared.valid["revenue"].tolist() == [12.5, 1234.5, 3.25, 12.5, 7.0]
    assert reasons(prepared) == {7: "amount '1e5' in column 'revenue' is not a number"}


ORDER_LINES = [
    "A1,c1,2024-01-01,10,completed",
    "A2,c1,2024-01-02,-3,refunded",
    "A3,c2,31.01.2024,5,completed",
    "A4,c3,2024-01-04,x,completed",
    "A5,,2024-01-05,7,paid",
    "A6,c4,2024-01-06,8,weird",
    "A7,c4,2030-01-06,8,completed",
    "A8,c5,2024-01-08,1.5,Cancelled",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(ORDER_LINES))
def test_row_order_does_not_change_the_valid_set(lines: list[str]) -> None:
    prepared = prepare("order_id,customer_id,ordered_at,revenue,status\n" + "\n".join(lines))
    valid = prepared.valid.sort_values("order_id", ignore_index=True)
    assert valid["order_id"].tolist() == ["A1", "A2", "A5", "A8"]
    assert valid["revenue"].tolist() == [10.0, -3.0, 7.0, 1.5]
    assert sorted(prepared.rejected["reason"].str.split(" ").str[0]) == [
        "amount",
        "date",
        "ordered_at",
        "unknown",
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=30).filter(lambda s: not any(c in s for c in "\n\r\x00")))
def test_any_text_in_an_amount_column_never_crashes(value: str) -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["A1", "A2"],
            "ordered_at": ["2024-01-01", "2024-01-02"],
            "revenue": ["5", value],
        }
    )
    data = frame.to_csv(index=False).encode()
    prepared = prepare_import(
        data, "o.csv", "orders", today=TODAY, options=ReadOptions(delimiter=",")
    )
    assert prepared.valid["order_id"].iloc[0] == "A1"
    ok = len(prepared.valid) == 2
    rejected = not prepared.rejected.empty
    assert ok != rejected
    if rejected:
        assert prepared.rejected["line_number"].tolist() == [3]
        assert prepared.rejected["reason"].iloc[0] != ""
