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


def test_table_kpis_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import json

    import pandas as pd

    from retention.ingest.load import load_frames
    from tests.conftest import TINY_ORDERS, frame

    db = tmp_path / "k.duckdb"
    with Store(db) as s:
        load_frames(s, {"orders": frame("orders", TINY_ORDERS)}, source_name="tiny")
    capsys.readouterr()
    assert main(["table", "kpis", "--db", str(db), "--days", "90", "--end", "2024-03-31"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    latest = table[table["period_index"] == 0].set_index("metric")["value"]
    # 2024-01-02 .. 2024-03-31 holds every counted order of the tiny shop: 5 orders, 215
    assert latest["orders"] == 5 and latest["revenue"] == 215.0 and latest["customers"] == 2
    assert table["period_last_day"].iloc[0] == "2024-03-31"
    args = ["table", "kpis", "--db", str(db), "--format", "json", "--channel", "email"]
    assert main([*args, "--days", "30"]) == 0
    rows = json.loads(capsys.readouterr().out)
    orders = [r["value"] for r in rows if r["metric"] == "orders" and r["period_index"] == 0]
    # 30 days ending on the last order day, Mar 10: customer a (email) has o2 (Feb 10 noon)
    # and o3 (Mar 1); the guest order o7 is out under a channel filter.
    assert orders == [2]
