"""The Model quality page under AppTest: the stored check, another check, empty states."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from retention.models.runs import data_range, list_runs
from retention.sample import build_sample_db
from retention.store import Store
from tests.apptest_helpers import assert_ok, copy_of, fitted_shop, metrics, open_page, use
from ui.nav import PAGES_DIR

PAGE = str(PAGES_DIR / "model_quality.py")
CALIBRATION_KEY = "quality.calibration_end"  # pages/model_quality.py
RUN_KEY = "quality.run"
RUN_CHECK = "FormSubmitter:quality.form-Run the check"
HOLDOUT_KPIS = [
    "Predicted purchases",
    "Actual purchases",
    "Error in total purchases",
    "Error in revenue",
]
CHURN_KPIS = [
    "ROC AUC, churn model",
    "ROC AUC, recency",
    "ROC AUC, BG/NBD no order",
    "ROC AUC, 1 − P(alive)",
]


@pytest.fixture(scope="module")
def fitted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-customer sample shop with the scores and the default check, as the CLI does."""
    return fitted_shop(Path(tmp_path_factory.mktemp("quality_page")) / "shop.duckdb")


def calibration_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Calibration: "))


def run_check(at: AppTest, end: date) -> None:
    at.date_input(key=CALIBRATION_KEY).set_value(end)
    at.button(key=RUN_CHECK).click().run()
    assert_ok(at)


def test_no_orders_points_to_the_data_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    use(path, monkeypatch)
    at = open_page(PAGE)
    assert at.title[0].value == "Model quality"
    assert any("import orders first" in i.value for i in at.info)
    assert [p.proto.label for p in at.get("page_link")] == ["Go to Data"]
    assert not at.metric


def test_orders_without_a_check_offer_to_run_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = use(build_sample_db(tmp_path / "shop.duckdb", 400, 7), monkeypatch)
    at = open_page(PAGE)
    assert any("No check has run on this data yet" in i.value for i in at.info)
    assert not at.metric
    end = at.date_input(key=CALIBRATION_KEY).value
    with Store(path) as s:
        first, last = data_range(s)
    assert first < end < last

    at.button(key=RUN_CHECK).click().run()
    assert_ok(at)
    assert not any("No check has run" in i.value for i in at.info)
    assert list(metrics(at))[:4] == HOLDOUT_KPIS
    assert f"to {end:%d %b %Y}; holdout" in calibration_caption(at)
    with Store(path) as s:
        assert [r.calibration_end for r in list_runs(s, "holdout")] == [end]


def test_default_view_of_the_fitted_sample_shop(
    fitted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(fitted_db, monkeypatch)
    with Store(fitted_db) as s:
        (check,) = list_runs(s, "holdout")
    at = open_page(PAGE)
    assert at.title[0].value == "Model quality"
    assert [h.value for h in at.subheader if h.value != "Filters"] == [
        "Verdict",
        "Repeat purchases over time",
        "Predicted vs actual, by orders in the calibration period",
        "Churn risk: does the score rank and calibrate well?",
        "Fitted parameters",
    ]
    assert any("sidebar filters do not apply" in c.value for c in at.caption)
    # The stored verdict, in plain words (its wording is holdout_verdict's).
    verdict = at.info[0].value
    assert verdict == "\n\n".join(check.summary["verdict"])
    assert f"{(check.holdout_end - check.calibration_end).days} days after" in verdict
    assert f"{check.calibration_end:%d %b %Y}" in verdict

    got = metrics(at)
    assert list(got) == HOLDOUT_KPIS + CHURN_KPIS
    totals = check.summary["totals"]
    assert got["Predicted purchases"] == f"{round(totals['predicted_purchases']):,}"
    assert got["Actual purchases"] == f"{round(totals['actual_purchases']):,}"
    assert got["Error in total purchases"] == f"{totals['purchases_error_pct']:+.1f}%"
    assert all(0 < float(got[k]) < 1 for k in CHURN_KPIS)
    assert all(m.help for m in at.metric)
    assert at.date_input(key=CALIBRATION_KEY).value == check.calibration_end
    assert (
        f"Calibration: 01 Nov 2023 to {check.calibration_end:%d %b %Y}; holdout: the "
        in calibration_caption(at)
    )
    assert any(c.value.startswith("Tested on ") for c in at.caption)
    # tracking, by frequency, churn calibration, churn drivers
    figures = [pio.from_json(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figures) == 4
    # Groups in orders, as the verdict counts them: bucket 0 (no repeat purchase) is 1 order.
    ticks = list(figures[1].data[0].x)
    assert ticks[0].startswith("1<br>n=") and ticks[-1].startswith("8+<br>n=")
    # One check only: nothing to choose.
    assert not [s for s in at.selectbox if s.label == "Check to show"]
    by_frequency, parameters = (d.value for d in at.dataframe)
    assert by_frequency["customers"].sum() == check.summary["customers"]
    assert parameters["parameter"].tolist() == ["r", "alpha", "a", "b", "p", "q", "gamma"]
    assert (parameters["estimate"] > 0).all()
    assert parameters["meaning"].str.len().gt(0).all()


def test_another_calibration_end_is_run_then_chosen(
    fitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(fitted_db, tmp_path, monkeypatch)
    at = open_page(PAGE)
    first_end = at.date_input(key=CALIBRATION_KEY).value
    first_caption = calibration_caption(at)
    new_end = date(2025, 10, 31)
    assert new_end != first_end

    run_check(at, new_end)
    with Store(path) as s:
        newer, older = list_runs(s, "holdout")
    assert (newer.calibration_end, older.calibration_end) == (new_end, first_end)
    chooser = at.selectbox(key=RUN_KEY)
    assert chooser.label == "Check to show"
    assert chooser.value == newer.run_id
    assert chooser.options[0].startswith("Calibration end 31 Oct 2025 (run ")
    assert "to 31 Oct 2025; holdout: the 365 days to 31 Oct 2026" in calibration_caption(at)
    assert "days after 31 Oct 2025" in at.info[0].value
    assert len(at.get("plotly_chart")) == 4

    chooser.set_value(older.run_id).run()
    assert_ok(at)
    assert calibration_caption(at) == first_caption
    assert f"days after {first_end:%d %b %Y}" in at.info[0].value
    # The form's date follows the chosen check.
    assert at.date_input(key=CALIBRATION_KEY).value == first_end


def test_a_late_calibration_end_leaves_churn_risk_out(
    fitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(fitted_db, tmp_path, monkeypatch)
    with Store(path) as s:
        _, last = data_range(s)
    at = open_page(PAGE)
    run_check(at, last - timedelta(days=30))
    assert any("Churn risk was not evaluated" in w.value for w in at.warning)
    assert any("churn-risk model was not evaluated" in i.value for i in at.info)
    assert list(metrics(at)) == HOLDOUT_KPIS
    assert len(at.get("plotly_chart")) == 2  # tracking, by frequency
