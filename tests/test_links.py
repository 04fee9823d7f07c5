"""Deep links: every page's settings go to the URL and a link reopens them (ui.links)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from retention.segments.saved import save_segment
from retention.store import Store
from tests.apptest_helpers import APP, assert_ok, fitted_shop, metrics, use
from ui import cohorts_view, scenarios_view, segments_view, state
from ui.churn_view import INACTIVITY_KEY
from ui.churn_view import SPLIT_KEY as CHURN_SPLIT_KEY
from ui.conversion_view import GRAIN_KEY
from ui.links import Param, decode, encode
from ui.nav import PAGES_DIR
from ui.overview_view import PERIOD_KEY
from ui.value_view import DIMENSION_KEY, PER_CUSTOMER_KEY

AT_RISK = {"op": "and", "rules": [{"attribute": "recency_days", "operator": ">", "value": 120}]}
EVERYONE = {"op": "and", "rules": []}


# --- encoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        (Param("a", "k", "str"), "month"),
        (Param("a", "k", "int"), 365),
        (Param("a", "k", "float"), 12.5),
        (Param("a", "k", "bool"), True),
        (Param("a", "k", "bool"), False),
        (Param("a", "k", "list"), ["email", "paid search"]),
        (Param("a", "k", "json"), {"op": "or", "rules": [{"x": [1, "é"]}]}),
        (Param("a", "k", "date"), date(2024, 2, 29)),
    ],
)
def test_every_kind_round_trips(param: Param, value: Any) -> None:
    raw = encode(param.kind, value)
    assert decode(param, raw if isinstance(raw, list) else [raw]) == value


@pytest.mark.parametrize(
    ("param", "raw", "expected"),
    [
        (Param("a", "k", "int"), ["12x"], None),  # not a number: ignored
        (Param("a", "k", "int", low=1, high=10), ["11"], None),  # out of range
        (Param("a", "k", "int", choices=(30, 90)), ["60"], None),  # not a choice
        (Param("a", "k", "float"), ["nan"], None),
        (Param("a", "k", "bool"), ["maybe"], None),
        (Param("a", "k", "json"), ["{not json"], None),
        (Param("a", "k", "date"), ["2024-02-30"], None),
        (Param("a", "k", "list", choices=("a", "b")), ["a", "zzz", "b"], ["a", "b"]),
        (Param("a", "k", "str", check=lambda v: v.isupper()), ["ok"], None),
        (Param("a", "k", "str"), ["first", "last"], "last"),  # a repeated key: the last wins
    ],
)
def test_bad_values_are_ignored_not_fatal(param: Param, raw: list[str], expected: Any) -> None:
    assert decode(param, raw) == expected


def test_a_page_parameter_cannot_take_a_sidebar_name() -> None:
    with pytest.raises(ValueError, match="sidebar"):
        Param("segment", "k")


# --- pages ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fitted_shop(Path(tmp_path_factory.mktemp("links")) / "shop.duckdb", 1000)
    with Store(path) as s:
        save_segment(s, "At risk", AT_RISK, "")
        save_segment(s, "Everyone", EVERYONE, "")
        s.checkpoint()
    return path


def opened(
    page: str, query: dict[str, Any], url: str = "http://lab.test/x", *, ok: bool = True
) -> AppTest:
    """A fresh session opening ``page`` with ``query`` in its URL, as a shared link does."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.context = {"url": url}
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(str(PAGES_DIR / page)).run()  # the link's page is the first one drawn
    assert not at.exception, [e.value for e in at.exception]
    if ok:
        assert_ok(at)
    return at


def share_link(at: AppTest) -> str:
    links = [c.value for c in at.sidebar.code]
    assert len(links) == 1, links
    return links[0]


