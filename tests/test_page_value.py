"""The Customer value page under AppTest: default view, groups, filters, settings, empty states."""

from __future__ import annotations

import base64
import math
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from retention.filters import Filters
from retention.metrics.value import latest_scores_run_id, value_totals
from retention.models.runs import latest_run
from retention.models.settings import load_settings
from retention.sample import build_sample_db
from retention.store import Store
from tests.apptest_helpers import assert_ok, copy_of, fitted_shop, metrics, open_page, use
from ui import format as fmt
from ui import state
from ui.nav import PAGES_DIR
from ui.value_view import DIMENSION_KEY, PER_CUSTOMER_KEY

PAGE = str(PAGES_DIR / "value.py")
SAVE = "FormSubmitter:value.settings-Save and refit"
MARGIN = "Gross margin, % of revenue"
KPIS = [
    "Customers",
    "Historical CLTV per customer",
    "Predicted CLTV per customer",
    "Predicted CLTV, total",
]
CLTV_KEYS = ("predicted_cltv", "predicted_cltv_low", "predicted_cltv_high")


@pytest.fixture(scope="module")
def fitted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-customer sample shop with the models fitted, as the CLI builds it."""
    return fitted_shop(Path(tmp_path_factory.mktemp("value_page")) / "shop.duckdb")


@pytest.fixture(scope="module")
def unfitted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample shop with orders and no model run."""
    path = Path(tmp_path_factory.mktemp("value_page_unfitted")) / "shop.duckdb"
    build_sample_db(path, 400, 7)
    return path


def amount(text: str) -> float:
    """'USD 108.1k' -> 108100.0 (the page's money format)."""
    m = re.fullmatch(r"(?:[A-Z]{3} )?(-?[\d,.]+)([kM]?)", text)
    assert m, text
    return float(m.group(1).replace(",", "")) * {"": 1, "k": 1e3, "M": 1e6}[m.group(2)]


def charts(at: AppTest) -> list[go.Figure]:
    return [pio.from_json(c.proto.spec) for c in at.get("plotly_chart")]


