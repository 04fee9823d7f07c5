"""The Customer value and Model quality pages in a real browser: charts drawn, no exception."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e

# Streamlit scrolls inside its main block, so a full-page shot is only as tall as the viewport.
TALL = {"width": 1400, "height": 3000}
TALLER = {"width": 1400, "height": 3800}


def metric(page: Page, label: str) -> Locator:
    return (
        page.get_by_test_id("stMetric")
        .filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
        .get_by_test_id("stMetricValue")
    )


def caption(page: Page, text: str) -> Locator:
    return page.get_by_test_id("stCaptionContainer").filter(has_text=text)


def test_value_page_opens_and_regroups(
    app_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    page.set_viewport_size(TALL)
    goto(page, f"{app_server}/value")
    shot(page, "value-default")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Customer value", level=1)).to_be_visible()
    expect(metric(page, "Historical CLTV per customer")).to_contain_text("USD")
    # value by group and the CLTV histogram
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
    expect(page.locator(".js-plotly-plot").get_by_text("2024 Q1").first).to_be_attached()

    page.get_by_test_id("stButtonGroup").get_by_text("Acquisition channel", exact=True).click()
    wait_for_app(page)
    page.get_by_test_id("stCheckbox").filter(has_text="Per customer").click()
    wait_for_app(page)
    shot(page, "value-by-channel-totals")
    assert_no_error(page, alerts=True)
    expect(page.locator(".js-plotly-plot").get_by_text("paid_search").first).to_be_attached()

    page.get_by_test_id("stExpander").filter(has_text="Model settings").locator("summary").click()
    page.get_by_test_id("stExpander").filter(has_text="Table").first.locator("summary").click()
    wait_for_app(page)
    shot(page, "value-settings-and-table-open")
    assert_no_error(page, alerts=True)


def test_model_quality_page_opens(app_server: str, page: Page, shot: Callable[..., Path]) -> None:
    page.set_viewport_size(TALLER)
    goto(page, f"{app_server}/model_quality")
    shot(page, "model-quality-default")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Model quality", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Verdict")).to_be_visible()
    expect(metric(page, "Error in total purchases")).to_contain_text("%")
    # tracking, by frequency, churn calibration, churn drivers
    expect(page.locator(".js-plotly-plot")).to_have_count(4)
    first = re.search(r"Calibration: \S+ \S+ \S+ to (\d\d \w{3} \d{4});", page.inner_text("body"))
    assert first, "no calibration caption"
    first_end = first.group(1)

    # Another calibration end through the form: the new check is stored and shown, and the
    # older one can be chosen again.
    # A react-aria date field: one spin button per part; typed digits move on to the next.
    field = page.get_by_role("group", name="Calibration end")
    field.get_by_role("spinbutton", name="year, Calibration end").click()
    page.keyboard.type("20251031")
    expect(field.get_by_role("spinbutton", name="month, Calibration end")).to_have_text("10")
    expect(field.get_by_role("spinbutton", name="day, Calibration end")).to_have_text("31")
    page.get_by_role("button", name="Run the check").click()
    wait_for_app(page, timeout_s=120)
    shot(page, "model-quality-second-check")
    assert_no_error(page, alerts=True)
    chooser = page.get_by_role("combobox", name="Check to show")
    expect(chooser).to_have_value(re.compile(r"^Calibration end 31 Oct 2025 "))
    expect(caption(page, "holdout: the 365 days")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(4)

    chooser.click()
    # An import earlier in the session refits and stores the default check again, so the
    # same calibration end can be listed twice: the newest comes first.
    page.get_by_role("option", name=re.compile(rf"^Calibration end {first_end} ")).first.click()
    wait_for_app(page)
    shot(page, "model-quality-first-check-again")
    assert_no_error(page, alerts=True)
    expect(caption(page, f"to {first_end}; holdout")).to_be_visible()
    # The form's date follows the chosen check.
    day = first_end.split()[0]
    expect(field.get_by_role("spinbutton", name="day, Calibration end")).to_have_text(day)