def test_overview_period_and_filters_round_trip(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = opened("overview.py", {"period": "365", "channel": "email"})
    assert at.segmented_control(key=PERIOD_KEY).value == 365
    assert at.multiselect(key=state.FILTER_CHANNELS).value == ["email"]
    at.segmented_control(key=PERIOD_KEY).set_value(30).run()
    assert at.query_params["period"] == "30"
    assert at.query_params["channel"] == "email"
    link = share_link(at)
    assert link.startswith("http://lab.test/x?") and "period=30" in link and "channel=email" in link


def test_cohorts_settings_round_trip(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(shop, monkeypatch)
    query = {
        "period": "quarter",
        "show": "revenue_retention",
        "split": "acquisition_channel",
        "filter": "country",
        "values": ["DE", "FR"],
        "min_size": "25",
        "exclude_small": "1",
        "view": "Table",
    }
    at = opened("cohorts.py", query)
    assert at.segmented_control(key=cohorts_view.PERIOD_KEY).value == "quarter"
    assert at.selectbox(key=cohorts_view.VALUE_KEY).value == "revenue_retention"
    assert at.selectbox(key=cohorts_view.SPLIT_KEY).value == "acquisition_channel"
    assert at.selectbox(key=cohorts_view.FILTER_BY_KEY).value == "country"
    picked = at.multiselect(key=cohorts_view.filter_values_key("country")).value
    assert picked and set(picked) <= {"DE", "FR"}
    assert at.number_input(key=cohorts_view.MIN_SIZE_KEY).value == 25
    assert at.checkbox(key=cohorts_view.EXCLUDE_SMALL_KEY).value is True
    assert at.segmented_control(key=cohorts_view.VIEW_KEY).value == "Table"
    for name in ("period", "show", "split", "filter", "min_size", "exclude_small", "view"):
        assert at.query_params[name] == query[name], name
    # A change goes to the URL.
    at.segmented_control(key=cohorts_view.PERIOD_KEY).set_value("week").run()
    assert at.query_params["period"] == "week"


def test_a_tampered_link_opens_with_defaults(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(shop, monkeypatch)
    at = opened("cohorts.py", {"period": "decade", "min_size": "-4", "show": "<script>"})
    assert at.segmented_control(key=cohorts_view.PERIOD_KEY).value == "month"
    assert at.number_input(key=cohorts_view.MIN_SIZE_KEY).value >= 1
    assert at.selectbox(key=cohorts_view.VALUE_KEY).value == "retention_rate"
    assert at.query_params["period"] == "month"  # the URL is corrected too


def test_churn_conversion_value_and_data_round_trip(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = opened("churn.py", {"inactive_days": "200", "split": "channel"})
    assert at.number_input(key=INACTIVITY_KEY).value == 200
    assert at.segmented_control(key=CHURN_SPLIT_KEY).value == "channel"
    at = opened("conversion.py", {"grain": "week"})
    assert at.segmented_control(key=GRAIN_KEY).value == "week"
    at = opened("value.py", {"by": "country", "per_customer": "0"})
    assert at.segmented_control(key=DIMENSION_KEY).value == "country"
    assert at.toggle(key=PER_CUSTOMER_KEY).value is False
    assert at.query_params["by"] == "country" and at.query_params["per_customer"] == "0"
    at = opened("data.py", {"view": "Health"})
    assert at.segmented_control(key=state.DATA_VIEW).value == "Health"


def test_segments_builder_rules_travel_in_the_link(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    rules = {"op": "and", "rules": [{"attribute": "orders", "operator": ">=", "value": 3}]}
    at = opened("segments.py", {"tab": "Build", "rules": json.dumps(rules)})
    shown = at.session_state[segments_view.DRAFT_KEY]
    assert shown["rules"][0]["attribute"] == "orders" and shown["rules"][0]["value"] == 3
    assert "Customers" in metrics(at)  # the preview of those rules
    assert json.loads(at.query_params["rules"])["rules"][0]["value"] == 3
    # Compare tab with two saved segments.
    at = opened("segments.py", {"tab": "Compare", "compare": ["At risk", "Everyone"]})
    assert at.multiselect(key=segments_view.COMPARE_PICK_KEY).value == ["At risk", "Everyone"]
    assert at.query_params["compare"] == ["At risk", "Everyone"]


def test_invalid_rules_in_a_link_leave_the_builder_empty(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    bad = {
        "op": "and",
        "rules": [{"attribute": "password; DROP TABLE", "operator": "=", "value": 1}],
    }
    at = opened("segments.py", {"tab": "Build", "rules": json.dumps(bad)})
    assert at.session_state[segments_view.DRAFT_KEY]["rules"] == []


def test_export_form_round_trips(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(shop, monkeypatch)
    query = {
        "segment_name": "Everyone",
        "format": "xlsx",
        "columns": ["customer_id", "email"],
        "holdout_pct": "20.0",
        "seed": "42",
        "delimiter": ";",
        "bom": "0",
        "everyone": "1",
    }
    at = opened("export.py", query)
    assert at.selectbox(key="export.segment").value == "Everyone"
    assert at.segmented_control(key="export.format").value == "xlsx"
    assert at.multiselect(key="export.columns").value == ["customer_id", "email"]
    assert at.number_input(key="export.holdout_pct").value == 20.0
    assert at.number_input(key="export.seed").value == 42
    assert at.selectbox(key="export.delimiter").value == ";"
    assert at.checkbox(key="export.bom").value is False
    assert at.checkbox(key="export.all_customers").value is True
    assert not at.warning or all("consent" in w.value for w in at.warning)
    assert {k: at.query_params[k] for k in query} == query


def test_scenario_link_reopens_the_simulated_result(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = opened("scenarios.py", {})
    at.number_input(key="scenarios.d.seed").set_value(5)
    at.button(key=f"FormSubmitter:{scenarios_view.DISCOUNT_FORM}-Simulate").click().run()
    assert_ok(at)
    sent = metrics(at)
    link = {"kind": at.query_params["kind"], "scenario": at.query_params["scenario"]}
    assert json.loads(link["scenario"])["seed"] == 5
    again = opened("scenarios.py", link)
    assert metrics(again)["Net profit"] == sent["Net profit"]
    assert metrics(again)["Chance of a loss"] == sent["Chance of a loss"]
    assert again.number_input(key="scenarios.d.seed").value == 5


def test_a_scenario_link_to_a_deleted_segment_says_so(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    link = {
        "kind": "discount",
        "segment": "Gone",
        "horizon_days": 90,
        "draws": 500,
        "seed": 0,
        "inputs": {},
    }
    at = opened("scenarios.py", {"kind": "discount", "scenario": json.dumps(link)}, ok=False)
    assert any("could not be opened" in e.value for e in at.error)
    assert "Net profit" not in metrics(at)


@pytest.mark.parametrize(
    "page",
    ["overview.py", "cohorts.py", "churn.py", "conversion.py", "value.py", "model_quality.py",
     "segments.py", "export.py", "scenarios.py", "data.py"],
)  # fmt: skip
def test_every_page_offers_its_link(shop: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    use(shop, monkeypatch)
    at = opened(page, {"country": "DE"}, url=f"https://lab.test/{page[:-3]}")
    link = share_link(at)
    assert link.startswith(f"https://lab.test/{page[:-3]}?") and "country=DE" in link


def test_a_page_that_ends_early_still_updates_its_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty shop: the page stops at its empty state; the frame still draws the link."""
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    use(path, monkeypatch)
    at = opened("cohorts.py", {"period": "week"})
    assert any("no orders yet" in i.value.lower() for i in at.info)
    assert share_link(at).startswith("http://lab.test/x")
