"""AppTest helpers shared by the page tests of fitted shops (Customer value, Model quality)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from retention.models.runs import refresh_models
from retention.sample import build_sample_db
from retention.store import Store

APP = str(Path(__file__).resolve().parent / "app_entry.py")


def fitted_shop(path: Path, customers: int = 2000) -> Path:
    """A sample shop with the scores and the default check, as the CLI builds it."""
    build_sample_db(path, customers)
    with Store(path) as s:
        refresh_models(s)
        s.checkpoint()
    return path


def use(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RETENTION_DB", str(path))
    return path


def copy_of(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy, for tests that write (settings, refits, checks)."""
    target = tmp_path / path.name
    shutil.copyfile(path, target)
    return use(target, monkeypatch)


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def open_page(page: str) -> AppTest:
    """Run the app, then switch to ``page`` (a path under pages/); no exception, no error."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(page).run()
    assert_ok(at)
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}
