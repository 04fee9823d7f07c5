"""The command line: sample, import, tables (run in-process through main())."""

from __future__ import annotations

from pathlib import Path

import pytest

from retention.cli import main
from retention.store import Store


def test_sample_then_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.duckdb"
    assert main(["sample", "--db", str(db), "--customers", "300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "orders" in out and "customer_summary" in out
    assert main(["tables", "--db", str(db)]) == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()[1:])
    with Store(db, read_only=True) as s:
        assert int(lines["orders"].replace(",", "")) == s.row_count("orders") > 300


def test_db_defaults_to_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("RETENTION_DB", str(db))
    assert main(["sample", "--customers", "50"]) == 0
    assert db.exists()


def test_tables_on_missing_file_explains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tables", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_sample_rejects_zero_customers(tmp_path: Path) -> None:
    assert main(["sample", "--db", str(tmp_path / "z.duckdb"), "--customers", "0"]) == 2
