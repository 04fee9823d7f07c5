"""The login gate, the signed-in person's role, and the controls that only editors see.

The policy itself (who is an editor, who a viewer) is :mod:`retention.access`; this module
reads the ``[auth]`` section of the secrets and ``st.user``, draws the login screen and keeps
the result in session state for the pages.

A shared link opened by someone not yet signed in keeps its page and settings through the
login round trip: the gate remembers the link's path and query under the browser's XSRF cookie
(which survives the redirects to the identity provider and back) and the first signed-in run
goes back there. Entries live ten minutes and hold no secret: a page name and its settings.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, ParamSpec, TypeVar
from urllib.parse import urlsplit

import streamlit as st

from retention.access import AccessPolicy, Role, policy_from_secrets, provider_names

__all__ = [
    "Access",
    "current_access",
    "require_access",
    "can_edit",
    "editor_only_note",
    "editors_only",
    "render_access_sidebar",
    "resume_link_after_login",
    "go_to_resumed_page",
]

ACCESS_KEY = "access.current"
LOGIN_BUTTON_PREFIX = "access.login."
LOGOUT_KEY = "access.logout"
_XSRF_COOKIE = "_streamlit_xsrf"
_RETURN_TTL_S = 600.0
_RETURN_MAX = 1000
_returns: dict[str, tuple[float, str, dict[str, list[str]]]] = {}
_returns_lock = threading.Lock()


@dataclass(frozen=True)
class Access:
    """Who is using this session and what they may do."""

    policy: AccessPolicy
    role: Role | None
    email: str | None = None
    name: str | None = None

    @property
    def can_edit(self) -> bool:
        return self.role == "editor"


def _auth_section() -> tuple[Mapping[str, Any] | None, str | None]:
    """The ``[auth]`` section (or None) and a problem reading the secrets (or None)."""
    try:
        if not st.secrets.load_if_toml_exists():
            return None, None
        section = st.secrets.get("auth")
    except Exception as error:  # a secrets file that does not parse: fail closed
        return None, f".streamlit/secrets.toml could not be read: {error}"
    if section is None:
        return None, None
    return (section.to_dict() if hasattr(section, "to_dict") else dict(section)), None


def _user() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:  # no user information in this context
        return {}


def current_access() -> Access:
    """This run's access; computed by :func:`require_access` in app.py, open by default."""
    access = st.session_state.get(ACCESS_KEY)
    return access if isinstance(access, Access) else Access(AccessPolicy("open"), "editor")


def can_edit() -> bool:
    """May this session import, refit, save or delete? (Always, without login.)"""
    return current_access().can_edit


def editor_only_note(action: str) -> None:
    """Say, where a control would be, why a viewer does not see it."""
    access = current_access()
    who = access.email or access.name or "this account"
    st.caption(
        f":material/lock: Only editors can {action}. You are signed in as {who}, a viewer; "
        "ask the person who runs this app to add your address to `editors`."
    )


P = ParamSpec("P")
R = TypeVar("R")


def editors_only(callback: Callable[P, R]) -> Callable[P, R | None]:
    """Wrap a write callback so that it does nothing for a viewer (the UI hides its button;
    this is the second lock, for a request the UI did not offer)."""

    @functools.wraps(callback)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | None:
        if not can_edit():
            st.toast("Only editors can change the data.", icon=":material/lock:")
            return None
        return callback(*args, **kwargs)

    return guarded


def _query() -> dict[str, list[str]]:
    """The URL's query, every value of a repeated key kept."""
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _flat(query: dict[str, list[str]]) -> dict[str, str | list[str]]:
    """The form ``st.query_params`` takes: one value as itself, repeated values as a list."""
    return {k: v if len(v) > 1 else v[0] for k, v in query.items() if v}


def _remember_link(cookie: str | None) -> None:
    """Keep this URL's page and settings for the browser, to return after login."""
    if not cookie:
        return
    path = urlsplit(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    query = _query()
    if not path and not query:
        return
    now = time.monotonic()
    with _returns_lock:
        for key in [k for k, (t, _, _) in _returns.items() if now - t > _RETURN_TTL_S]:
            del _returns[key]
        if len(_returns) >= _RETURN_MAX:
            _returns.pop(next(iter(_returns)))
        _returns[cookie] = (now, path, query)


def _take_link(cookie: str | None) -> tuple[str, dict[str, list[str]]] | None:
    if not cookie:
        return None
    with _returns_lock:
        entry = _returns.pop(cookie, None)
    if entry is None or time.monotonic() - entry[0] > _RETURN_TTL_S:
        return None
    return entry[1], entry[2]


def _browser_key(cookie: str | None) -> str | None:
    """The browser's XSRF token from its cookie, unmasked.

    The cookie is ``2|mask|masked_token|timestamp`` (Tornado's version 2 format, which
    Streamlit keeps): the mask changes whenever the cookie is issued again, as it is on the way
    back from the identity provider, while the token it masks stays the same.
    """
    if not cookie:
        return None
    parts = cookie.split("|")
    if len(parts) != 4 or parts[0] != "2":
        return cookie
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None
    if not mask:
        return None
    return bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked)).hex()


