"""Login in a real browser against a local OpenID provider (``oidc-provider-mock``).

This module runs its own app server (not the shared ``app_server``): a private copy of the
sample shop and a secrets file whose ``[auth]`` section points at a mock provider started in
this process. Everything uses the host name ``localhost``, so the auth cookie set on the
callback belongs to the host the browser opened.

The mock's authorization page is a form: type the ``sub`` (here the e-mail address) and press
"Authorize". Each person's claims (e-mail, name) are registered with ``PUT /users/{sub}``.
Logging out goes through the mock's "End session" page, which asks for one more click.

``server_log`` is overridden here, so a failing test's report carries this server's log.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import (
    _free_port,
    _require_chromium,
    assert_no_error,
    build_sample_shop,
    multiselect,
    running_app,
    selected_values,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

CUSTOMERS = 1500
HOST = "localhost"
EDITOR = {"email": "ana@shop.test", "name": "Ana"}
VIEWER = {"email": "vic@shop.test", "name": "Vic"}
STRANGER = {"email": "eve@other.test", "name": "Eve"}
PEOPLE = (EDITOR, VIEWER, STRANGER)
DEEP_LINK_CHANNEL = "referral"  # not the first option: only the link can have chosen it
CHANNEL_LABEL = "Acquisition channel"
# Login redirects through the provider and reloads the app: on a slow machine the first
# signed-in run (KPIs, sidebar, cached queries) takes a while.
LOGIN_TIMEOUT_S = 90.0


# --------------------------------------------------------------------------------------
# Fixtures: the mock provider, a private sample shop, secrets, the app server


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[str]:
    """The mock OpenID provider on a free port; yields its base URL (``http://localhost:N``)."""
    _require_chromium()
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=0) as server:
        base = f"http://{HOST}:{server.server_port}"
        for person in PEOPLE:
            claims = {**person, "email_verified": True}
            request = urllib.request.Request(
                f"{base}/users/{person['email']}",
                data=json.dumps(claims).encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 204, response.status
        yield base


@pytest.fixture(scope="module")
def login_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-login")


class Shop(NamedTuple):
    db: Path
    channels: tuple[str, ...]  # the acquisition channels the filter offers


@pytest.fixture(scope="module")
def login_shop(login_dir: Path) -> Shop:
    """This module's own sample shop (the shared e2e database is changed by other tests).

    Its channels are read here, before the app server holds the database file's lock.
    """
    _require_chromium()
    from retention import data_summary
    from retention.store import Store

    db = build_sample_shop(login_dir / "shop.duckdb", CUSTOMERS)
    with Store(db, read_only=True) as store:
        channels = tuple(data_summary.filter_options(store).channels)
    return Shop(db, channels)


@pytest.fixture(scope="module")
def deep_link_channel(login_shop: Shop) -> str:
    """A channel that the sample shop has, for the deep link (checked, not assumed)."""
    assert DEEP_LINK_CHANNEL in login_shop.channels, login_shop.channels
    assert login_shop.channels[0] != DEEP_LINK_CHANNEL
    return DEEP_LINK_CHANNEL


@pytest.fixture(scope="module")
def app_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def secrets_file(login_dir: Path, oidc_provider: str, app_port: int) -> Path:
    path = login_dir / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://{HOST}:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "retention-lab-e2e"\n'
        f'client_secret = "{secrets.token_urlsafe(16)}"\n'
        f'server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"\n'
        f'editors = ["{EDITOR["email"]}"]\n'
        'allowed_domains = ["shop.test"]\n'
    )
    return path


@pytest.fixture(scope="module")
def server_log(login_dir: Path) -> Path:
    """Overrides conftest's: the ``page`` fixture reports this module's server log."""
    return login_dir / "streamlit-login-server.log"


@pytest.fixture(scope="module")
def login_server(
    login_shop: Shop, secrets_file: Path, app_port: int, server_log: Path
) -> Iterator[str]:
    """``streamlit run app.py`` with login configured; yields ``http://localhost:PORT``."""
    with running_app(
        login_shop.db,
        server_log,
        port=app_port,
        host=HOST,  # the browser uses the name; the server listens on 127.0.0.1
        extra_args=["--secrets.files", str(secrets_file)],
    ) as base:
        yield base


# --------------------------------------------------------------------------------------
# Helpers


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def login_button(page: Page) -> Locator:
    return page.get_by_test_id("stButton").get_by_role("button", name="Log in")


def logout_button(page: Page) -> Locator:
    return page.get_by_role("button", name="Log out")


