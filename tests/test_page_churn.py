"""The Churn page under AppTest: empty states, the data-driven threshold, the split control."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from retention.ingest.load import load_frames
from retention.metrics import churn
from retention.sample import build_sample_db
from retention.store import Store
from tests.conftest import frame
from ui import state
from ui.churn_view import INACTIVITY_KEY, SPLIT_KEY
from ui.nav import PAGES_DIR

APP = str(Path(__file__).resolve().parent / "app_entry.py")
PAGE = str(PAGES_DIR / "churn.py")


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("churn_page")) / "shop.duckdb"
    build_sample_db(path, 400, 3)
    return path


def _db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, object]]) -> None:
    path = tmp_path / "db.duckdb"
    with Store(path) as s:
        if rows:
            load_frames(s, {"orders": frame("orders", rows)}, source_name="t")
    monkeypatch.setenv("RETENTION_DB", str(path))


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_empty_database_points_to_data_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _db(tmp_path, monkeypatch, [])
    at = open_page()
    assert any("no orders yet" in i.value for i in at.info)


def test_no_repeat_orders_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {"order_id": f"o{i}", "customer_id": f"c{i}", "ordered_at": f"2024-0{i}-01", "revenue": 5}
        for i in range(1, 4)
    ]
    _db(tmp_path, monkeypatch, rows)
    at = open_page()
    text = " ".join(i.value for i in at.info)
    assert "No repeat orders yet" in text
    assert at.number_input(key=INACTIVITY_KEY).value == 180
    # As of 2024-03-01 with the fallback N = 180 (A = 90): the oldest last order (c1, 01-01)
    # is 60 days back, so nobody is churned and nobody is at risk; no gaps -> no median.
    got = metrics(at)
    assert (got["Churned customers"], got["At risk now"]) == ("0", "0")
    assert got["Median days between orders"] == "–"


def test_sample_shop_threshold_and_split(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_DB", str(sample_db))
    with Store(sample_db, read_only=True) as s:
        default = churn.default_inactivity_days(s)
    at = open_page()
    assert at.number_input(key=INACTIVITY_KEY).value == default
    assert any(f"within {default} days" in c.value for c in at.caption)
    before = metrics(at)
    assert set(before) == {
        "Churned customers",
        "At risk now",
        "Churn rate, last month",
        "Median days between orders",
    }
    assert before["Churn rate, last month"].endswith("%")

    at.number_input(key=INACTIVITY_KEY).set_value(30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("You set 30 days" in c.value for c in at.caption)
    after = metrics(at)
    assert int(after["Churned customers"].replace(",", "")) > int(
        before["Churned customers"].replace(",", "")
    )
    assert after["Median days between orders"] == before["Median days between orders"]

    at.button_group(key=SPLIT_KEY).set_value("channel").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Log-rank test across" in m.value for m in at.markdown)

    at.multiselect(key=state.FILTER_CHANNELS).select("email").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("nothing to compare" in m.value for m in at.markdown)
