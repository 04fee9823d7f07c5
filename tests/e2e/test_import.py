"""Import a European-style CSV through the Data page, then find it in the import history.

The running app holds the DuckDB file open (DuckDB's lock), so the CLI cannot read the
database meanwhile; the result is checked through the page instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import assert_no_error, goto, wait_for_app

pytestmark = pytest.mark.e2e

FILE_NAME = "e2e-orders-semicolon-decimal-comma.csv"
# Semicolon-delimited, decimal comma; E2E-1004 has text in Total and must be rejected.
ORDERS_CSV = """\
Order ID;Customer;Order Date;Total;Status
E2E-1001;E2E-C1;2024-03-01;12,50;completed
E2E-1002;E2E-C2;2024-03-02;99,90;completed
E2E-1003;E2E-C1;2024-03-05;7,25;refunded
E2E-1004;E2E-C3;2024-03-07;abc;completed
E2E-1005;E2E-C4;2024-03-09;45,00;completed
E2E-1006;E2E-C5;2024-03-10;20,00;completed
"""


def metric(page: Page, label: str) -> Locator:
    return (
        page.get_by_test_id("stMetric")
        .filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
        .get_by_test_id("stMetricValue")
    )


def import_button(page: Page) -> Locator:
    # Scoped to st.button: the view switcher has an "Import" option too.
    return page.get_by_test_id("stButton").get_by_role("button", name="Import", exact=True)


def view_option(page: Page, name: str) -> Locator:
    # st.segmented_control: <button role="radio"> options (plain buttons in older Streamlit).
    return (
        page.get_by_test_id("stButtonGroup")
        .locator("button")
        .filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    )


def test_import_csv_via_data_page(
    app_server: str, page: Page, tmp_path: Path, shot: Callable[..., Path]
) -> None:
    csv = tmp_path / FILE_NAME
    csv.write_text(ORDERS_CSV, encoding="utf-8")

    goto(page, f"{app_server}/data")
    shot(page, "import-1-data-page")
    assert_no_error(page)
    expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()

    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(csv)
    wait_for_app(page)
    expect(page.get_by_text("Validation", exact=True)).to_be_visible()
    wait_for_app(page)
    shot(page, "import-2-file-read-and-validated")
    assert_no_error(page)
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text=FILE_NAME)).to_be_visible()
    expect(metric(page, "Rows read")).to_have_text("6")
    expect(metric(page, "Rejected")).to_have_text("1")
    expect(metric(page, "Will be loaded")).to_have_text("5")
    expect(page.get_by_text("Rejected rows (1)")).to_be_visible()
    button = import_button(page)
    expect(button).to_be_visible()
    expect(button).to_be_enabled()

    button.click()
    wait_for_app(page)
    success = page.get_by_test_id("stAlertContentSuccess")
    expect(success).to_contain_text("Import #")
    shot(page, "import-3-imported")
    assert_no_error(page)

    history_option = view_option(page, "History")
    history_option.click()
    wait_for_app(page)
    expect(history_option).to_have_attribute("aria-checked", "true")
    shot(page, "import-4-history")
    assert_no_error(page)
    # st.dataframe draws on a canvas; its accessible table carries the cell text.
    history = page.get_by_test_id("stDataFrame").first
    expect(history).to_contain_text(FILE_NAME)
    # Our import rejected a row, so it is offered under "Rejected rows".
    expect(page.get_by_text("Rejected rows", exact=True)).to_be_visible()


def test_ambiguous_dates_are_asked_for(
    app_server: str, page: Page, tmp_path: Path, shot: Callable[..., Path]
) -> None:
    csv = tmp_path / "e2e-ambiguous-dates.csv"
    csv.write_text("order_id,ordered_at,revenue\nAMB-1,01/02/2024,10\nAMB-2,03/04/2024,12\n")
    goto(page, f"{app_server}/data")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(csv)
    wait_for_app(page)
    expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text("more than one format")
    shot(page, "import-ambiguous-1-asked")
    page.get_by_role("button", name="Dates are 31/01/2024 (day first)").click()
    wait_for_app(page)
    expect(metric(page, "Will be loaded")).to_have_text("2")
    # 03/04/2024 read day first is April 3rd.
    expect(page.get_by_test_id("stDataFrame").first).to_contain_text("2024-04-03")
    shot(page, "import-ambiguous-2-resolved")
    assert_no_error(page)
