"""The login gate and the viewer/editor split under AppTest (secrets and st.user seeded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from retention.segments import saved
from retention.store import Store
from tests.apptest_helpers import APP, assert_ok, fitted_shop, use
from tests.test_access import AUTH
from ui import access as ui_access
from ui import segments_view, state
from ui.nav import PAGES_DIR

EDITOR = {"is_logged_in": True, "email": "ana@shop.com", "name": "Ana"}
VIEWER = {"is_logged_in": True, "email": "vic@shop.com", "name": "Vic"}
STRANGER = {"is_logged_in": True, "email": "eve@elsewhere.org", "name": "Eve"}
SECRETS = {"auth": {**AUTH, "editors": ["ana@shop.com"], "allowed_domains": ["shop.com"]}}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fitted_shop(Path(tmp_path_factory.mktemp("access")) / "shop.duckdb", 800)
    with Store(path) as s:
        saved.save_segment(s, "Everyone", {"op": "and", "rules": []}, "")
        s.checkpoint()
    return path


def app(
    shop: Path, monkeypatch: pytest.MonkeyPatch, user: dict[str, Any] | None, secrets: Any = None
) -> AppTest:
    use(shop, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120)
    if secrets is not None:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    at.run()
    return at


def texts(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.title]
    return "\n".join(str(p.value) for p in parts)


def buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_without_auth_the_app_is_open_and_says_so(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(shop, monkeypatch, None)
    assert_ok(at)
    assert at.metric, "Overview shows its numbers"
    assert "Open access" in " ".join(c.value for c in at.sidebar.caption)
    at.switch_page(str(PAGES_DIR / "data.py")).run()
    assert "Import" in at.segmented_control(key=state.DATA_VIEW).options


def test_with_auth_nothing_renders_before_login(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(shop, monkeypatch, {"is_logged_in": False}, SECRETS)
    assert_ok(at)
    assert buttons(at) == ["Log in"]
    assert not at.metric and not at.sidebar.date_input and not at.dataframe
    assert "Sign in" in texts(at)


def test_named_providers_get_one_button_each(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    secrets = {
        "auth": {
            "redirect_uri": AUTH["redirect_uri"],
            "cookie_secret": "x",
            "google": provider,
            "microsoft": provider,
        }
    }
    at = app(shop, monkeypatch, {"is_logged_in": False}, secrets)
    assert_ok(at)
    assert buttons(at) == ["Log in with Google", "Log in with Microsoft"]


def test_a_misconfigured_auth_section_shows_what_is_wrong_and_nothing_else(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = {"auth": {k: v for k, v in AUTH.items() if k != "cookie_secret"}}
    at = app(shop, monkeypatch, EDITOR, broken)
    assert not at.exception
    assert len(at.error) == 1 and "cookie_secret" in at.error[0].value
    assert not at.metric and not buttons(at)


def test_a_signed_in_stranger_is_refused_with_a_way_out(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(shop, monkeypatch, STRANGER, SECRETS)
    assert not at.exception
    assert "eve@elsewhere.org" in at.warning[0].value and "not let in" in at.warning[0].value
    assert buttons(at) == ["Log out"]
    assert not at.metric


def test_a_viewer_sees_the_numbers_but_no_write_controls(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(shop, monkeypatch, VIEWER, SECRETS)
    assert_ok(at)
    assert at.metric
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "Vic" in sidebar and "Viewer" in sidebar
    assert "Log out" in [b.label for b in at.sidebar.button]

    at.switch_page(str(PAGES_DIR / "data.py")).run()
    assert_ok(at)
    assert at.segmented_control(key=state.DATA_VIEW).options == ["History", "Health"]
    assert "Only editors can import data" in texts(at)

    at.switch_page(str(PAGES_DIR / "value.py")).run()
    assert_ok(at)
    assert "Save and refit" not in buttons(at)
    assert "Only editors can change the settings" in texts(at)

    at.switch_page(str(PAGES_DIR / "model_quality.py")).run()
    assert_ok(at)
    assert "Run the check" not in buttons(at)

    at.switch_page(str(PAGES_DIR / "segments.py")).run()
    assert_ok(at)
    assert segments_view.SAVE_BUTTON not in buttons(at)
    assert "Only editors can save segments" in texts(at)


def test_an_editor_sees_the_write_controls(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(shop, monkeypatch, EDITOR, SECRETS)
    assert_ok(at)
    assert "Editor" in " ".join(c.value for c in at.sidebar.caption)
    at.switch_page(str(PAGES_DIR / "data.py")).run()
    assert "Import" in at.segmented_control(key=state.DATA_VIEW).options
    at.switch_page(str(PAGES_DIR / "value.py")).run()
    assert_ok(at)
    assert "Save and refit" in buttons(at)
    at.switch_page(str(PAGES_DIR / "segments.py")).run()
    assert segments_view.SAVE_BUTTON in buttons(at)


def test_write_callbacks_refuse_a_viewer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second lock: a write callback does nothing unless the session may edit."""
    calls: list[int] = []
    guarded = ui_access.editors_only(lambda n: calls.append(n) or n)
    monkeypatch.setattr(ui_access, "can_edit", lambda: False)
    monkeypatch.setattr(ui_access.st, "toast", lambda *a, **k: None)
    assert guarded(1) is None and calls == []
    monkeypatch.setattr(ui_access, "can_edit", lambda: True)
    assert guarded(2) == 2 and calls == [2]


def test_the_browser_key_survives_a_reissued_xsrf_cookie() -> None:
    """Two cookies one browser got before and after a login round trip (seen in Chromium):
    different masks, one token, so the link opened before login is found after it."""
    before = "2|fc967771|773d7c32129bfefa5956c46531ea3962|1796224603"
    after = "2|f44fd474|7fe4df371a425dff518f676039339a67|1796224603"
    other = "2|fc967771|773d7c32129bfefa5956c46531ea3963|1796224603"
    key = ui_access._browser_key(before)
    assert key == ui_access._browser_key(after) == "8bab0b43ee0d898ba5c0b314cd7c4e13"
    assert ui_access._browser_key(other) != key
    assert ui_access._browser_key(None) is None
    assert ui_access._browser_key("2|zz|zz|1") is None
