"""Every page runs with a saved segment chosen in the sidebar (from the URL of a shared link)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from retention.segments.saved import save_segment
from retention.store import Store
from tests.apptest_helpers import APP, assert_ok, fitted_shop, use
from ui import state
from ui.nav import PAGES_DIR

PAGES = ["overview", "cohorts", "churn", "conversion", "value", "model_quality", "segments",
         "scenarios", "export", "data"]  # fmt: skip


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fitted_shop(Path(tmp_path_factory.mktemp("segment_filter")) / "shop.duckdb", 800)
    with Store(path) as s:
        save_segment(s, "Lapsed", {"rules": [
            {"attribute": "recency_days", "operator": ">", "value": 180}]})  # fmt: skip
        s.checkpoint()
    return path


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_under_a_segment_from_the_url(
    shop: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    use(shop, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["segment"] = "Lapsed"
    at.run()
    at.switch_page(str(PAGES_DIR / f"{page}.py")).run()
    assert_ok(at)
    assert at.session_state[state.FILTERS].segment == "Lapsed"
    assert at.selectbox(key=state.FILTER_SEGMENT).value == "Lapsed"
