"""`python -m retention export` and `lift`: a file written, read back, recorded, then measured."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from retention.cli import main
from retention.ingest.load import load_frames
from retention.segments.saved import save_segment
from retention.store import Store
from tests.conftest import frame
from tests.test_targets import build_shop


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.duckdb"
    with Store(path) as store:
        build_shop(store)  # segments All and Big; c04, c06, c07 do not accept marketing
        save_segment(
            store, "No consent", {"attribute": "accepts_marketing", "operator": "is_false"}
        )
    return path


def test_export_then_lift_round_trip(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "list.csv"
    args = ["export", "--db", str(db), "--segment", "All", "--holdout-pct", "50", "--seed", "1"]
    assert main([*args, "--all-customers", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # 7 customers, 50% -> 3.5 -> 4 held out.
    assert f"wrote {out} (csv" in printed
    assert "export 1: segment 'All', 7 customers: 3 target, 4 holdout (50%, seed 1)" in printed
    assert "consent not checked" in printed and "lift --export-id 1" in printed
    listed = pd.read_csv(out, encoding="utf-8-sig")
    assert sorted(listed["customer_id"]) == [f"c0{i}" for i in range(1, 8)]
    assert listed["group"].value_counts().to_dict() == {"holdout": 4, "target": 3}
    assert listed.set_index("customer_id").loc["c02", "email"] == "'=cmd|' /C calc'!A0"
    with Store(db, read_only=True) as store:
        members = store.query('SELECT customer_id, "group" FROM export_members ORDER BY 1')
    assert members.set_index("customer_id")["group"].to_dict() == (
        listed.set_index("customer_id")["group"].to_dict()
    )

    # Later orders: c01 10, c02 20, c03 30 (and c01 again, 5), after the export's last day.
    later = [
        {"order_id": "n1", "customer_id": "c01", "ordered_at": "2024-04-03", "revenue": 10.0},
        {"order_id": "n2", "customer_id": "c02", "ordered_at": "2024-04-04", "revenue": 20.0},
        {"order_id": "n3", "customer_id": "c03", "ordered_at": "2024-04-05", "revenue": 30.0},
        {"order_id": "n4", "customer_id": "c01", "ordered_at": "2024-04-09", "revenue": 5.0},
    ]
    with Store(db) as store:
        load_frames(store, {"orders": frame("orders", later)}, source_name="later", replace=False)
    spent = {"c01": 15.0, "c02": 20.0, "c03": 30.0}
    group_of = listed.set_index("customer_id")["group"]
    assert main(["lift", "--db", str(db), "--export-id", "1", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["end"] == "2024-04-09" and result["days"] == 9  # 2024-04-01 .. 04-09
    for g in ("target", "holdout"):
        ids = group_of[group_of == g].index
        assert result[g]["customers"] == len(ids)
        assert result[g]["buyers"] == sum(c in spent for c in ids)
        assert result[g]["revenue"] == pytest.approx(sum(spent.get(c, 0.0) for c in ids))
    # Groups of 3 and 4 customers: flagged.
    assert any("fewer than 30" in w for w in result["warnings"])

    assert main(["lift", "--db", str(db), "--export-id", "1"]) == 0
    captured = capsys.readouterr()
    assert "export 1: segment 'All', made " in captured.out
    assert "orders from 2024-04-01 to 2024-04-09 (9 days)" in captured.out
    assert "repeat-purchase rate lift: " in captured.out and "(95% CI " in captured.out
    assert "revenue per customer lift: " in captured.out
    assert "warning: The target group has only 3 customers" in captured.err


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_default_file_name_and_other_formats(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from datetime import date

    monkeypatch.chdir(tmp_path)
    assert main(["export", "--db", str(db), "--segment", "All", "--format", fmt,
                 "--columns", "email,name", "offer"]) == 0  # fmt: skip
    path = tmp_path / f"all-{date.today().isoformat()}.{fmt}"
    assert path.is_file()
    back = pd.read_excel(path, engine="openpyxl") if fmt == "xlsx" else pd.read_parquet(path)
    assert back.columns.tolist() == ["email", "name", "offer", "group"]
    # Consent only by default: c01, c02, c03, c05; 10% of 4 = 0.4 -> nobody held out.
    assert len(back) == 4 and set(back["group"]) == {"target"}
    assert "'=cmd|' /C calc'!A0" in back["email"].tolist()
    assert "excluded (no marketing consent): 3" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_semicolon_without_bom(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    args = ["--delimiter", ";", "--no-bom", "--columns", "customer_id", "name"]
    assert main(["export", "--db", str(db), "--segment", "Big", *args, "--out", str(out)]) == 0
    data = out.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8").splitlines() == ["customer_id;name;group", "c01;Ann Lee;target"]
    back = pd.read_csv(io.BytesIO(data), sep=";")
    assert back.to_dict("records") == [{"customer_id": "c01", "name": "Ann Lee", "group": "target"}]


def test_export_errors(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["export", "--db", str(db), "--out", str(tmp_path / "e.csv")]
    assert main([*base, "--segment", "All", "--columns", "email", "phone"]) == 2
    assert "unknown column 'phone'; choose from: customer_id, email" in capsys.readouterr().err
    assert main([*base, "--segment", "Nope"]) == 2
    assert "saved segments: All, Big, No consent" in capsys.readouterr().err
    assert main([*base, "--segment", "All", "--holdout-pct", "101"]) == 2
    assert "0 to 100" in capsys.readouterr().err
    # Everyone in "No consent" lacks consent: nothing to export, nothing written or recorded.
    assert main([*base, "--segment", "No consent"]) == 1
    err = capsys.readouterr().err
    assert "3 members do not accept marketing (--all-customers includes them)" in err
    assert not (tmp_path / "e.csv").exists()
    assert main(["export", "--db", str(tmp_path / "none.duckdb"), "--segment", "All"]) == 2
    with Store(db, read_only=True) as store:
        assert store.row_count("exports") == 0


def test_lift_errors(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lift", "--db", str(db), "--export-id", "5"]) == 2
    assert "no export has id 5; recorded exports: none recorded yet" in capsys.readouterr().err
    assert main(["lift", "--db", str(tmp_path / "none.duckdb"), "--export-id", "1"]) == 2
