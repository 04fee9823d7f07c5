"""Model runs: what a refit stores, that it stores it atomically, staleness, and settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from retention.ingest.load import load_frames
from retention.models import runs
from retention.models.settings import ModelSettings, load_settings, save_settings
from retention.sample import build_sample_db
from retention.store import Store
from tests.cdnow import CALIBRATION_END, HOLDOUT_END, import_cdnow
from tests.conftest import frame


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("runs")) / "shop.duckdb"
    build_sample_db(path, 2000, 21)
    with Store(path) as s:
        yield s


def test_fit_scores_stores_one_row_per_customer(shop: Store) -> None:
    run = runs.fit_scores(shop)
    assert run.purpose == "scores"
    summary_customers = shop.scalar("SELECT count(*) FROM customer_summary")
    assert (
        shop.row_count("customer_scores") == summary_customers == run.summary["totals"]["customers"]
    )
    assert shop.scalar("SELECT sum(customers) FROM score_cells") == summary_customers
    scores = shop.query("SELECT * FROM customer_scores")
    assert (scores["run_id"] == run.run_id).all()
    assert scores["p_alive"].between(0, 1).all()
    ok = scores["predicted_cltv_low"] <= scores["predicted_cltv"] + 1e-9
    assert ok.all() and (scores["predicted_cltv"] <= scores["predicted_cltv_high"] + 1e-9).all()
    risk = scores["churn_risk"].dropna()
    assert len(risk) > 0.3 * len(scores) and risk.between(0, 1).all()
    # Cells hold the same totals as the customers, at the estimate and per draw.
    cells = shop.query("SELECT predicted_cltv, predicted_cltv_draws FROM score_cells")
    assert cells["predicted_cltv"].sum() == pytest.approx(scores["predicted_cltv"].sum())
    draws = np.vstack(cells["predicted_cltv_draws"].to_numpy()).sum(axis=0)
    assert len(draws) == run.settings.draws
    assert np.quantile(draws, 0.1) <= scores["predicted_cltv"].sum() <= np.quantile(draws, 0.9)
    assert run.bgnbd["converged"] and run.bgnbd["identified"]
    assert run.calibration_end == runs.data_range(shop)[1]
    assert not runs.scores_are_stale(shop, run)


def test_only_the_newest_scores_are_kept(shop: Store) -> None:
    first = runs.fit_scores(shop)
    second = runs.fit_scores(shop, settings=replace(load_settings(shop), margin=0.5))
    assert second.run_id == first.run_id + 1
    assert set(shop.query("SELECT DISTINCT run_id FROM customer_scores")["run_id"]) == {
        second.run_id
    }
    assert set(shop.query("SELECT DISTINCT run_id FROM score_cells")["run_id"]) == {second.run_id}
    # The margin multiplies CLTV; the same seed gives the same draws, so exactly half.
    assert second.summary["totals"]["predicted_cltv"] == pytest.approx(
        0.5 * first.summary["totals"]["predicted_cltv"], rel=1e-9
    )
    assert second.summary["totals"]["predicted_cltv_low"] == pytest.approx(
        0.5 * first.summary["totals"]["predicted_cltv_low"], rel=1e-9
    )
    assert [r.run_id for r in runs.list_runs(shop, "scores")][:2] == [second.run_id, first.run_id]


def test_a_failed_refit_changes_nothing(shop: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    runs.fit_scores(shop)
    before = (shop.data_version(), shop.row_count("model_runs"), shop.row_count("customer_scores"))

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs, "_insert_run", lambda tx, values: boom())
    with pytest.raises(RuntimeError, match="disk full"):
        runs.fit_scores(shop)
    after = (shop.data_version(), shop.row_count("model_runs"), shop.row_count("customer_scores"))
    assert after == before


def test_holdout_run(shop: Store) -> None:
    first, last = runs.data_range(shop)
    run = runs.run_holdout(shop)
    assert run.purpose == "holdout"
    assert run.holdout_end == last
    assert run.calibration_end == first + timedelta(days=int((last - first).days * 0.75))
    assert run.summary["verdict"] and "days after" in run.summary["verdict"][0]
    assert run.churn_risk is not None and run.churn_risk["metrics"]["auc_model"] > 0.6
    by_x = run.summary["by_frequency"]
    assert sum(row["customers"] for row in by_x) == run.summary["customers"]
    with pytest.raises(ValueError, match="before the last order day"):
        runs.run_holdout(shop, calibration_end=last)
    with pytest.raises(ValueError, match="before the first order"):
        runs.run_holdout(shop, calibration_end=first - timedelta(days=1))


def test_stale_after_import(shop: Store) -> None:
    run = runs.fit_scores(shop)
    extra = frame(
        "orders",
        [{"order_id": "late-1", "customer_id": "C000001", "ordered_at": "2026-10-30",
          "revenue": 10, "status": "completed"}],
    )  # fmt: skip
    load_frames(shop, {"orders": extra}, source_name="late", replace=False)
    assert runs.scores_are_stale(shop, run)


def test_empty_file_says_import_first(store: Store) -> None:
    with pytest.raises(runs.NoOrdersError, match="import orders first"):
        runs.fit_scores(store)
    assert runs.refresh_models(store)[0].startswith("the models were not refitted")
    assert store.row_count("model_runs") == 0


def test_cdnow_through_the_import_path(tmp_path: Path) -> None:
    with Store(tmp_path / "cdnow.duckdb") as s:
        import_cdnow(s)
        settings = replace(load_settings(s), unit="week")
        check = runs.run_holdout(s, calibration_end=CALIBRATION_END, settings=settings)
        assert check.holdout_end == HOLDOUT_END
        params = check.bgnbd["params"]
        assert round(params["r"], 3) == 0.243 and round(params["b"], 3) == 2.426
        assert check.summary["totals"]["actual_purchases"] == 1882
        scores = runs.fit_scores(s, calibration_end=CALIBRATION_END, settings=settings)
        row = s.query(
            'SELECT frequency, recency, "T", expected_orders FROM customer_scores '
            "WHERE customer_id = 'c0001'"
        ).iloc[0]
        assert (row["frequency"], round(row["recency"], 2), round(row["T"], 2)) == (2, 30.43, 38.86)
        assert scores.gamma_gamma is not None
        assert round(scores.gamma_gamma["params"]["q"], 2) == 3.74


# --- settings ---------------------------------------------------------------------------


def test_settings_round_trip(store: Store) -> None:
    assert load_settings(store) == ModelSettings()
    mine = ModelSettings(unit="day", horizon_days=180, margin=0.4, annual_discount_rate=0.08)
    save_settings(store, mine)
    assert load_settings(store) == mine
    stored = json.loads(store.scalar("SELECT value FROM meta WHERE key = 'model_settings'"))
    stored["from_a_newer_version"] = 1
    assert ModelSettings.from_dict(stored) == mine


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("margin", 0.0, "margin"),
        ("margin", 1.5, "margin"),
        ("horizon_days", 0, "horizon"),
        ("annual_discount_rate", 1.0, "discount rate"),
        ("interval", 0.3, "interval"),
        ("unit", "month", "unit"),
        ("churn_horizon_days", 3, "churn horizon"),
        ("draws", 5, "draws"),
    ],
)
def test_settings_are_checked(field: str, bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelSettings(**{field: bad})  # type: ignore[arg-type]


def test_run_records_its_settings(shop: Store) -> None:
    run = runs.fit_scores(shop, settings=ModelSettings(horizon_days=90, draws=50))
    assert run.settings.horizon_days == 90 and run.settings.draws == 50
    cells = shop.query("SELECT len(predicted_cltv_draws) AS n FROM score_cells LIMIT 1")
    assert cells["n"].item() == 50
    assert runs.latest_run(shop, "scores") == run
    assert date.fromisoformat(run.summary["last_day"]) == runs.data_range(shop)[1]


def test_refunded_repeat_buyers_are_a_note_not_a_warning(shop: Store) -> None:
    run = runs.fit_scores(shop)
    refunded = shop.scalar(
        "SELECT count(*) FROM customer_scores WHERE frequency > 0 AND monetary_value <= 0"
    )
    assert refunded > 0  # the sample shop has customers whose repeat orders were all refunded
    assert run.summary["notes"] == [
        f"{refunded:,} customers whose repeat orders were all refunded were left out of the "
        "spend model's fit (it needs spend above 0); their expected value per order is pulled "
        "towards 0."
    ]
    assert not any("refunded" in w for w in run.warnings)
