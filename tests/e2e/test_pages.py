"""The pages open in a real browser; the sidebar filters round-trip through the URL."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import (
    assert_no_error,
    goto,
    multiselect,
    selected_values,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

CHANNEL_LABEL = "Acquisition channel"


def pick_option(page: Page, widget: Locator, option: str) -> None:
    widget.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    wait_for_app(page)


def test_overview_opens(app_server: str, page: Page, shot: Callable[..., Path]) -> None:
    goto(page, f"{app_server}/")
    shot(page, "overview")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    assert_no_error(page)
    # The headline KPIs of the sample shop are drawn.
    expect(
        page.get_by_test_id("stMetricLabel").get_by_text("Customers", exact=True)
    ).to_be_visible()
    expect(multiselect(page, CHANNEL_LABEL)).to_be_visible()


def test_data_page_opens(app_server: str, page: Page, shot: Callable[..., Path]) -> None:
    goto(page, f"{app_server}/data")
    shot(page, "data-import-view")
    assert_no_error(page)
    expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()
    expect(page.get_by_test_id("stFileUploader")).to_be_visible()


def test_channel_filter_goes_into_url(
    app_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    goto(page, f"{app_server}/")
    assert "channel=" not in page.url
    widget = multiselect(page, CHANNEL_LABEL)
    pick_option(page, widget, "email")
    shot(page, "overview-filter-channel-email")
    assert_no_error(page)
    assert selected_values(widget) == ["email"]
    expect(page).to_have_url(re.compile(r"[?&]channel="))
    assert parse_qs(urlparse(page.url).query).get("channel") == ["email"], page.url
    expect(page.get_by_text("Filters apply.")).to_be_visible()


def test_channel_filter_read_from_url(
    app_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    # `page` is a fresh browser context: a new Streamlit session, seeded only by the URL.
    goto(page, f"{app_server}/?channel=email")
    shot(page, "overview-opened-with-channel-email-url")
    assert_no_error(page)
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    assert selected_values(multiselect(page, CHANNEL_LABEL)) == ["email"]
    assert parse_qs(urlparse(page.url).query).get("channel") == ["email"], page.url
