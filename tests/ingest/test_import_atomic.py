"""Whole imports through the CLI: bad files change nothing; rejected rows are kept with reasons;
re-importing adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retention.cli import main
from retention.ingest.load import load_frames
from retention.schema import TABLES
from retention.store import Store
from tests.conftest import TINY_ORDERS, frame


def dump(db: Path) -> dict[str, pd.DataFrame]:
    with Store(db, read_only=True) as s:
        return {name: s.query(f'SELECT * FROM "{name}" ORDER BY ALL') for name in TABLES}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.duckdb"
    with Store(path) as s:
        load_frames(s, {"orders": frame("orders", TINY_ORDERS)}, source_name="tiny")
    return path


def run_import(db: Path, tmp_path: Path, name: str, data: bytes, *args: str) -> int:
    path = tmp_path / name
    path.write_bytes(data)
    return main(["import", str(path), "--db", str(db), "--table", "orders", *args])


HEADER = b"order_id,customer_id,ordered_at,revenue,status\n"

BAD_FILES: dict[str, tuple[str, bytes, str]] = {
    # case: (file name, bytes, words the error must contain)
    "empty file": ("empty.csv", b"", "empty"),
    "header only": ("header.csv", HEADER, "no data rows"),
    "missing required column": ("missing.csv", b"order_id,revenue\nA,1\n", "ordered_at"),
    "text in every amount": (
        "text.csv",
        HEADER + b"A,c,2024-01-01,abc,completed\nB,c,2024-01-02,xyz,completed\n",
        "revenue",
    ),
    "binary named csv": ("binary.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "binary"),
    "every row invalid": ("allbad.csv", HEADER + b",c,2024-01-01,5,completed\n", "validation"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_changes_nothing(
    db: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, data, words = BAD_FILES[case]
    before = dump(db)
    assert run_import(db, tmp_path, name, data) == 1
    err = capsys.readouterr().err
    assert words in err.lower() or words in err
    assert "nothing was imported" in err
    after = dump(db)
    for table_name in TABLES:
        pd.testing.assert_frame_equal(before[table_name], after[table_name], obj=table_name)


def test_column_mapped_twice_changes_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump(db)
    rc = run_import(
        db,
        tmp_path,
        "twice.csv",
        HEADER + b"A,c,2024-01-01,5,completed\n",
        "--map",
        "order_id=order_id",
        "--map",
        "customer_id=order_id",
        "--map",
        "ordered_at=ordered_at",
        "--map",
        "revenue=revenue",
    )
    assert rc == 1
    assert "order_id" in capsys.readouterr().err
    pd.testing.assert_frame_equal(before["orders"], dump(db)["orders"])


def test_ambiguous_dates_ask_and_change_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = HEADER + b"A,c,01/02/2024,5,completed\nB,c,03/04/2024,6,completed\n"
    assert run_import(db, tmp_path, "ambiguous.csv", data) == 2
    err = capsys.readouterr().err
    assert "--date-format '%d/%m/%Y'" in err and "--date-format '%m/%d/%Y'" in err
    assert run_import(db, tmp_path, "ambiguous.csv", data, "--date-format", "%d/%m/%Y") == 0
    with Store(db, read_only=True) as s:
        assert str(s.scalar("SELECT ordered_at FROM orders WHERE order_id = 'B'"))[:10] == (
            "2024-04-03"
        )


def test_rejected_rows_are_kept_with_reasons(db: Path, tmp_path: Path) -> None:
    data = (
        HEADER
        + b"N1,c1,2024-05-01,10,completed\n"  # line 2: fine
        + b"N2,c1,2024-05-02,-5,completed\n"  # line 3: negative revenue, not a refund
        + b"N3,c2,2024-05-03,12,shipped\n"  # line 4: unknown status
        + b"N1,c3,2024-05-04,9,completed\n"  # line 5: duplicate of line 2
        + b"N5,c4,2099-01-01,9,completed\n"  # line 6: in the future
        + b'N6,"=HYPERLINK(""http://x"")",2024-05-05,8,completed\n'  # line 7: kept as text
        + b"N7,c5,2024-05-06,-3,refunded\n"  # line 8: negative refund is allowed
        + b"N8,c6,2024-05-07,"
        + b"9" * 20_000
        + b",completed\n"  # line 9: huge field
    )
    assert run_import(db, tmp_path, "mixed.csv", data) == 0
    with Store(db, read_only=True) as s:
        loaded = s.query(
            "SELECT order_id, customer_id FROM orders WHERE order_id LIKE 'N%' ORDER BY order_id"
        )
        rejected = s.query(
            "SELECT line_number, reason, raw FROM rejected_rows ORDER BY line_number"
        )
        imports = s.query("SELECT * FROM imports ORDER BY import_id DESC LIMIT 1").iloc[0]
    assert loaded["order_id"].tolist() == ["N1", "N6", "N7"]
    assert loaded.set_index("order_id").loc["N6", "customer_id"] == '=HYPERLINK("http://x")'
    assert rejected["line_number"].tolist() == [3, 4, 5, 6, 9]
    reasons = rejected["reason"].tolist()
    assert "negative" in reasons[0]
    assert "shipped" in reasons[1] and "completed" in reasons[1]
    assert "duplicate" in reasons[2] and "line 2" in reasons[2]
    assert "future" in reasons[3]
    assert "10000" in reasons[4].replace(",", "") or "long" in reasons[4]
    assert json.loads(rejected["raw"].iloc[0])["revenue"] == "-5"
    assert (imports["rows_read"], imports["rows_loaded"], imports["rows_rejected"]) == (8, 3, 5)


def test_reimport_adds_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = HEADER + b"R1,c1,2024-05-01,10,completed\nR2,c2,2024-05-02,20,completed\n"
    assert run_import(db, tmp_path, "r.csv", data) == 0
    before = dump(db)
    capsys.readouterr()
    assert run_import(db, tmp_path, "r.csv", data) == 0
    assert "already imported" in capsys.readouterr().out
    after = dump(db)
    for table_name in TABLES:
        pd.testing.assert_frame_equal(before[table_name], after[table_name], obj=table_name)


def test_overlapping_file_adds_only_new_rows(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = HEADER + b"R1,c1,2024-05-01,10,completed\nR2,c2,2024-05-02,20,completed\n"
    second = HEADER + b"R2,c2,2024-05-02,20,completed\nR3,c3,2024-05-03,30,completed\n"
    assert run_import(db, tmp_path, "a.csv", first) == 0
    capsys.readouterr()
    assert run_import(db, tmp_path, "b.csv", second) == 0
    out = capsys.readouterr().out
    assert "1 new, 0 updated, 1 unchanged" in out
    with Store(db, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM orders WHERE order_id LIKE 'R%'") == 3


def test_cli_reports_counts(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = HEADER + b"C1,c1,2024-05-01,10,completed\nC2,c2,2024-05-02,abc,completed\n"
    assert run_import(db, tmp_path, "c.csv", data) == 0
    out = capsys.readouterr().out
    assert "rows read: 2" in out and "rows loaded: 1" in out and "rows rejected: 1" in out