def expect_login_screen(page: Page) -> bool:
    """The login screen and nothing of the app: no numbers, no filters, no sidebar content.

    Returns whether the sidebar lists Streamlit's pages (its legacy ``pages/`` list, which the
    gate must keep away; the caller asserts it does not); nothing else may be in it.
    """
    expect(page.get_by_role("heading", name="Retention Lab", level=1)).to_be_visible()
    expect(page.get_by_text("Sign in to see this shop's retention analytics.")).to_be_visible()
    expect(login_button(page)).to_be_visible()
    assert_no_error(page, alerts=True)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(multiselect(page, CHANNEL_LABEL)).to_have_count(0)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    expect(page.get_by_test_id("stFileUploader")).to_have_count(0)
    expect(logout_button(page)).to_have_count(0)
    expect(page.get_by_text("Data source:")).to_have_count(0)
    expect(page.get_by_text(re.compile(r" · (Editor|Viewer)"))).to_have_count(0)
    # The main area holds the title, one sentence, the button and one caption: nothing else.
    expect(page.get_by_test_id("stMain").get_by_test_id("stElementContainer")).to_have_count(4)
    expect(sidebar(page).get_by_test_id("stElementContainer")).to_have_count(0)
    return sidebar(page).get_by_test_id("stSidebarNav").count() > 0


def sign_in(page: Page, provider: str, email: str, shot: Callable[..., Path], name: str) -> None:
    """From the login screen: "Log in", the provider's form with ``email`` as sub, back."""
    login_button(page).click()
    page.wait_for_url(f"{provider}/oauth2/authorize**", timeout=LOGIN_TIMEOUT_S * 1000)
    sub = page.get_by_placeholder("sub")
    expect(sub).to_be_visible()
    sub.fill(email)
    shot(page, f"{name}-provider-form")
    page.get_by_role("button", name="Authorize", exact=True).click()
    # The callback sets the auth cookie and redirects into the app.
    page.wait_for_url(
        lambda url: not url.startswith(provider) and "/oauth2callback" not in url,
        timeout=LOGIN_TIMEOUT_S * 1000,
    )
    wait_for_app(page, timeout_s=LOGIN_TIMEOUT_S)


def open_page(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_for_app(page, timeout_s=LOGIN_TIMEOUT_S)


def metric(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )


def expect_overview_numbers(page: Page) -> None:
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    customers = metric(page, "Customers").get_by_test_id("stMetricValue")
    expect(customers).to_be_visible()
    expect(customers).to_have_text(re.compile(r"\d"))


def expect_signed_in_as(page: Page, name: str, role: str) -> None:
    badge = sidebar(page).get_by_test_id("stCaptionContainer").filter(has_text=f"{name} · {role}")
    expect(badge).to_be_visible()
    expect(sidebar(page).get_by_role("button", name="Log out")).to_be_visible()


def data_view_options(page: Page) -> list[str]:
    group = page.get_by_test_id("stMain").get_by_test_id("stButtonGroup").first
    expect(group).to_be_visible()
    return [b.inner_text().strip() for b in group.locator("button").all()]


# --------------------------------------------------------------------------------------
# Tests


def test_before_login_only_the_login_screen_shows(
    login_server: str, page: Page, shot: Callable[..., Path]
) -> None:
    # Keep this the module's first test: it sees the server as a first visitor does.
    open_page(page, f"{login_server}/")
    shot(page, "login-screen")
    pages_listed = [expect_login_screen(page)]

    # Another page's address shows the same screen, not that page.
    open_page(page, f"{login_server}/data")
    shot(page, "login-screen-data-url")
    pages_listed.append(expect_login_screen(page))
    expect(page.get_by_role("heading", name="Data", level=1)).to_have_count(0)

    open_page(page, f"{login_server}/")
    shot(page, "login-screen-again")
    pages_listed.append(expect_login_screen(page))

    # Streamlit's own list of the pages/ files must not show before login.
    assert not any(pages_listed), pages_listed


def test_a_viewer_sees_numbers_but_no_write_controls(
    login_server: str, oidc_provider: str, page: Page, shot: Callable[..., Path]
) -> None:
    open_page(page, f"{login_server}/")
    expect_login_screen(page)
    sign_in(page, oidc_provider, VIEWER["email"], shot, "login-viewer")
    shot(page, "login-viewer-overview")
    assert_no_error(page, alerts=True)
    expect_overview_numbers(page)
    expect_signed_in_as(page, VIEWER["name"], "Viewer")
    expect(multiselect(page, CHANNEL_LABEL)).to_be_visible()

    open_page(page, f"{login_server}/data")
    shot(page, "login-viewer-data")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()
    expect(page.get_by_text("Only editors can import data")).to_be_visible()
    expect(page.get_by_text(f"You are signed in as {VIEWER['email']}, a viewer")).to_be_visible()
    assert data_view_options(page) == ["History", "Health"]
    expect(page.get_by_test_id("stFileUploader")).to_have_count(0)
    expect_signed_in_as(page, VIEWER["name"], "Viewer")  # still signed in on a new page

    open_page(page, f"{login_server}/segments")
    shot(page, "login-viewer-segments")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Segments", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Save", exact=True)).to_be_visible()
    expect(page.get_by_text("Only editors can save segments").first).to_be_visible()
    expect(page.get_by_test_id("stForm")).to_have_count(0)
    expect(page.get_by_role("button", name="Save segment")).to_have_count(0)
    expect(page.get_by_label("Name", exact=True)).to_have_count(0)


