"""Every page opens without an error; settings go into the URL; a copied link reopens them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import assert_no_error, goto, new_page, wait_for_app

pytestmark = pytest.mark.e2e

PAGES = {
    "": "Overview",
    "cohorts": "Cohorts",
    "churn": "Churn",
    "conversion": "Conversion & AOV",
    "value": "Customer value",
    "model_quality": "Model quality",
    "segments": "Segments",
    "export": "Export",
    "scenarios": "Scenarios",
    "data": "Data",
}


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def share_link(page: Page) -> str:
    """Open "Share this view", copy the link with the code block's copy button, read it back."""
    page.get_by_test_id("stSidebar").get_by_role("button", name="Share this view").click()
    body = page.get_by_test_id("stPopoverBody")
    expect(body).to_be_visible()
    code = body.get_by_test_id("stCode")
    shown = code.inner_text().strip()
    code.hover()
    code.get_by_role("button").first.click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    page.keyboard.press("Escape")
    assert copied.strip() == shown, (copied, shown)
    return copied.strip()


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_opens_without_an_error(
    app_server: str, page: Page, shot: Callable[..., Path], path: str
) -> None:
    goto(page, f"{app_server}/{path}")
    shot(page, f"page-{path or 'overview'}")
    expect(page.get_by_role("heading", name=PAGES[path], level=1)).to_be_visible()
    assert_no_error(page)
    expect(page.get_by_role("button", name="Share this view")).to_be_visible()
    expect(page.get_by_text("Open access")).to_be_visible()


def test_a_copied_link_reopens_the_same_view(
    app_server: str, browser: Browser, shot: Callable[..., Path]
) -> None:
    sender = new_page(browser)
    sender.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_server)
    goto(sender, f"{app_server}/cohorts")
    sender.get_by_test_id("stButtonGroup").get_by_text("Quarter", exact=True).click()
    wait_for_app(sender)
    expect(sender).to_have_url(re.compile(r"[?&]period=quarter"))
    sender.get_by_test_id("stButtonGroup").get_by_text("Curves", exact=True).click()
    wait_for_app(sender)
    expect(sender).to_have_url(re.compile(r"[?&]view=Curves"))
    summary = sender.get_by_text(re.compile(r"quarterly cohorts, [\d,]+ customers")).inner_text()
    link = share_link(sender)
    shot(sender, "deep-link-sender")
    assert link.startswith(f"{app_server}/cohorts?"), link
    assert parse_qs(urlparse(link).query)["period"] == ["quarter"]
    sender.context.close()

    receiver = new_page(browser)  # a fresh browser context: nothing but the link
    goto(receiver, link)
    shot(receiver, "deep-link-receiver")
    assert_no_error(receiver)
    expect(receiver.get_by_role("heading", name="Cohorts", level=1)).to_be_visible()
    expect(receiver.get_by_text(summary, exact=True)).to_be_visible()
    assert query(receiver)["period"] == ["quarter"] and query(receiver)["view"] == ["Curves"]
    pressed = receiver.locator('[data-testid="stButtonGroup"] button[aria-checked="true"]')
    expect(pressed.filter(has_text="Quarter")).to_have_count(1)
    receiver.context.close()
