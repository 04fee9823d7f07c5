"""The Churn page in a real browser: opens, changes the threshold, splits the curves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e


def test_churn_page_opens_and_changes_threshold(
    app_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    goto(page, f"{app_server}/churn")
    shot(page, "churn-default")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Churn", level=1)).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="At risk now")).to_be_visible()
    # churn rate per month, survival curves, histogram
    expect(page.locator(".js-plotly-plot")).to_have_count(3)

    box = page.get_by_role("spinbutton", name="Churned after this many days without an order")
    box.fill("60")
    box.press("Enter")
    wait_for_app(page)
    page.get_by_test_id("stButtonGroup").get_by_text("Channel", exact=True).click()
    wait_for_app(page)
    shot(page, "churn-channel-60-days")
    assert_no_error(page, alerts=True)
    expect(page.get_by_text("Log-rank test across")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