def test_an_editor_sees_the_import_and_the_save_form(
    login_server: str, oidc_provider: str, page: Page, shot: Callable[..., Path]
) -> None:
    open_page(page, f"{login_server}/")
    expect_login_screen(page)
    sign_in(page, oidc_provider, EDITOR["email"], shot, "login-editor")
    shot(page, "login-editor-overview")
    assert_no_error(page, alerts=True)
    expect_overview_numbers(page)
    expect_signed_in_as(page, EDITOR["name"], "Editor")

    open_page(page, f"{login_server}/data")
    shot(page, "login-editor-data")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()
    assert data_view_options(page) == ["Import", "History", "Health"]
    expect(page.get_by_test_id("stFileUploader")).to_be_visible()
    expect(page.get_by_text("Only editors can")).to_have_count(0)

    # The control the viewer test says is missing is there for an editor.
    open_page(page, f"{login_server}/segments")
    shot(page, "login-editor-segments")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Segments", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Save segment")).to_be_visible()
    expect(page.get_by_text("Only editors can")).to_have_count(0)


def test_a_stranger_is_refused_with_a_way_out(
    login_server: str, oidc_provider: str, page: Page, shot: Callable[..., Path]
) -> None:
    open_page(page, f"{login_server}/")
    expect_login_screen(page)
    sign_in(page, oidc_provider, STRANGER["email"], shot, "login-stranger")
    shot(page, "login-stranger-refused")
    assert_no_error(page)
    refusal = page.get_by_test_id("stAlertContentWarning")
    expect(refusal).to_contain_text(f"You are signed in as {STRANGER['email']}")
    expect(refusal).to_contain_text("not let in to this app")
    expect(logout_button(page)).to_be_visible()
    expect(login_button(page)).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(sidebar(page)).to_have_count(0)
    expect(multiselect(page, CHANNEL_LABEL)).to_have_count(0)
    # Not on another page's address either.
    open_page(page, f"{login_server}/data")
    expect(refusal).to_contain_text("not let in to this app")
    expect(page.get_by_role("heading", name="Data", level=1)).to_have_count(0)
    expect(page.get_by_test_id("stFileUploader")).to_have_count(0)


def test_a_link_opened_before_login_comes_back_after_it(
    login_server: str,
    oidc_provider: str,
    deep_link_channel: str,
    page: Page,
    shot: Callable[..., Path],
) -> None:
    open_page(page, f"{login_server}/cohorts?channel={deep_link_channel}")
    shot(page, "login-deep-link-before")
    expect_login_screen(page)
    expect(page.get_by_role("heading", name="Cohorts", level=1)).to_have_count(0)

    sign_in(page, oidc_provider, VIEWER["email"], shot, "login-deep-link")
    # The callback lands on "/"; the app then switches to the remembered page and query.
    resumed = re.compile(r"/cohorts\?(.*&)?channel=")
    deadline = time.monotonic() + 20  # the switch happens in the first signed-in run
    while not resumed.search(page.url) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    wait_for_app(page, timeout_s=LOGIN_TIMEOUT_S)
    shot(page, "login-deep-link-after")
    assert_no_error(page, alerts=True)
    expect(page.get_by_role("heading", name="Cohorts", level=1)).to_be_visible()
    url = urlparse(page.url)
    assert url.path.rstrip("/").endswith("/cohorts"), page.url
    assert parse_qs(url.query).get("channel") == [deep_link_channel], page.url
    assert selected_values(multiselect(page, CHANNEL_LABEL)) == [deep_link_channel]
    expect_signed_in_as(page, VIEWER["name"], "Viewer")


def test_log_out_returns_to_the_login_screen(
    login_server: str, oidc_provider: str, page: Page, shot: Callable[..., Path]
) -> None:
    open_page(page, f"{login_server}/")
    expect_login_screen(page)
    sign_in(page, oidc_provider, VIEWER["email"], shot, "login-logout")
    expect_overview_numbers(page)
    expect_signed_in_as(page, VIEWER["name"], "Viewer")

    sidebar(page).get_by_role("button", name="Log out").click()
    # Streamlit sends the browser to the provider's end-session page (the mock asks for a
    # click), which redirects back to the app.
    page.wait_for_url(f"{oidc_provider}/oauth2/end_session**", timeout=LOGIN_TIMEOUT_S * 1000)
    shot(page, "login-logout-provider")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(
        lambda url: url.startswith(login_server) and "/oauth2callback" not in url,
        timeout=LOGIN_TIMEOUT_S * 1000,
    )
    wait_for_app(page, timeout_s=LOGIN_TIMEOUT_S)
    shot(page, "login-logged-out")
    expect_login_screen(page)
    # The auth cookie is gone: a fresh load of the app is still the login screen.
    open_page(page, f"{login_server}/")
    expect_login_screen(page)
