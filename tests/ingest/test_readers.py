"""Reading CSV (sniffing), Parquet and Excel into text frames with line numbers."""

from __future__ import annotations

import io
from datetime import date, datetime

import pandas as pd
import pytest
from openpyxl import Workbook

from retention.ingest.errors import IngestError
from retention.ingest.options import ReadOptions
from retention.ingest.prepare import prepare_import
from retention.ingest.readers import read_source

TODAY = date(2024, 12, 31)


def rows(frame: pd.DataFrame) -> list[list[object]]:
    """Cells as plain Python values, missing as None."""
    return [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_sniffed(delimiter: str) -> None:
    text = delimiter.join(["order_id", "customer_id", "ordered_at", "revenue"]) + "\n"
    text += delimiter.join(["A1", "c1", "2024-01-02", "10.5"]) + "\n"
    text += delimiter.join(["A2", "c2", "2024-01-03", "7"]) + "\n"
    source = read_source(text.encode(), "orders.csv")
    assert source.options.delimiter == delimiter
    assert list(source.frame.columns) == ["order_id", "customer_id", "ordered_at", "revenue"]
    assert rows(source.frame) == [
        ["A1", "c1", "2024-01-02", "10.5"],
        ["A2", "c2", "2024-01-03", "7"],
    ]
    assert source.line_numbers.tolist() == [2, 3]
    assert source.source_format == "csv"


def test_decimal_comma_with_semicolons() -> None:
    data = (
        b"order_id;ordered_at;revenue\n"
        b"A1;2024-01-02;12,50\nA2;2024-01-03;1.234,50\nA3;2024-01-04;7\n"
    )
    prepared = prepare_import(data, "o.csv", "orders", today=TODAY)
    assert prepared.options.decimal == ","
    assert prepared.valid["revenue"].tolist() == [12.5, 1234.5, 7.0]


def test_thousands_separators_with_decimal_dot() -> None:
    data = b'order_id,ordered_at,revenue\nA1,2024-01-02,"1,234.50"\nA2,2024-01-03,12.25\n'
    prepared = prepare_import(data, "o.csv", "orders", today=TODAY)
    assert prepared.options.decimal == "."
    assert prepared.valid["revenue"].tolist() == [1234.5, 12.25]


def test_decimal_option_overrides_the_sniffer() -> None:
    data = b"order_id;ordered_at;revenue\nA1;2024-01-02;1.234\n"
    as_dot = prepare_import(data, "o.csv", "orders", options=ReadOptions(decimal="."), today=TODAY)
    as_comma = prepare_import(
        data, "o.csv", "orders", options=ReadOptions(decimal=","), today=TODAY
    )
    assert as_dot.valid["revenue"].tolist() == [1.234]
    assert as_comma.valid["revenue"].tolist() == [1234.0]


CYRILLIC = "customer_id;name;country\nc1;Пётр Иванов;RU\nc2;Анна Смирнова;RU\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (CYRILLIC.encode("utf-8"), "utf-8"),
        (CYRILLIC.encode("utf-8-sig"), "utf-8-sig"),
        (CYRILLIC.encode("cp1251"), "cp1251"),
    ],
)
def test_encodings_round_trip_cyrillic(data: bytes, encoding: str) -> None:
    prepared = prepare_import(data, "customers.csv", "customers", today=TODAY)
    assert prepared.options.encoding == encoding
    assert prepared.valid["customer_id"].tolist() == ["c1", "c2"]
    assert prepared.valid["name"].tolist() == ["Пётр Иванов", "Анна Смирнова"]


def test_bom_does_not_leak_into_the_first_header() -> None:
    source = read_source("order_id,revenue\nA1,1\n".encode("utf-8-sig"), "o.csv")
    assert list(source.frame.columns) == ["order_id", "revenue"]


def test_western_cp1252_is_not_mistaken_for_cyrillic() -> None:
    data = "customer_id,name\nc1,José Müller\nc2,Zoë Brontë\n".encode("cp1252")
    source = read_source(data, "c.csv")
    assert source.options.encoding == "cp1252"
    assert source.frame["name"].tolist() == ["José Müller", "Zoë Brontë"]


def test_line_numbers_count_quoted_newlines_and_blank_lines() -> None:
    data = b'order_id,note\nA1,"two\nlines"\n\nA2,plain\nA3,"x"\n'
    source = read_source(data, "o.csv")
    assert source.frame["order_id"].tolist() == ["A1", "A2", "A3"]
    assert source.frame["note"].tolist() == ["two\nlines", "plain", "x"]
    assert source.line_numbers.tolist() == [2, 5, 6]


def test_truncated_last_line_is_a_problem_not_a_row() -> None:
    data = b"order_id,customer_id,revenue\nA1,c1,10\nA2,c2"
    source = read_source(data, "o.csv")
    assert source.frame["order_id"].tolist() == ["A1"]
    assert source.problems["line_number"].tolist() == [3]
    assert source.problems["reason"].tolist() == ["truncated line: 2 of 3 fields"]
    assert source.problems["raw"].tolist() == ['{"order_id": "A2", "customer_id": "c2"}']
    assert source.rows_read == 2


