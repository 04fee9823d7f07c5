"""Malformed files: each gets a clear message (what is wrong, how to fix it), nothing loads."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from retention.ingest.errors import (
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    IngestError,
    MappingError,
    NotTextFile,
    UnsupportedFile,
)
from retention.ingest.options import MAX_UPLOAD_BYTES, ReadOptions
from retention.ingest.prepare import prepare_import
from retention.ingest.readers import read_source

TODAY = date(2024, 12, 31)
GOOD = b"order_id,ordered_at,revenue\nA1,2024-01-01,10\n"


def prepare(data: bytes, name: str = "orders.csv", table: str = "orders", **kwargs: object):  # noqa: ANN201
    return prepare_import(data, name, table, today=TODAY, **kwargs)  # type: ignore[arg-type]


def test_upload_limit_is_200_mb() -> None:
    assert MAX_UPLOAD_BYTES == 200 * 1024 * 1024


@pytest.mark.parametrize("data", [b"", b"  \n\n", "\ufeff".encode()])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(EmptyFile, match=r"orders\.csv (is empty|has no text).*header row"):
        prepare(data)


def test_header_only() -> None:
    with pytest.raises(EmptyFile) as info:
        prepare(b"order_id,ordered_at,revenue\n")
    message = str(info.value)
    assert "has a header (columns: 'order_id', 'ordered_at', 'revenue') but no data rows" in message
    assert "Add rows below the header" in message


def test_wrong_delimiter_forced() -> None:
    with pytest.raises(IngestError) as info:
        prepare(GOOD, options=ReadOptions(delimiter=";"))
    message = str(info.value)
    assert "found 1 column ('order_id,ordered_at,revenue') reading with delimiter ';'" in message
    assert "the file seems to use ',', so set the delimiter to ','" in message


def test_missing_required_column() -> None:
    with pytest.raises(MappingError) as info:
        prepare(b"order_id,ordered_at,notes\nA1,2024-01-01,x\n")
    message = str(info.value)
    assert "required column 'revenue' of orders is not mapped" in message
    assert "The file's columns: 'order_id', 'ordered_at', 'notes'" in message
    assert "Map one of them to revenue" in message


def test_mapping_that_leaves_a_required_column_out() -> None:
    with pytest.raises(MappingError, match="required column 'ordered_at' of orders is not mapped"):
        prepare(GOOD, mapping={"order_id": "order_id", "revenue": "revenue"})


def test_column_mapped_twice() -> None:
    data = b"order_id,ordered_at,total,net\nA1,2024-01-01,10,9\n"
    mapping = {
        "order_id": "order_id",
        "ordered_at": "ordered_at",
        "total": "revenue",
        "net": "revenue",
    }
    with pytest.raises(MappingError) as info:
        prepare(data, mapping=mapping)
    assert "file columns 'total' and 'net' are both mapped to revenue; map only one" in str(
        info.value
    )


def test_mapping_names_a_column_not_in_the_file() -> None:
    with pytest.raises(MappingError) as info:
        prepare(
            GOOD, mapping={"Order ID": "order_id", "ordered_at": "ordered_at", "revenue": "revenue"}
        )
    assert "names file column 'Order ID', which is not in the file" in str(info.value)
    assert "'order_id', 'ordered_at', 'revenue'" in str(info.value)


def test_mapping_to_an_unknown_canonical_column() -> None:
    with pytest.raises(MappingError, match="'price' is not a column of orders; its columns are"):
        prepare(
            GOOD, mapping={"order_id": "order_id", "ordered_at": "ordered_at", "revenue": "price"}
        )


def test_unknown_table() -> None:
    with pytest.raises(IngestError, match="cannot import into 'customer_summary'; choose one of"):
        prepare(GOOD, table="customer_summary")


def test_text_in_every_amount_row_is_a_whole_file_error() -> None:
    data = b"order_id,ordered_at,revenue\nA1,2024-01-01,n/a\nA2,2024-01-02,free\n"
    with pytest.raises(IngestError) as info:
        prepare(data)
    message = str(info.value)
    assert "No value in column 'revenue' (mapped to revenue) could be read as an amount" in message
    assert "for example 'n/a', 'free'" in message
    assert "mapped wrongly" in message and "decimal mark" in message


def test_text_in_some_amount_rows_rejects_those_rows() -> None:
    data = b"order_id,ordered_at,revenue\nA1,2024-01-01,10\nA2,2024-01-02,free\n"
    prepared = prepare(data)
    assert prepared.valid["order_id"].tolist() == ["A1"]
    assert prepared.rejected["reason"].tolist() == [
        "amount 'free' in column 'revenue' is not a number"
    ]


def test_every_date_unreadable_is_a_whole_file_error() -> None:
    data = b"order_id,ordered_at,revenue\nA1,yesterday,10\nA2,soon,10\n"
    with pytest.raises(IngestError, match="could be read as a date in a known format"):
        prepare(data)


def test_two_date_formats_in_one_column() -> None:
    data = (
        b"order_id,ordered_at,revenue\n"
        b"A1,2024-01-31,1\nA2,2024-02-01,1\nA3,2024-02-02,1\nA4,31.01.2024,1\nA5,01.02.2024,1\n"
    )
    prepared = prepare(data)
    assert prepared.valid["order_id"].tolist() == ["A1", "A2", "A3"]
    assert prepared.rejected["line_number"].tolist() == [5, 6]
    assert prepared.rejected["reason"].tolist() == [
        "date '31.01.2024' in column 'ordered_at' does not match the column's date format %Y-%m-%d",
        "date '01.02.2024' in column 'ordered_at' does not match the column's date format %Y-%m-%d",
    ]
    assert prepared.warnings == (
        "Column 'ordered_at' mixes date formats: 3 values are %Y-%m-%d (used), 2 look like "
        "%d.%m.%Y; those rows were rejected. Make the column use one format.",
    )


def test_truncated_last_line() -> None:
    prepared = prepare(b"order_id,ordered_at,revenue\nA1,2024-01-01,10\nA2,2024-01-0")
    assert prepared.valid["order_id"].tolist() == ["A1"]
    assert prepared.rows_read == 2
    assert prepared.rejected.to_dict("records") == [
        {
            "line_number": 3,
            "raw": '{"order_id": "A2", "ordered_at": "2024-01-0"}',
            "reason": "truncated line: 2 of 3 fields",
        }
    ]


def xlsx() -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["order_id", "ordered_at", "revenue"])
    ws.append(["A1", "2024-01-01", 10])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "PNG image"),
        (b"%PDF-1.7\n" + bytes(40), "PDF"),
        (b"order_id\x00,revenue\x00\n", "NUL bytes"),
    ],
)
def test_binary_file_named_csv(data: bytes, kind: str) -> None:
    with pytest.raises(NotTextFile) as info:
        prepare(data)
    message = str(info.value)
    assert "orders.csv is not a text CSV file; it looks binary" in message
    assert kind in message
    assert "Export it as CSV" in message and "upload the .xlsx" in message


def test_xlsx_named_csv() -> None:
    with pytest.raises(NotTextFile, match=r"ZIP archive, e\.g\. an Excel \.xlsx workbook"):
        prepare(xlsx())


def test_file_over_the_upload_limit() -> None:
    with pytest.raises(FileTooLarge) as info:
        prepare(GOOD, max_bytes=10)
    message = str(info.value)
    assert f"orders.csv is {len(GOOD)} bytes, over the upload limit of 10 bytes" in message
    assert "python -m retention import orders.csv" in message
    big = prepare(GOOD, max_bytes=None)
    assert big.valid["order_id"].tolist() == ["A1"]


def test_size_is_checked_before_parsing() -> None:
    with pytest.raises(FileTooLarge, match=r"2\.0 KB, over the upload limit of 1\.0 KB"):
        read_source(b"\x00" * 2048, "junk.bin", max_bytes=1024)


@pytest.mark.parametrize("name", ["orders.json", "orders", "orders.xls"])
def test_unknown_extension(name: str) -> None:
    with pytest.raises(UnsupportedFile) as info:
        prepare(GOOD, name=name)
    assert "cannot be imported. Use CSV (.csv, .tsv, .txt), Excel (.xlsx) or Parquet" in str(
        info.value
    )


def test_old_xls_gets_a_hint() -> None:
    with pytest.raises(UnsupportedFile, match="save as .xlsx"):
        prepare(GOOD, name="orders.xls")


def test_corrupt_parquet() -> None:
    with pytest.raises(CorruptFile) as info:
        prepare(b"PAR1 this is not really parquet PAR1", name="orders.parquet")
    assert "orders.parquet cannot be read as a Parquet file" in str(info.value)
    assert "export it again, or export as CSV" in str(info.value)


def test_corrupt_xlsx() -> None:
    with pytest.raises(CorruptFile) as info:
        prepare(xlsx()[:300], name="orders.xlsx")
    assert "orders.xlsx cannot be opened as an Excel .xlsx workbook" in str(info.value)
    assert "save it as .xlsx, or export as CSV" in str(info.value)


def test_wrong_encoding_forced() -> None:
    data = "customer_id,name\nc1,Пётр\n".encode("cp1251")
    with pytest.raises(NotTextFile) as info:
        prepare(data, table="customers", options=ReadOptions(encoding="utf-8"))
    assert "cannot be read as utf-8" in str(info.value)
    assert "Choose another encoding (for example utf-8, cp1251 or cp1252)" in str(info.value)


def test_repeated_header_name() -> None:
    with pytest.raises(IngestError, match=r"names column 'total' twice \(columns 3 and 4\)"):
        prepare(b"order_id,ordered_at,total,total\nA1,2024-01-01,1,2\n")


def test_unclosed_quote_is_reported_on_its_line() -> None:
    data = b'order_id,ordered_at,revenue\nA1,2024-01-01,10\nA2,"2024-01-02,11\nA3,2024-01-03,12\n'
    prepared = prepare(data)
    assert prepared.valid["order_id"].tolist() == ["A1"]
    assert prepared.rejected["line_number"].tolist() == [3]
    assert prepared.rejected["reason"].tolist() == [
        "truncated line: 2 of 3 fields (an unclosed quote joined it with the lines after it)"
    ]
