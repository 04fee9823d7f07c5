"""The Cohorts page under AppTest: empty state, headline numbers, views, split and filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from retention.sample import build_sample_db
from retention.store import Store
from tests.metrics.test_cohorts import load_shop
from ui import state
from ui.cohorts_view import (
    EXCLUDE_SMALL_KEY,
    FILTER_BY_KEY,
    MIN_SIZE_KEY,
    PERIOD_KEY,
    SPLIT_KEY,
    VALUE_KEY,
    VIEW_KEY,
    filter_values_key,
)
from ui.nav import PAGES_DIR

APP = str(Path(__file__).resolve().parent / "app_entry.py")
PAGE = str(PAGES_DIR / "cohorts.py")


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("cohort_page")) / "shop.duckdb"
    build_sample_db(path, 400, 5)
    return path


@pytest.fixture
def shop_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "shop.duckdb"
    with Store(path) as s:
        load_shop(s)
    monkeypatch.setenv("RETENTION_DB", str(path))
    yield path


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def button_group(at: AppTest, key: str):  # noqa: ANN201 (AppTest element)
    return next(w for w in at.get("button_group") if w.key == key)


def test_empty_database_points_to_data_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    monkeypatch.setenv("RETENTION_DB", str(path))
    at = open_page()
    assert any("no orders yet" in i.value.lower() for i in at.info)
    assert not at.metric


def test_headline_numbers_of_the_hand_checked_shop(shop_db: Path) -> None:
    at = open_page()
    got = metrics(at)
    # See tests/metrics/test_cohorts.py: month 1 = 3/4, month 3 = 1/4, 6-month LTV = 260/3,
    # and no cohort is 12 months old.
    assert got["Month-1 retention"] == "75.0%"
    assert got["Month-3 retention"] == "25.0%"
    assert got["6-month LTV"].endswith("86.67")
    assert got["12-month LTV"] == "–"
    assert all(m.help for m in at.metric)
    assert any("2 monthly cohorts, 4 customers" in c.value for c in at.caption)
    # Small cohorts out (threshold 2): the Feb cohort (1 customer) leaves: 2/3.
    at.number_input(key=MIN_SIZE_KEY).set_value(2).run()
    at.checkbox(key=EXCLUDE_SMALL_KEY).check().run()
    assert metrics(at)["Month-1 retention"] == "66.7%"
    # Filter to a first-order category: coffee = u1 and u3, both back in February.
    at.selectbox(key=FILTER_BY_KEY).set_value("first_category").run()
    at.multiselect(key=filter_values_key("first_category")).set_value(["coffee"]).run()
    assert not at.exception
    assert metrics(at)["Month-1 retention"] == "100.0%"


def test_dates_that_select_no_cohort_say_what_to_do(shop_db: Path) -> None:
    at = open_page()
    # Dates pick cohorts by their start: Jan 15-31 holds no month start, so no cohort.
    at.date_input(key=state.FILTER_DATES).set_value((date(2024, 1, 15), date(2024, 1, 31))).run()
    assert not at.exception
    assert any("Widen the dates" in i.value for i in at.info)
    assert not at.metric


def test_switching_the_filter_dimension_keeps_each_choice_apart(shop_db: Path) -> None:
    at = open_page()
    at.selectbox(key=FILTER_BY_KEY).set_value("first_category").run()
    at.multiselect(key=filter_values_key("first_category")).set_value(["tea"]).run()
    at.selectbox(key=FILTER_BY_KEY).set_value("country").run()
    at.multiselect(key=filter_values_key("country")).set_value(["US"]).run()
    assert not at.exception
    assert metrics(at)["Month-1 retention"] == "50.0%"  # u2 (no), u3 (yes)


@pytest.mark.parametrize("view", ["Heatmap", "Curves", "Table"])
def test_views_periods_values_and_splits(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    monkeypatch.setenv("RETENTION_DB", str(sample_db))
    at = open_page()
    button_group(at, VIEW_KEY).set_value(view).run()
    for grain, value, split in (
        ("quarter", "revenue_retention", "acquisition_channel"),
        ("week", "cumulative_revenue_per_customer", "first_order_coupon"),
        ("month", "orders_per_customer", "none"),
    ):
        button_group(at, PERIOD_KEY).set_value(grain).run()
        at.selectbox(key=VALUE_KEY).set_value(value).run()
        at.selectbox(key=SPLIT_KEY).set_value(split).run()
        assert not at.exception, (grain, value, split, [e.value for e in at.exception])
    if view == "Table":
        assert len(at.dataframe) == 1
        assert "M0" in at.dataframe[0].value.columns
    assert any("SQL of the cohort grid" in e.label for e in at.expander)
