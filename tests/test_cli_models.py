"""The model commands: fit, fit --check, and the customer-scores / model-params tables."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from retention.cli import main
from retention.store import Store
from tests.cdnow import cdnow_orders_csv


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = Path(tmp_path_factory.mktemp("cli_models")) / "s.duckdb"
    assert main(["sample", "--db", str(db), "--customers", "1500", "--seed", "4", "--no-fit"]) == 0
    return db


def test_tables_need_a_fit_first(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["table", "customer-scores", "--db", str(shop)]) == 1
    assert "python -m retention fit" in capsys.readouterr().err


def test_fit_then_tables(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["fit", "--db", str(shop), "--horizon-days", "180", "--margin", "0.4"]) == 0
    out = capsys.readouterr().out
    assert "BG/NBD (weeks): r = " in out and "log-likelihood" in out
    assert "Gamma-Gamma: p = " in out and "churn risk: ROC AUC" in out

    assert main(["table", "customer-scores", "--db", str(shop)]) == 0
    scores = pd.read_csv(io.StringIO(capsys.readouterr().out))
    with Store(shop, read_only=True) as s:
        assert len(scores) == s.row_count("customer_summary")
        run = s.query("SELECT settings FROM model_runs ORDER BY run_id DESC LIMIT 1")
    assert json.loads(run["settings"].item())["margin"] == 0.4
    for column in ("p_alive", "expected_orders", "expected_spend", "predicted_cltv",
                   "predicted_cltv_low", "predicted_cltv_high", "churn_risk"):  # fmt: skip
        assert column in scores.columns
    assert (scores["predicted_cltv_low"] <= scores["predicted_cltv_high"]).all()

    assert main(["table", "model-params", "--db", str(shop), "--format", "json"]) == 0
    params = json.loads(capsys.readouterr().out)
    names = [f"{p['model']}.{p['parameter']}" for p in params]
    assert names == [
        "BG/NBD.r", "BG/NBD.alpha", "BG/NBD.a", "BG/NBD.b",
        "Gamma-Gamma.p", "Gamma-Gamma.q", "Gamma-Gamma.gamma",
    ]  # fmt: skip
    assert all(p["low_95"] < p["estimate"] < p["high_95"] for p in params)


def test_fit_check_prints_the_verdict(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["fit", "--db", str(shop), "--check", "--calibration-end", "2026-03-31"]) == 0
    out = capsys.readouterr().out
    assert "(holdout), orders up to 2026-03-31" in out
    assert "days after 31 Mar 2026, the model predicted" in out


def test_fit_rejects_bad_settings(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["fit", "--db", str(shop), "--margin", "2"]) == 2
    assert "margin must be above 0% and at most 100%" in capsys.readouterr().err
    assert main(["fit", "--db", str(shop), "--check", "--calibration-end", "2030-01-01"]) == 2
    assert "before the last order day" in capsys.readouterr().err


def test_import_refits_the_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "cdnow_orders.csv"
    csv.write_bytes(cdnow_orders_csv())
    db = tmp_path / "cdnow.duckdb"
    assert main(["import", str(csv), "--db", str(db), "--table", "orders"]) == 0
    err = capsys.readouterr().err
    assert "models: scores for 2,357 customers stored" in err
    assert "models: holdout check stored" in err
    with Store(db, read_only=True) as s:
        assert s.row_count("customer_scores") == 2357
    # The same file again changes nothing, so nothing is refitted.
    assert main(["import", str(csv), "--db", str(db), "--table", "orders"]) == 0
    assert "models:" not in capsys.readouterr().err
    other = tmp_path / "other.duckdb"
    assert main(["import", str(csv), "--db", str(other), "--table", "orders", "--no-fit"]) == 0
    with Store(other, read_only=True) as s:
        assert s.row_count("model_runs") == 0
