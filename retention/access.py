"""Who may do what: the access policy read from the ``[auth]`` section of the app's secrets.

Three modes:

- **open**: no ``[auth]`` section. Everyone who reaches the app may view and change the data
  (local use on one's own machine).
- **login**: an ``[auth]`` section with the OpenID Connect settings Streamlit's ``st.login``
  needs. Nothing is shown before login. A signed-in person is an *editor* when their e-mail is
  in ``editors`` (may import, refit, save and delete segments and scenarios), a *viewer* when it
  is in ``viewers`` or its domain in ``allowed_domains`` (may view and export), and refused
  otherwise. With neither ``viewers`` nor ``allowed_domains`` set, everyone the identity
  provider lets in is a viewer: the provider decides who gets in.
- **misconfigured**: an ``[auth]`` section that ``st.login`` could not use. The app shows what
  is missing and nothing else: it fails closed, never open.

E-mail addresses compare case-insensitively and without surrounding spaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Role",
    "AccessPolicy",
    "REQUIRED_AUTH_KEYS",
    "REQUIRED_PROVIDER_KEYS",
    "policy_from_secrets",
    "provider_names",
]

Role = Literal["editor", "viewer"]

REQUIRED_AUTH_KEYS = ("redirect_uri", "cookie_secret")
REQUIRED_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_POLICY_KEYS = ("editors", "viewers", "allowed_domains")


def _emails(value: Any, key: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'`{key}` in [auth] must be a list of strings, like {key} = ["a@b.com"]')
    return frozenset(v.strip().lower() for v in value if v.strip())


@dataclass(frozen=True)
class AccessPolicy:
    """The access rules of one deployment (see the module docstring)."""

    mode: Literal["open", "login", "misconfigured"]
    editors: frozenset[str] = frozenset()
    viewers: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    problem: str | None = None  # what is wrong, when misconfigured

    @property
    def requires_login(self) -> bool:
        return self.mode != "open"

    def role(self, email: str | None) -> Role | None:
        """The role of a signed-in person, or None when they are not let in.

        Open mode makes everyone an editor; ``editors`` wins over ``viewers``.
        """
        if self.mode == "open":
            return "editor"
        if self.mode == "misconfigured":
            return None
        address = (email or "").strip().lower()
        if address and address in self.editors:
            return "editor"
        if not self.viewers and not self.allowed_domains:
            return "viewer"
        if not address:
            return None
        domain = address.rsplit("@", 1)[-1]
        if address in self.viewers or domain in self.allowed_domains:
            return "viewer"
        return None


def _provider_problem(auth: Mapping[str, Any]) -> str | None:
    """What ``st.login`` would reject, in words, or None."""
    missing = [k for k in REQUIRED_AUTH_KEYS if not auth.get(k)]
    if missing:
        return f"[auth] lacks {', '.join(missing)}"
    providers = {k: auth[k] for k in provider_names(auth)}
    if not providers:
        absent = [k for k in REQUIRED_PROVIDER_KEYS if not auth.get(k)]
        if absent:
            return f"[auth] lacks {', '.join(absent)} (or a provider section like [auth.google])"
        return None
    for name, section in providers.items():
        absent = [k for k in REQUIRED_PROVIDER_KEYS if not section.get(k)]
        if absent:
            return f"[auth.{name}] lacks {', '.join(absent)}"
    return None


def policy_from_secrets(auth: Mapping[str, Any] | None) -> AccessPolicy:
    """The policy for an ``[auth]`` section (None or empty: open)."""
    if not auth:
        return AccessPolicy(mode="open")
    try:
        lists = {k: _emails(auth.get(k), k) for k in _POLICY_KEYS}
    except ValueError as error:
        return AccessPolicy(mode="misconfigured", problem=str(error))
    domains = frozenset(d.lstrip("@") for d in lists["allowed_domains"])
    problem = _provider_problem(auth)
    return AccessPolicy(
        mode="misconfigured" if problem else "login",
        editors=lists["editors"],
        viewers=lists["viewers"],
        allowed_domains=domains,
        problem=problem,
    )


def provider_names(auth: Mapping[str, Any]) -> list[str]:
    """Named providers (``[auth.google]``, ...) in file order; empty for the default one."""
    return [k for k, v in auth.items() if isinstance(v, Mapping) and k != "client_kwargs"]
