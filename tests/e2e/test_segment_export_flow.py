"""Issue 5's browser check: build a segment, save it, export it, open the downloaded file."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e

TALL = {"width": 1400, "height": 3000}


def test_build_save_export_and_open_the_file(
    app_server: str, page: Page, shot: Callable[..., Path], tmp_path: Path
) -> None:
    name = f"E2E export {uuid.uuid4().hex[:6]}"
    page.set_viewport_size(TALL)
    goto(page, f"{app_server}/segments")
    page.get_by_role("button", name="Add condition", exact=True).click()
    wait_for_app(page)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Save segment").click()
    wait_for_app(page)
    expect(page.get_by_text(f"Saved “{name}”")).to_be_visible()

    goto(page, f"{app_server}/export")
    assert_no_error(page, alerts=True)
    form = page.get_by_test_id("stForm")
    form.get_by_test_id("stSelectbox").filter(has_text="Segment").click()
    page.get_by_role("option", name=name).click()
    page.get_by_role("button", name="Prepare the file").click()
    wait_for_app(page, timeout_s=60)
    shot(page, "export-prepared")
    assert_no_error(page, alerts=True)
    target = int(
        page.get_by_test_id("stMetric")
        .filter(has_text="To contact (target)")
        .get_by_test_id("stMetricValue")
        .inner_text()
        .replace(",", "")
    )
    held = int(
        page.get_by_test_id("stMetric")
        .filter(has_text="Held out")
        .get_by_test_id("stMetricValue")
        .inner_text()
        .replace(",", "")
    )
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".csv"
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    table = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert len(table) == target + held
    assert (table["segment"] == name).all()
    assert table["group"].value_counts().to_dict() == {
        k: v for k, v in {"target": target, "holdout": held}.items() if v
    }
    assert table["customer_id"].is_unique
    # The export is listed with its counts, and its lift waits for later orders.
    expect(page.get_by_text("No days have passed since the export")).to_be_visible()