def _cookie() -> str | None:
    try:
        return _browser_key(st.context.cookies.get(_XSRF_COOKIE))
    except Exception:
        return None


def _login_screen(auth: Mapping[str, Any]) -> None:
    st.title("Retention Lab")
    st.write("Sign in to see this shop's retention analytics.")
    names = provider_names(auth)
    login = "Log in"
    if not names and st.button(
        login, type="primary", icon=":material/login:", key=LOGIN_BUTTON_PREFIX
    ):
        st.login()
    for name in names:
        if st.button(
            f"Log in with {name.title()}",
            type="primary",
            icon=":material/login:",
            key=LOGIN_BUTTON_PREFIX + name,
        ):
            st.login(name)
    st.caption(
        "Only people this app's owner has let in can see it. After you sign in you come back "
        "to the page and settings of the link you opened."
    )


def _stop_at_gate() -> NoReturn:
    """End the run at the gate. Registering the pages (hidden) first keeps Streamlit from
    drawing its own list of the ``pages/`` files in the sidebar of the login screen."""
    from ui.nav import all_pages

    st.navigation(all_pages(), position="hidden")
    st.stop()


def require_access() -> Access:
    """Gate the app: returns this session's access, or draws the login screen and stops.

    Without ``[auth]`` the app is open. A misconfigured ``[auth]`` shows what is wrong and
    nothing else. A signed-in person who is not let in sees that, with a log-out button.
    """
    auth, problem = _auth_section()
    if problem is not None:
        policy = AccessPolicy("misconfigured", problem=problem)
    else:
        policy = policy_from_secrets(auth)
    if policy.mode == "misconfigured":
        st.title("Retention Lab")
        st.error(
            f"Login is set up in `.streamlit/secrets.toml` but cannot work: {policy.problem}. "
            "Fix the `[auth]` section (README, *Deployment*) and restart the app. Nothing is "
            "shown until then.",
            icon=":material/error:",
        )
        _stop_at_gate()
    user = _user()
    if policy.mode == "open":
        access = Access(policy, "editor")
    elif not user.get("is_logged_in"):
        _remember_link(_cookie())
        _login_screen(auth or {})
        _stop_at_gate()
    else:
        email = user.get("email")
        name = user.get("name")
        role = policy.role(email if isinstance(email, str) else None)
        if role is None:
            st.title("Retention Lab")
            st.warning(
                f"You are signed in as {email or name or 'an account without an e-mail'}, but "
                "this account is not let in to this app. Ask the person who runs it to add your "
                "address to `viewers` or `editors`, or sign in with another account.",
                icon=":material/block:",
            )
            if st.button("Log out", icon=":material/logout:", key=LOGOUT_KEY):
                st.logout()
            _stop_at_gate()
        access = Access(policy, role, email=email, name=name)
    st.session_state[ACCESS_KEY] = access
    return access


def resume_link_after_login() -> str | None:
    """On the first run after login, restore the query of the link opened before it.

    Call before the sidebar reads the filters from the URL. Returns the page's url path for
    :func:`go_to_resumed_page`, or None when there is nothing to resume.
    """
    if current_access().policy.mode != "login":
        return None
    target = _take_link(_cookie())
    if target is None:
        return None
    path, query = target
    st.query_params.from_dict(_flat(query))
    return path


def go_to_resumed_page(path: str | None, current: st.Page, pages: list[st.Page]) -> None:
    """Switch to the resumed link's page (after ``st.navigation``), keeping its query."""
    if path is None or current.url_path == path:
        return
    page = next((p for p in pages if p.url_path == path), None)
    if page is not None:
        st.switch_page(page, query_params=_flat(_query()))


def render_access_sidebar(access: Access) -> None:
    """Who is signed in and with which role, or that the app runs open."""
    with st.sidebar:
        if access.policy.mode == "open":
            st.caption(
                ":material/lock_open: **Open access**: no login is configured, so anyone who "
                "can reach this address can view and change the data. Fine on your own "
                "machine; before sharing, set up login (README, *Deployment*)."
            )
            return
        who = access.name or access.email or "signed in"
        role = "Editor" if access.can_edit else "Viewer"
        what = (
            "may import, refit and save segments and scenarios"
            if access.can_edit
            else "may view and export"
        )
        st.caption(f":material/account_circle: **{who}** · {role}", help=f"{access.email}: {what}.")
        if st.button("Log out", icon=":material/logout:", key=LOGOUT_KEY):
            st.logout()
