"""The Conversion & AOV page under AppTest: empty state without traffic, views and filters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from retention.ingest.load import load_frames
from retention.sample import build_sample_db
from retention.store import Store
from tests.conftest import TINY_CUSTOMERS, TINY_ORDERS, frame
from ui import state
from ui.conversion_view import GRAIN_KEY, VIEW_KEY, VIEWS
from ui.nav import PAGES_DIR

APP = str(Path(__file__).resolve().parent / "app_entry.py")
PAGE = str(PAGES_DIR / "conversion.py")


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("conv_page")) / "shop.duckdb"
    build_sample_db(path, 400, 3)
    return path


@pytest.fixture
def tiny_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "tiny.duckdb"
    with Store(path) as s:
        load_frames(
            s,
            {
                "orders": frame("orders", TINY_ORDERS),
                "customers": frame("customers", TINY_CUSTOMERS),
            },
            source_name="tiny",
        )
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


def test_without_traffic_points_to_data_page_and_still_shows_aov(tiny_db: Path) -> None:
    at = open_page()
    text = " ".join(i.value for i in at.info)
    assert "traffic_daily" in text
    assert "date, channel, device, sessions, product_views, add_to_carts, checkouts" in text
    got = metrics(at)
    # Tiny shop: 5 counted orders, revenue 215 -> AOV 43; first orders o1 (100), o5 (30) ->
    # 65; later orders o2 (50), o3 (20) -> 35. No traffic -> no sessions or conversion.
    assert got["Average order value"] == "43.00"
    assert got["New-customer AOV"] == "65.00"
    assert got["Returning-customer AOV"] == "35.00"
    assert got["Sessions"] == "–"
    assert got["Conversion rate"] == "–"
    # No view switch without traffic; the AOV section is drawn at once.
    assert not [w for w in at.get("button_group") if w.key == VIEW_KEY]
    assert any("Average order value over time" in s.value for s in at.subheader)


def test_sample_shop_views_and_grain(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_DB", str(sample_db))
    at = open_page()
    got = metrics(at)
    assert got["Sessions"] not in ("–", "0")
    assert got["Conversion rate"].endswith("%")
    assert any(s.value == "Funnel" for s in at.subheader)
    at.button_group(key=GRAIN_KEY).set_value("week").run()
    assert not at.exception, [e.value for e in at.exception]
    at.button_group(key=VIEW_KEY).set_value(VIEWS[1]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Order value distribution" in s.value for s in at.subheader)
    assert metrics(at) == got  # switching views changes no headline number


def test_customer_filters_get_a_note(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_DB", str(sample_db))
    at = open_page()
    before = metrics(at)
    at.multiselect(key=state.FILTER_CHANNELS).select("email").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("ignore the sidebar" in i.value for i in at.info)
    after = metrics(at)
    # Traffic numbers ignore the acquisition-channel filter; AOV follows it.
    assert after["Sessions"] == before["Sessions"]
    assert after["Conversion rate"] == before["Conversion rate"]
    assert after["Average order value"] != before["Average order value"]
