"""The Conversion & AOV page in a real browser: opens, switches to the AOV view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e


def test_conversion_page_opens_and_switches_view(
    app_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    goto(page, f"{app_server}/conversion")
    shot(page, "conversion-funnel")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Conversion & AOV", level=1)).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Sessions")).to_be_visible()
    expect(page.get_by_role("heading", name="Funnel")).to_be_visible()
    # Plotly charts are drawn (funnel, conversion by channel, checkout rate by device).
    expect(page.locator(".js-plotly-plot")).to_have_count(3)

    page.get_by_test_id("stButtonGroup").get_by_text("Order value (AOV)", exact=True).click()
    wait_for_app(page)
    shot(page, "conversion-aov")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Order value distribution")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
