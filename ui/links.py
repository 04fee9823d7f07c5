"""Deep links: each page's settings live in the URL, so a link reopens exactly that view.

A page declares its linked widgets with :func:`link_widgets` before drawing them. The first
time this session draws a widget, a value for it in the URL (if valid) becomes its state; after
the page has run, app.py calls :func:`publish`, which writes every declared widget's current
value back to the URL, and :func:`render_share` draws the "Share this view" control with the
full link and a copy button. The sidebar filters have their own parameters (``ui.sidebar``).

A value that does not parse, or is not among a widget's choices, is ignored: an old or edited
link opens with defaults instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from urllib.parse import urlencode

import streamlit as st

from ui.access import current_access

__all__ = ["Param", "link_widgets", "publish", "render_share", "share_url", "encode", "decode"]

Kind = Literal["str", "int", "float", "bool", "list", "json", "date"]

_DECLARED = "links.declared"  # this run's Params, in declaration order
_RESTORED = "links.restored"  # widget keys already seeded from the URL in this session
RESERVED = frozenset({"start", "end", "channel", "country", "segment"})  # the sidebar's


@dataclass(frozen=True)
class Param:
    """One widget's value in the URL: ``?name=value``."""

    name: str
    key: str  # the widget's session-state key
    kind: Kind = "str"
    choices: Sequence[Any] | None = None
    low: float | None = None
    high: float | None = None
    check: Callable[[Any], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.name in RESERVED:
            raise ValueError(f"URL parameter {self.name!r} is the sidebar's")


def encode(kind: Kind, value: Any) -> str | list[str] | None:
    """The URL form of a widget value (None: leave it out)."""
    if value is None:
        return None
    if kind == "bool":
        return "1" if value else "0"
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return repr(float(value))
    if kind == "list":
        return [str(v) for v in value]
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else None
    if kind == "json":
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return str(value)


def decode(param: Param, raw: list[str]) -> Any:
    """The widget value for URL strings, or None when they are not a valid value."""
    if not raw:
        return [] if param.kind == "list" else None
    text = raw[-1]
    try:
        if param.kind == "list":
            values = list(raw)
            if param.choices is not None:
                values = [v for v in values if v in param.choices]
            return values
        if param.kind == "bool":
            value: Any = {"1": True, "0": False, "true": True, "false": False}[text.lower()]
        elif param.kind == "int":
            value = int(text)
        elif param.kind == "float":
            value = float(text)
            if value != value:  # NaN
                return None
        elif param.kind == "json":
            value = json.loads(text)
        elif param.kind == "date":
            value = date.fromisoformat(text)
        else:
            value = text
    except (KeyError, ValueError, json.JSONDecodeError):
        return None
    if param.choices is not None and value not in param.choices:
        return None
    if param.low is not None and value < param.low:  # type: ignore[operator]
        return None
    if param.high is not None and value > param.high:
        return None
    if param.check is not None and not param.check(value):
        return None
    return value


def link_widgets(*params: Param) -> None:
    """Declare linked widgets; seed each one's state from the URL the first time it is seen."""
    restored: set[str] = st.session_state.setdefault(_RESTORED, set())
    declared: list[Param] = st.session_state.setdefault(_DECLARED, [])
    for param in params:
        declared.append(param)
        if param.key in restored:
            continue
        restored.add(param.key)
        if param.name not in st.query_params:
            continue
        value = decode(param, st.query_params.get_all(param.name))
        if value is not None:
            st.session_state[param.key] = value


def publish() -> None:
    """Write this run's declared widgets to the URL; called by app.py after the page ran."""
    declared: list[Param] = st.session_state.pop(_DECLARED, [])
    for param in declared:
        wanted = encode(param.kind, st.session_state.get(param.key))
        current = st.query_params.get_all(param.name)
        if wanted is None or wanted == []:
            if param.name in st.query_params:
                del st.query_params[param.name]
        elif (wanted if isinstance(wanted, list) else [wanted]) != current:
            st.query_params[param.name] = wanted


def share_url() -> str:
    """The full link to this view: page URL plus the query (relative when the URL is unknown)."""
    query = urlencode([(k, v) for k in st.query_params for v in st.query_params.get_all(k)])
    try:
        base = st.context.url or ""
    except Exception:  # no browser context (a bare script run)
        base = ""
    return base + (f"?{query}" if query else "")


def render_share(slot: Any) -> None:
    """The "Share this view" control: the link, with a copy button, in a popover."""
    with slot.popover("Share this view", icon=":material/link:", width="stretch"):
        st.markdown("**Link to this view**")
        st.code(share_url(), language=None, wrap_lines=True)
        who = (
            "People you send it to sign in first"
            if current_access().policy.requires_login
            else "No login is set up, so anyone who can reach this address can open it"
        )
        st.caption(
            "Copy it with the button at the right of the link. It opens this page with these "
            f"filters and settings. {who}; they see the data as it is when they open it."
        )
