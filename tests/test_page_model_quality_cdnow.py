"""The Model quality page on CDNOW imported through the normal import path (issue 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from retention.models.runs import refresh_models
from retention.store import Store
from tests.cdnow import import_cdnow
from ui.nav import PAGES_DIR

APP = str(Path(__file__).resolve().parent / "app_entry.py")


@pytest.fixture(scope="module")
def cdnow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("cdnow_page")) / "cdnow.duckdb"
    with Store(path) as s:
        import_cdnow(s)
        refresh_models(s)
    return path


def test_model_quality_on_cdnow(cdnow_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_DB", str(cdnow_db))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(str(PAGES_DIR / "model_quality.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(i.value for i in at.info)
    # The default calibration end is three quarters of 1997-01-01 .. 1998-06-30.
    assert "the model predicted" in text
    labels = [m.label for m in at.metric]
    assert "Error in total purchases" in labels
    at.switch_page(str(PAGES_DIR / "value.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Predicted CLTV" in m.label for m in at.metric)
