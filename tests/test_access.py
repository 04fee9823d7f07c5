"""The access policy: who is an editor, who a viewer, who is refused (retention.access)."""

from __future__ import annotations

import pytest

from retention.access import policy_from_secrets, provider_names

AUTH = {
    "redirect_uri": "https://lab.example.com/oauth2callback",
    "cookie_secret": "a long random string",
    "client_id": "lab",
    "client_secret": "s3cret",
    "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
}


def test_no_auth_section_is_open_and_everyone_edits() -> None:
    for section in (None, {}):
        policy = policy_from_secrets(section)
        assert policy.mode == "open"
        assert not policy.requires_login
        assert policy.role(None) == "editor"


def test_editors_edit_and_without_lists_everyone_else_views() -> None:
    policy = policy_from_secrets({**AUTH, "editors": ["Ana@Shop.com ", "bo@shop.com"]})
    assert policy.mode == "login"
    assert policy.role("ana@shop.com") == "editor"  # case and spaces do not matter
    assert policy.role("BO@SHOP.COM") == "editor"
    assert policy.role("cy@elsewhere.org") == "viewer"  # the provider decides who gets in
    assert policy.role(None) == "viewer"


def test_viewer_lists_and_domains_refuse_everyone_else() -> None:
    policy = policy_from_secrets(
        {**AUTH, "editors": ["ana@shop.com"], "viewers": ["guest@agency.io"],
         "allowed_domains": ["@shop.com"]}
    )  # fmt: skip
    assert policy.role("ana@shop.com") == "editor"
    assert policy.role("dee@shop.com") == "viewer"  # by domain ("@" is optional)
    assert policy.role("guest@agency.io") == "viewer"  # by address
    assert policy.role("other@agency.io") is None
    assert policy.role("dee@shop.com.evil.io") is None  # the whole domain must match
    assert policy.role(None) is None  # no e-mail claim: cannot be checked, refused


def test_an_editor_listed_as_viewer_too_is_an_editor() -> None:
    policy = policy_from_secrets({**AUTH, "editors": ["a@x.com"], "viewers": ["a@x.com"]})
    assert policy.role("a@x.com") == "editor"


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({k: v for k, v in AUTH.items() if k != "cookie_secret"}, "cookie_secret"),
        ({k: v for k, v in AUTH.items() if k != "redirect_uri"}, "redirect_uri"),
        ({k: v for k, v in AUTH.items() if k != "client_id"}, "client_id"),
        ({**AUTH, "editors": "ana@shop.com"}, None),  # one string is one address: fine
        ({**AUTH, "editors": [1, 2]}, "list of strings"),
        (
            {"redirect_uri": "x", "cookie_secret": "y", "google": {"client_id": "c"}},
            "[auth.google] lacks client_secret, server_metadata_url",
        ),
    ],
)
def test_misconfigured_sections_fail_closed_with_what_is_wrong(
    section: dict, says: str | None
) -> None:
    policy = policy_from_secrets(section)
    if says is None:
        assert policy.mode == "login"
        assert policy.role("ana@shop.com") == "editor"
        return
    assert policy.mode == "misconfigured"
    assert policy.requires_login
    assert says in (policy.problem or "")
    assert policy.role("anyone@x.com") is None


def test_named_providers_are_listed_in_order() -> None:
    section = {
        "redirect_uri": "x",
        "cookie_secret": "y",
        "client_kwargs": {"scope": "openid"},
        "microsoft": {k: "v" for k in ("client_id", "client_secret", "server_metadata_url")},
        "google": {k: "v" for k in ("client_id", "client_secret", "server_metadata_url")},
    }
    assert provider_names(section) == ["microsoft", "google"]
    assert policy_from_secrets(section).mode == "login"
    assert provider_names(AUTH) == []
