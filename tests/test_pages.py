"""Every page runs under Streamlit's AppTest without an exception; widgets found by key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from retention.ingest.load import load_frames
from retention.store import Store
from tests.conftest import TINY_CUSTOMERS, TINY_ITEMS, TINY_ORDERS, frame
from ui import state
from ui.nav import PAGES_DIR

APP = str(Path(__file__).resolve().parent / "app_entry.py")


@pytest.fixture
def tiny_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "pages.duckdb"
    with Store(path) as s:
        load_frames(
            s,
            {
                "orders": frame("orders", TINY_ORDERS),
                "customers": frame("customers", TINY_CUSTOMERS),
                "order_items": frame("order_items", TINY_ITEMS),
            },
            source_name="tiny",
        )
    monkeypatch.setenv("RETENTION_DB", str(path))
    yield path


@pytest.fixture
def empty_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    monkeypatch.setenv("RETENTION_DB", str(path))
    yield path


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_database_that_cannot_be_opened_says_why(
    empty_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETENTION_DB", str(empty_db.with_name("other.duckdb")))
    monkeypatch.setenv("RETENTION_MEMORY_LIMIT", "plenty")
    at = run_app()
    assert [e.value for e in at.error] == [
        "The app cannot open its database: RETENTION_MEMORY_LIMIT='plenty' is not a memory "
        "size. Give a number and a unit, for example 2GB or 4096MiB, or unset it for the "
        "default (2 GiB)."
    ]
    assert not at.metric


def test_overview_shows_headline_counts(tiny_db: Path) -> None:
    at = run_app()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Customers"] == "2"
    assert metrics["Orders"] == "5"
    assert metrics["Revenue"] == "215.00"
    assert metrics["Average order value"] == "43.00"


def test_channel_filter_changes_numbers_and_url(tiny_db: Path) -> None:
    at = run_app()
    at.multiselect(key=state.FILTER_CHANNELS).select("email").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Orders"] == "3"
    assert at.query_params.get("channel") == "email"


def test_link_with_filters_opens_filtered(tiny_db: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["country"] = "US"
    at.run()
    assert not at.exception
    assert at.multiselect(key=state.FILTER_COUNTRIES).value == ["US"]
    assert {m.label: m.value for m in at.metric}["Orders"] == "1"


def test_overview_empty_state_points_to_data_page(empty_db: Path) -> None:
    at = run_app()
    assert any("no orders yet" in i.value.lower() for i in at.info)


@pytest.mark.parametrize("view", ["Import", "History", "Health"])
def test_data_page_views(tiny_db: Path, view: str) -> None:
    at = run_app()
    at.switch_page(str(PAGES_DIR / "data.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    at.segmented_control(key=state.DATA_VIEW).set_value(view).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Data"


def test_first_start_builds_the_sample_shop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retention.paths
    import ui.store

    sample = tmp_path / "sample_data" / "shop.duckdb"
    monkeypatch.delenv("RETENTION_DB", raising=False)
    monkeypatch.setattr(retention.paths, "SAMPLE_DB_PATH", sample)
    monkeypatch.setattr(ui.store, "SAMPLE_DB_PATH", sample)
    assert not sample.exists()
    at = run_app()
    assert sample.exists()
    assert int({m.label: m.value for m in at.metric}["Customers"].replace(",", "")) > 1_000


@pytest.mark.parametrize("days", [30, 365])
def test_overview_period_choice(tiny_db: Path, days: int) -> None:
    from ui.overview_view import PERIOD_KEY

    at = run_app()
    at.segmented_control(key=PERIOD_KEY).set_value(days).run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    # 30 days ending Mar 10 start on Feb 10 00:00: o2 (Feb 10 noon), o5 (Feb 20), o3 (Mar 1)
    # and the guest order o7 (Mar 10); 365 days: all five counted orders.
    assert metrics["Orders"] == {30: "4", 365: "5"}[days]


def test_overview_shows_sql_of_a_chosen_metric(tiny_db: Path) -> None:
    at = run_app()
    at.selectbox(key="overview.sql_metric").set_value("churn_rate").run()
    assert not at.exception
    assert any("inactivity_days" in c.value for c in at.code)
