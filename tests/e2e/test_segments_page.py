"""The Segments page in a real browser: build a segment, save it, see it listed; RFM, compare.

The e2e database is shared by the session's tests, so names are unique per run and the
assertions hold whatever other tests saved.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e

# Streamlit scrolls inside its main block, so a full-page shot is only as tall as the viewport.
TALL = {"width": 1400, "height": 3000}


def metric(page: Page, label: str) -> Locator:
    return (
        page.get_by_test_id("stMetric")
        .filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
        .get_by_test_id("stMetricValue")
    )


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    wait_for_app(page)


def count(text: str) -> int:
    return int(text.replace(",", ""))


def test_build_save_and_list_a_segment(
    app_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    name = f"E2E lapsed {uuid.uuid4().hex[:6]}"
    page.set_viewport_size(TALL)
    goto(page, f"{app_server}/segments")
    shot(page, "segments-build-default")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Segments", level=1)).to_be_visible()
    expect(page.get_by_role("tab", name="Build", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    everyone = count(metric(page, "Customers").inner_text())
    expect(metric(page, "Share of customers")).to_have_text("100.0%")

    # One condition: the default splits the customers at the median days since last order.
    page.get_by_role("button", name="Add condition", exact=True).click()
    wait_for_app(page)
    shot(page, "segments-build-one-condition")
    assert_no_error(page, alerts=True)
    expect(
        page.get_by_text(re.compile(r"In words: Days since last order is at least \d+"))
    ).to_be_visible()
    some = count(metric(page, "Customers").inner_text())
    assert 0 < some < everyone

    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Description", exact=True).fill("Customers quiet for longer than most")
    page.get_by_role("button", name="Save segment").click()
    wait_for_app(page)
    shot(page, "segments-saved-message")
    assert_no_error(page, alerts=True)
    expect(page.get_by_text(f"Saved “{name}”: {some:,} customers.")).to_be_visible()

    open_tab(page, "Saved")
    shot(page, "segments-saved-list")
    assert_no_error(page, alerts=True)
    # The sidebar has a selectbox too; the one to use is in the tab.
    chooser = page.get_by_test_id("stTabs").get_by_test_id("stSelectbox").filter(has_text="Segment")
    chooser.click()
    page.get_by_role("option", name=name, exact=True).click()
    wait_for_app(page)
    shot(page, "segments-saved-picked")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("button", name="Load into the builder")).to_be_visible()
    expect(
        page.get_by_test_id("stCaptionContainer").filter(
            has_text="Days since last order is at least"
        )
    ).to_be_visible()

    # Back in the builder (the saved rules are loaded): a sub-group with its own OR.
    page.get_by_role("button", name="Load into the builder").click()
    wait_for_app(page)
    # Wait until the builder shows the loaded rules before clicking again: a click during the
    # rerun would be lost on a busy machine.
    expect(page.get_by_text(f"Editing the rules of “{name}”")).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Add group", exact=True).click()
    wait_for_app(page)
    shot(page, "segments-build-with-group")
    assert_no_error(page, alerts=True)
    expect(page.get_by_text("Group: customers who match")).to_be_visible(timeout=20_000)
    expect(
        page.get_by_text(re.compile(r"In words: .* and \(Days since last order"))
    ).to_be_visible()


def test_rfm_and_compare_tabs(app_server: str, page: Page, shot: Callable[..., Path]) -> None:
    page.set_viewport_size(TALL)
    goto(page, f"{app_server}/segments")
    open_tab(page, "RFM")
    shot(page, "segments-rfm")
    assert_no_error(page, alerts=True)
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    expect(page.locator(".js-plotly-plot").get_by_text("Champions").first).to_be_attached()
    for segment in ("Champions", "Lost"):
        button = page.get_by_role("button", name=segment, exact=True)
        if button.is_enabled():
            button.click()
            wait_for_app(page)
    assert_no_error(page, alerts=True)

    open_tab(page, "Compare")
    picker = (
        page.get_by_test_id("stTabs")
        .get_by_test_id("stMultiSelect")
        .filter(has_text="Segments to compare")
    )
    for segment in ("RFM: Champions", "RFM: Lost"):
        picker.click()
        page.get_by_role("option", name=segment, exact=True).click()
        page.keyboard.press("Escape")
        wait_for_app(page)
    shot(page, "segments-compare")
    assert_no_error(page, alerts=True)
    expect(page.get_by_text("Repeat rate", exact=False).first).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
