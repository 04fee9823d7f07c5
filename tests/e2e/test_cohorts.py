"""The Cohorts page in a real browser: heatmap, then curves split by acquisition channel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e


def test_cohorts_page_heatmap_then_curves_by_channel(
    app_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    goto(page, f"{app_server}/cohorts")
    shot(page, "cohorts-heatmap")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Cohorts", level=1)).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Month-1 retention")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    # Monthly cohorts carry their size on the axis, e.g. "2024-03 (n=57)".
    expect(page.locator(".js-plotly-plot").get_by_text("(n=").first).to_be_attached()

    page.get_by_test_id("stButtonGroup").get_by_text("Curves", exact=True).click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Split by").click()
    page.get_by_role("option", name="Acquisition channel").click()
    wait_for_app(page)
    shot(page, "cohorts-curves-by-channel")
    assert_no_error(page, alerts=True)
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    expect(page.locator(".js-plotly-plot").get_by_text("paid_search").first).to_be_attached()

    page.get_by_test_id("stButtonGroup").get_by_text("Table", exact=True).click()
    wait_for_app(page)
    shot(page, "cohorts-table-by-channel")
    assert_no_error(page, alerts=True)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)

    page.get_by_test_id("stButtonGroup").get_by_text("Heatmap", exact=True).click()
    wait_for_app(page)
    page.get_by_test_id("stButtonGroup").get_by_text("Quarter", exact=True).click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Split by").click()
    page.get_by_role("option", name="None").click()
    wait_for_app(page)
    shot(page, "cohorts-heatmap-quarterly")
    assert_no_error(page, alerts=True)
    expect(page.locator(".js-plotly-plot").get_by_text("2024 Q1 (n=").first).to_be_attached()