def values(data: object) -> list:
    """A trace's data as a list; numeric arrays arrive base64-packed (plotly's typed arrays)."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)  # type: ignore[call-overload]


def number_input(at: AppTest, label: str):  # noqa: ANN201 (AppTest element)
    return next(w for w in at.number_input if w.label == label)


def totals(path: Path, filters: Filters = Filters(), interval: float = 0.8) -> dict[str, float]:
    with Store(path) as s:
        run_id = latest_scores_run_id(s)
        assert run_id is not None
        return value_totals(s, run_id, filters, interval)


# --- empty states ---------------------------------------------------------------------------


def test_no_orders_points_to_the_data_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    use(path, monkeypatch)
    at = open_page(PAGE)
    assert at.title[0].value == "Customer value"
    assert any("import orders first" in i.value for i in at.info)
    assert [p.proto.label for p in at.get("page_link")] == ["Go to Data"]
    assert not at.metric
    assert not at.get("plotly_chart")


def test_orders_without_a_model_run_offer_the_settings_and_a_refit(
    unfitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(unfitted_db, tmp_path, monkeypatch)
    at = open_page(PAGE)
    assert any("have not been fitted" in i.value for i in at.info)
    assert not at.metric
    # The settings are open, with the defaults, ready to press.
    assert [e.label for e in at.expander] == ["Model settings"]
    assert number_input(at, MARGIN).value == 100.0
    assert number_input(at, "Horizon, days").value == 365

    at.button(key=SAVE).click().run()
    assert_ok(at)
    assert not any("have not been fitted" in i.value for i in at.info)
    assert list(metrics(at)) == KPIS
    assert metrics(at)["Customers"] != "0"
    assert len(at.get("plotly_chart")) == 2
    with Store(path) as s:
        run = latest_run(s, "scores")
        assert run is not None
        assert latest_scores_run_id(s) == run.run_id


# --- the sample shop ------------------------------------------------------------------------


def test_default_view_of_the_fitted_sample_shop(
    fitted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(fitted_db, monkeypatch)
    expected = totals(fitted_db)
    at = open_page(PAGE)
    assert at.title[0].value == "Customer value"
    assert [h.value for h in at.subheader if h.value != "Filters"] == [
        "Historical and predicted value by group",
        "Distribution of predicted CLTV",
        "CLTV vs CAC by channel",
        "Top customers by predicted CLTV",
    ]
    got = metrics(at)
    assert list(got) == KPIS
    n = expected["customers"]
    assert got["Customers"] == "2,000" == fmt.count(int(n))
    assert got["Historical CLTV per customer"] == fmt.money(
        expected["historical_revenue"] / n, "USD"
    )
    assert got["Predicted CLTV per customer"] == fmt.money(expected["predicted_cltv"] / n, "USD")
    assert got["Predicted CLTV, total"] == fmt.money(expected["predicted_cltv"], "USD")
    assert all(m.help for m in at.metric)
    # The interval sits under the KPIs, with the horizon and the expected orders.
    intervals = next(c.value for c in at.caption if c.value.startswith("Predicted over"))
    assert "next 365 days, with 80% intervals" in intervals
    low, high = (fmt.money(expected[k], "USD") for k in CLTV_KEYS[1:])
    assert f"{low} to {high} for all customers" in intervals
    assert f"Expected orders: {expected['expected_orders']:,.0f}" in intervals
    assert expected["predicted_cltv_low"] < expected["predicted_cltv"]
    assert expected["predicted_cltv"] < expected["predicted_cltv_high"]
    # The fit's settings are spelled out.
    assert any("revenue (margin 100%)" in c.value for c in at.caption)

    by_group, histogram = charts(at)
    bars = by_group.data
    assert [b.name for b in bars] == ["Historical: revenue to date", "Predicted: next 365 days"]
    assert bars[0].x[0] == "2023 Q4"
    assert all(re.fullmatch(r"\d{4} Q[1-4]", x) for x in bars[0].x)
    assert by_group.layout.yaxis.title.text == "Per customer, USD"
    assert sum(values(histogram.data[0].y)) == 2000
    assert histogram.layout.yaxis.type == "log"

    table, cac, top = (d.value for d in at.dataframe)
    assert table["customers"].sum() == 2000
    assert list(cac["channel"]) == sorted(cac["channel"])
    assert len(top) == 50
    assert top["predicted_cltv"].is_monotonic_decreasing
    assert top["cltv_interval"].str.fullmatch(r"[\d,]+ – [\d,]+").all()
    assert top["p_alive"].between(0, 100).all()
    assert any(e.label == "How these numbers are made" for e in at.expander)


def test_group_by_channel_and_country_in_totals(
    fitted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(fitted_db, monkeypatch)
    expected = totals(fitted_db)
    at = open_page(PAGE)
    assert at.button_group(key=DIMENSION_KEY).value == "cohort_quarter"
    assert any(c.value.startswith("Older cohorts") for c in at.caption)

    at.button_group(key=DIMENSION_KEY).set_value("first_channel").run()
    assert_ok(at)
    bars = charts(at)[0].data
    assert list(bars[0].x) == [
        "email",
        "marketplace",
        "organic",
        "paid_search",
        "referral",
        "social",
    ]
    assert not any(c.value.startswith("Older cohorts") for c in at.caption)
    assert any(c.value == "Whiskers: the 80% interval of the prediction." for c in at.caption)

    at.toggle(key=PER_CUSTOMER_KEY).set_value(False).run()
    assert_ok(at)
    figure = charts(at)[0]
    assert figure.layout.yaxis.title.text == "Total, USD"
    historical, predicted = figure.data
    assert math.isclose(sum(values(historical.y)), expected["historical_revenue"], rel_tol=1e-9)
    assert math.isclose(sum(values(predicted.y)), expected["predicted_cltv"], rel_tol=1e-9)
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "group",
        "customers",
        "historical",
        "predicted",
        "predicted_interval",
        "orders",
    ]
    assert table["group"].tolist() == list(bars[0].x)
    assert math.isclose(table["orders"].sum(), expected["expected_orders"], rel_tol=1e-9)

    at.button_group(key=DIMENSION_KEY).set_value("country").run()
    assert_ok(at)
    countries = charts(at)[0].data[0].x
    assert {"US", "DE", "GB"} <= set(countries)
    assert at.dataframe[0].value["customers"].sum() == 2000
    # The KPIs do not depend on the grouping.
    assert metrics(at)["Predicted CLTV, total"] == fmt.money(expected["predicted_cltv"], "USD")


def test_sidebar_filters_narrow_the_customers(
    fitted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(fitted_db, monkeypatch)
    at = open_page(PAGE)
    at.multiselect(key=state.FILTER_COUNTRIES).select("DE").run()
    assert_ok(at)
    filters = at.session_state[state.FILTERS]
    assert filters.countries == ("DE",)
    de = totals(fitted_db, filters)
    got = metrics(at)
    assert 0 < de["customers"] < 2000
    assert got["Customers"] == fmt.count(int(de["customers"]))
    assert got["Predicted CLTV, total"] == fmt.money(de["predicted_cltv"], "USD")
    assert len(charts(at)[0].data[0].x) > 0  # still cohorts to draw
    assert set(at.dataframe[2].value["country"]) == {"DE"}  # top customers

    at.multiselect(key=state.FILTER_CHANNELS).select("email").run()
    assert_ok(at)
    both = totals(fitted_db, at.session_state[state.FILTERS])
    assert 0 < both["customers"] < de["customers"]
    assert metrics(at)["Customers"] == fmt.count(int(both["customers"]))
    assert list(at.dataframe[1].value["channel"]) == ["email"]  # CLTV vs CAC


def test_margin_setting_is_saved_and_scales_predicted_cltv(
    fitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(fitted_db, tmp_path, monkeypatch)
    before = totals(path)
    at = open_page(PAGE)
    per_customer_before = amount(metrics(at)["Predicted CLTV per customer"])

    number_input(at, MARGIN).set_value(50.0)
    at.button(key=SAVE).click().run()
    assert_ok(at)

    with Store(path) as s:
        saved = load_settings(s)
        run = latest_run(s, "scores")
    assert saved.margin == 0.5
    assert run is not None and run.settings == saved
    assert saved.seed == 0 and saved.draws == 200  # same draws as before
    after = totals(path)
    for key in CLTV_KEYS:
        assert math.isclose(after[key], 0.5 * before[key], rel_tol=1e-9), key
    for key in ("customers", "historical_revenue", "expected_orders"):
        assert math.isclose(after[key], before[key], rel_tol=1e-9), key
    # What the page shows follows: about half (the KPI is rounded to cents).
    per_customer_after = amount(metrics(at)["Predicted CLTV per customer"])
    assert per_customer_after == pytest.approx(per_customer_before / 2, abs=0.01)
    assert any("margin 50%" in c.value for c in at.caption)
    assert number_input(at, MARGIN).value == 50.0
