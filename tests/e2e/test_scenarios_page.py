"""The Scenarios page in a real browser: a discount on lapsed customers and a loyalty programme
for everyone, both simulated, compared side by side, and the discount's target list exported.

The e2e database is shared by the session's tests: the RFM segment "At Risk" is saved from the
Segments page unless another test saved it already, and the loyalty segment gets a unique name.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e

TALL = {"width": 1400, "height": 3000}
AT_RISK = "RFM: At Risk"
MONEY = re.compile(r"^USD -?[\d,]+(\.\d\d|\.\dk|\.\d\dM)?$")


def metric(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )


def value_of(page: Page, label: str) -> str:
    return metric(page, label).get_by_test_id("stMetricValue").inner_text().strip()


def delta_of(page: Page, label: str) -> str:
    return metric(page, label).get_by_test_id("stMetricDelta").inner_text().strip()


def amount(text: str) -> float:
    m = re.fullmatch(r"USD (-?[\d,.]+)([kM]?)", text)
    assert m, text
    return float(m.group(1).replace(",", "")) * {"": 1, "k": 1e3, "M": 1e6}[m.group(2)]


def pick(page: Page, container: Locator, label: str, option: str | re.Pattern[str]) -> None:
    container.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option).first.click()


def move_thumb(thumb: Locator, key: str, times: int) -> None:
    thumb.focus()
    for _ in range(times):
        thumb.press(key)


def save_segments(page: Page, app_server: str, everyone: str) -> None:
    goto(page, f"{app_server}/segments")
    page.get_by_role("tab", name="RFM", exact=True).click()
    wait_for_app(page)
    button = page.get_by_role("button", name="At Risk", exact=True)
    if button.is_enabled():
        button.click()
        wait_for_app(page)
    page.get_by_role("tab", name="Build", exact=True).click()
    wait_for_app(page)
    page.get_by_label("Name", exact=True).fill(everyone)
    page.get_by_label("Description", exact=True).fill("Every customer")
    page.get_by_role("button", name="Save segment").click()
    wait_for_app(page)
    expect(page.get_by_text(f"Saved “{everyone}”")).to_be_visible()


def test_discount_and_loyalty_compared_and_exported(
    app_server: str, page: Page, shot: Callable[..., Path], tmp_path: Path
) -> None:
    everyone = f"E2E everyone {uuid.uuid4().hex[:6]}"
    page.set_viewport_size(TALL)
    save_segments(page, app_server, everyone)

    goto(page, f"{app_server}/scenarios")
    shot(page, "scenarios-start")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Scenarios", level=1)).to_be_visible()
    expect(page.get_by_text("press Simulate to see the results")).to_be_visible()

    # A win-back discount for lapsed customers: 15% off for 90 days, 2% to 8% come back.
    form = page.get_by_test_id("stForm")
    pick(page, form, "Target segment", re.compile(rf"^{re.escape(AT_RISK)} \("))
    form.get_by_text("Customers coming back for one order (reactivation share)").click()
    uplift = form.get_by_test_id("stSlider").filter(has_text="Uplift range")
    low, high = uplift.get_by_role("slider").all()
    move_thumb(low, "ArrowLeft", 6)  # 5% -> 2%, steps of 0.5
    move_thumb(high, "ArrowLeft", 24)  # 20% -> 8%
    expect(uplift).to_contain_text("2.0%")
    expect(uplift).to_contain_text("8.0%")
    expect(page.get_by_text("press Simulate to see the results")).to_be_visible()  # no rerun
    form.get_by_role("button", name="Simulate").click()
    wait_for_app(page, timeout_s=60)
    shot(page, "scenarios-discount")
    assert_no_error(page, alerts=True)
    discount_net = value_of(page, "Net profit")
    assert MONEY.match(discount_net), discount_net
    assert delta_of(page, "Net profit").startswith("80%: ")
    assert re.fullmatch(r"\d+%", value_of(page, "Chance of a loss"))
    assert amount(value_of(page, "Incremental revenue")) > 0  # people come back and buy
    expect(page.get_by_text("Break-even uplift:").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"customers of RFM: At Risk to place"))).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(2)  # distribution and tornado
    # (the comparison chart appears once a scenario is added)
    page.get_by_role("button", name="Add to comparison").click()
    wait_for_app(page)
    expect(page.get_by_role("button", name="In the comparison")).to_be_disabled()

    # Its target list, with the offer on every row, recorded for a later lift check.
    page.get_by_role("button", name="Prepare the target list").click()
    wait_for_app(page, timeout_s=60)
    assert_no_error(page, alerts=True)
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    table = pd.read_csv(io.BytesIO(saved.read_bytes()), encoding="utf-8-sig")
    assert (table["offer"] == "15% off for 90 days").all()
    assert set(table["group"]) <= {"target", "holdout"} and len(table) > 0

    # A loyalty programme for everyone: the evidence comes first, with its warning.
    page.get_by_test_id("stButtonGroup").get_by_text("Loyalty programme", exact=True).click()
    wait_for_app(page)
    shot(page, "scenarios-loyalty-evidence")
    assert_no_error(page, alerts=True)
    expect(page.get_by_text("Members self-select.")).to_be_visible()
    assert re.fullmatch(r"[+-]\d+%", value_of(page, "Members vs peers"))
    form = page.get_by_test_id("stForm")
    pick(page, form, "Target segment", re.compile(rf"^{re.escape(everyone)} \("))
    form.get_by_role("button", name="Simulate").click()
    wait_for_app(page, timeout_s=60)
    shot(page, "scenarios-loyalty")
    assert_no_error(page, alerts=True)
    loyalty_net = value_of(page, "Net profit")
    assert MONEY.match(loyalty_net), loyalty_net
    assert float(value_of(page, "Incremental orders").replace(",", "")) > 0
    page.get_by_role("button", name="Add to comparison").click()
    wait_for_app(page)

    comparison = page.get_by_role("heading", name="Scenarios side by side")
    comparison.scroll_into_view_if_needed()
    shot(page, "scenarios-comparison")
    assert_no_error(page, alerts=True)
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    chart = page.locator(".js-plotly-plot").last
    expect(chart).to_contain_text("1. 15% off, reactivation 2–8%")
    expect(chart).to_contain_text("2. Loyalty 1 pt/unit, uplift 2–10%")

    # Every outcome and the method, opened.
    page.get_by_text("Every outcome with its interval").click()
    page.get_by_text("How these numbers are made").click()
    wait_for_app(page)
    expect(page.get_by_text("Every outcome with its interval")).to_be_visible()
    expect(page.get_by_text("Loyalty programme.", exact=False).first).to_be_visible()
    page.get_by_text("Every outcome with its interval").scroll_into_view_if_needed()
    shot(page, "scenarios-method")
    print(f"\nsample shop: discount net {discount_net}; loyalty net {loyalty_net}")