def test_too_many_fields_is_a_problem() -> None:
    data = b"order_id,revenue\nA1,10\nA2,1,5\n"
    source = read_source(data, "o.csv")
    assert source.problems["line_number"].tolist() == [3]
    assert source.problems["reason"].iloc[0].startswith("too many fields: 3 where the header has 2")


def test_formulas_stay_text_in_csv() -> None:
    data = (
        b"order_id,ordered_at,revenue,coupon_code,channel\n"
        b'A1,2024-01-02,10,"=HYPERLINK(""http://x"",""y"")",+1\n'
        b"A2,2024-01-03,11,@SUM(A1:A2),-2\n"
    )
    prepared = prepare_import(data, "o.csv", "orders", today=TODAY)
    assert prepared.valid["coupon_code"].tolist() == ['=HYPERLINK("http://x","y")', "@SUM(A1:A2)"]
    assert prepared.valid["channel"].tolist() == ["+1", "-2"]


def test_parquet_round_trip() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["A1", "A2"],
            "customer_id": ["c1", None],
            "ordered_at": pd.to_datetime(["2024-01-02 10:00:00", "2024-01-03 11:30:00"]),
            "revenue": [10.5, 20.0],
            "discount_amount": [0.0, 2.5],
            "status": ["completed", "refunded"],
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    prepared = prepare_import(buffer.getvalue(), "orders.parquet", "orders", today=TODAY)
    assert prepared.source_format == "parquet"
    valid = prepared.valid
    assert valid["order_id"].tolist() == ["A1", "A2"]
    assert rows(valid[["customer_id"]]) == [["c1"], [None]]
    assert valid["ordered_at"].tolist() == [
        pd.Timestamp("2024-01-02 10:00:00"),
        pd.Timestamp("2024-01-03 11:30:00"),
    ]
    assert valid["revenue"].tolist() == [10.5, 20.0]
    assert valid["discount_amount"].tolist() == [0.0, 2.5]
    assert valid["status"].tolist() == ["completed", "refunded"]


def test_parquet_timezone_aware_timestamps_become_utc() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["A1"],
            "ordered_at": pd.to_datetime(["2024-01-15 10:23:45-05:00"]),
            "revenue": [1.0],
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    prepared = prepare_import(buffer.getvalue(), "o.parquet", "orders", today=TODAY)
    assert prepared.valid["ordered_at"].tolist() == [pd.Timestamp("2024-01-15 15:23:45")]


def xlsx_bytes(sheet_rows: list[list[object]], title: str = "Orders") -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = title
    for row in sheet_rows:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_round_trip_with_line_numbers_and_formulas_as_text() -> None:
    data = xlsx_bytes(
        [
            ["Order ID", "Order Date", "Total", "Coupon", "Channel"],
            ["A1", datetime(2024, 1, 2, 10, 0), 10.5, "WELCOME", "email"],
            [None, None, None, None, None],
            [1002, datetime(2024, 1, 3), 20, '=HYPERLINK("http://x")', "=1+1"],
        ]
    )
    source = read_source(data, "orders.xlsx")
    assert source.source_format == "xlsx"
    assert source.options.sheet == "Orders"
    assert source.line_numbers.tolist() == [2, 4]
    prepared = prepare_import(data, "orders.xlsx", "orders", today=TODAY)
    valid = prepared.valid
    assert valid["order_id"].tolist() == ["A1", "1002"]
    assert valid["ordered_at"].tolist() == [
        pd.Timestamp("2024-01-02 10:00:00"),
        pd.Timestamp("2024-01-03 00:00:00"),
    ]
    assert valid["revenue"].tolist() == [10.5, 20.0]
    # openpyxl stores these as formulas with no cached value: they are kept as their text.
    assert valid["coupon_code"].tolist() == ["WELCOME", '=HYPERLINK("http://x")']
    assert valid["channel"].tolist() == ["email", "=1+1"]


def test_xlsx_named_sheet_and_missing_sheet() -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Notes"
    first.append(["nothing here"])
    second = book.create_sheet("Spend")
    second.append(["Month", "Channel", "Cost"])
    second.append(["2024-01", "google", 100])
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    prepared = prepare_import(
        data, "spend.xlsx", "marketing_spend", options=ReadOptions(sheet="Spend"), today=TODAY
    )
    assert prepared.valid["date"].tolist() == [pd.Timestamp("2024-01-01")]
    assert prepared.valid["spend"].tolist() == [100.0]
    with pytest.raises(IngestError, match="no sheet named 'Orders'; its sheets: 'Notes', 'Spend'"):
        read_source(data, "spend.xlsx", ReadOptions(sheet="Orders"))
