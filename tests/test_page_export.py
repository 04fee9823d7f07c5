"""The Export page under AppTest: prepare a target list, record it, measure its lift."""

from __future__ import annotations

from pathlib import Path

import pytest

from retention.ingest.load import load_frames
from retention.segments.saved import save_segment
from retention.store import Store
from retention.targets import list_exports
from tests.apptest_helpers import assert_ok, copy_of, fitted_shop, metrics, open_page, use
from tests.conftest import frame
from ui.nav import PAGES_DIR

PAGE = str(PAGES_DIR / "export.py")
PREPARE = "FormSubmitter:export.form-Prepare the file"
AT_RISK = {"op": "and", "rules": [
    {"attribute": "rfm_segment", "operator": "in", "value": ["At Risk", "Can't Lose"]},
]}  # fmt: skip


@pytest.fixture(scope="module")
def shop_with_segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fitted_shop(Path(tmp_path_factory.mktemp("export_page")) / "shop.duckdb", 1500)
    with Store(path) as s:
        save_segment(s, "At risk", AT_RISK, "Win-back")
        s.checkpoint()
    return path


def test_prepare_record_and_lift(
    shop_with_segment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(shop_with_segment, tmp_path, monkeypatch)
    at = open_page(PAGE)
    assert any("No list has been exported yet" in i.value for i in at.info)
    at.number_input(key="export.holdout_pct").set_value(20.0)
    at.button(key=PREPARE).click().run()
    assert_ok(at)
    shown = metrics(at)
    target, holdout = (
        int(shown["To contact (target)"].replace(",", "")),
        int(shown["Held out"].replace(",", "")),
    )
    with Store(path) as s:  # the app's own process holds the file read-write
        exports = list_exports(s)
        members = s.query('SELECT "group", count(*) AS n FROM export_members GROUP BY 1')
        consenting = s.scalar(
            "SELECT count(*) FROM segment_members JOIN customer_summary USING (customer_id) "
            "WHERE accepts_marketing"
        )
    assert len(exports) == 1 and exports["holdout_pct"].item() == 20.0
    assert target + holdout == consenting == exports["customers"].item()
    assert dict(zip(members["group"], members["n"], strict=True)) == {
        "target": target,
        "holdout": holdout,
    }
    assert holdout == round(consenting * 0.2) or abs(holdout - consenting * 0.2) <= 0.5
    # The lift of the export just made: no days have passed, so no figures, only the reason.
    assert "Lift in repeat-purchase rate" not in metrics(at)
    assert any("No days have passed" in w.value for w in at.warning)
    # Orders arrive after the export: two target customers buy once each.
    with Store(path) as s:
        buyers = s.query(
            "SELECT customer_id FROM export_members WHERE \"group\" = 'target' "
            "ORDER BY customer_id LIMIT 2"
        )["customer_id"].tolist()
        late = frame(
            "orders",
            [{"order_id": f"late-{i}", "customer_id": c, "ordered_at": "2026-11-15",
              "revenue": 50.0} for i, c in enumerate(buyers)],
        )  # fmt: skip
        load_frames(s, {"orders": late}, source_name="late", replace=False)
    at.run()
    assert_ok(at)
    shown = metrics(at)
    # 2 of the target customers bought; nobody in the holdout.
    assert shown["Bought again, target"] == f"{2 / target:.1%}"
    assert shown["Bought again, holdout"] == "0.0%"
    assert shown["Lift in repeat-purchase rate"] == f"{100 * 2 / target:+.1f} pp"


def test_no_segment_says_where_to_build_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fitted_shop(tmp_path / "shop.duckdb", 300)
    use(path, monkeypatch)
    at = open_page(PAGE)
    assert any("No segment is saved yet" in i.value for i in at.info)


def test_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "empty.duckdb"):
        pass
    use(tmp_path / "empty.duckdb", monkeypatch)
    at = open_page(PAGE)
    assert any("no orders yet" in i.value for i in at.info)
