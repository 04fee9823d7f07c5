"""The Scenarios page under AppTest: discount and loyalty runs equal the domain's simulate(),
a do-nothing scenario adds nothing, tiers, evidence, comparison, save/load/delete, export, and
the empty states; plus the figures."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from retention import scenarios as sc
from retention.charts import scenarios as charts
from retention.sample import build_sample_db
from retention.saved_scenarios import list_scenarios
from retention.segments.saved import get_segment, save_segment
from retention.store import Store
from retention.targets import list_exports
from tests.apptest_helpers import assert_ok, copy_of, fitted_shop, metrics, open_page, use
from ui import scenarios_view as view
from ui.nav import PAGES_DIR

PAGE = str(PAGES_DIR / "scenarios.py")
SIMULATE_DISCOUNT = f"FormSubmitter:{view.DISCOUNT_FORM}-Simulate"
SIMULATE_LOYALTY = f"FormSubmitter:{view.LOYALTY_FORM}-Simulate"
AT_RISK = {"op": "and", "rules": [
    {"attribute": "rfm_segment", "operator": "in", "value": ["At Risk", "Can't Lose"]},
]}  # fmt: skip
EVERYONE = {"op": "and", "rules": []}
NOBODY = {"op": "and", "rules": [
    {"attribute": "recency_days", "operator": ">", "value": 100_000},
]}  # fmt: skip
CURRENCY = "USD"
# The form's defaults (ui.scenarios_view._defaults); the sample shop's model margin is 100%,
# so the margin starts at the 40% placeholder.
DISCOUNT = sc.DiscountScenario(
    discount=0.15, reach=0.3, uplift_low=0.05, uplift_high=0.20, margin=0.4, cost_per_contact=0.1
)
LOYALTY = sc.LoyaltyScenario(
    enrolment=0.3, points_per_unit=1.0, point_value=0.01, redemption=0.7, uplift_low=0.02,
    uplift_high=0.10, margin=0.4, cost_per_member=0.5,
)  # fmt: skip


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fitted_shop(Path(tmp_path_factory.mktemp("scenarios_page")) / "shop.duckdb", 1500)
    with Store(path) as s:
        save_segment(s, "At risk", AT_RISK, "Win-back")
        save_segment(s, "Everyone", EVERYONE, "All customers")
        save_segment(s, "Nobody", NOBODY, "Matches no customer")
        s.checkpoint()
    return path


def d(name: str) -> str:
    return f"scenarios.d.{name}"


def lo(name: str) -> str:
    return f"scenarios.l.{name}"


def expected(
    path: Path, segment: str, scenario: sc.Scenario, horizon: int, draws: int = 2000, seed: int = 0
) -> tuple[sc.SegmentBaseline, sc.ScenarioResult]:
    with Store(path) as s:
        segment_id = get_segment(s, segment).segment_id
        baseline = sc.segment_baseline(s, segment_id, horizon_days=horizon)
    return baseline, sc.simulate(baseline, scenario, draws=draws, seed=seed)


def shown_like(result: sc.ScenarioResult) -> dict[str, str]:
    """The tiles the page should show for ``result``, formatted as the page formats them."""
    est = result.estimate
    return {
        "Net profit": view.money(est["net_profit"], CURRENCY),
        "Chance of a loss": view.percent(result.p_loss),
        "ROI": view.percent(est["roi"], signed=True),
        "Incremental orders": view.orders_text(est["incremental_orders"]),
        "Incremental revenue": view.money(est["incremental_revenue"], CURRENCY),
        "Costs incl. cannibalised": view.money(est["total_cost"], CURRENCY),
        "Change in CLTV per customer": view.money(est["cltv_change_per_customer"], CURRENCY),
        "Break-even uplift": "none"
        if result.break_even_uplift is None
        else f"{result.break_even_uplift:.1%}",
    }


def values(data: object) -> list:
    """A trace's data as a list; numeric arrays arrive base64-packed (plotly's typed arrays)."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)  # type: ignore[call-overload]


def cell(name: str, value: float) -> str:
    """An outcome as the table shows it (no-break spaces keep each number on one line)."""
    return view.outcome_text(name, value, CURRENCY).replace(" ", "\u00a0")


def deltas(at: AppTest) -> dict[str, str]:
    return {m.label: m.delta for m in at.metric}


def figures(at: AppTest) -> list[go.Figure]:
    return [pio.from_json(c.proto.spec) for c in at.get("plotly_chart")]


def simulate_discount(at: AppTest) -> None:
    at.button(key=SIMULATE_DISCOUNT).click().run()
    assert_ok(at)


def to_loyalty(at: AppTest) -> None:
    at.segmented_control(key=view.KIND_KEY).set_value("loyalty").run()
    assert_ok(at)


def test_discount_defaults_equal_simulate(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    assert any("press **Simulate**" in i.value for i in at.info)
    assert "Net profit" not in metrics(at)
    assert any("placeholder" in c.value for c in at.caption)  # the model margin is 100%
    simulate_discount(at)
    baseline, result = expected(shop, "At risk", DISCOUNT, 90)
    shown = metrics(at)
    for label, value in shown_like(result).items():
        assert shown[label] == value, label
    net = result.summary.loc["net_profit"]
    assert deltas(at)["Net profit"] == f"80%: {view.money(net['low'])} to {view.money(net['high'])}"
    # At risk customers barely buy: a relative uplift adds little, and the page says so.
    assert any("reactivation share" in i.value for i in at.info)
    text = " ".join(m.value for m in at.markdown)
    assert f"{baseline.customers:,} customers of **At risk**" in text
    assert "Break-even uplift" in text
    outcomes = at.table[0].value
    assert len(outcomes) == len(sc.OUTCOMES)
    summary = result.summary
    assert outcomes["Estimate"].tolist() == [
        cell(n, summary.loc[n, "estimate"]) for n in sc.OUTCOMES
    ]
    assert outcomes["80% high"].tolist() == [cell(n, summary.loc[n, "high"]) for n in sc.OUTCOMES]
    hist, tornado = figures(at)[:2]
    assert sum(values(hist.data[0].y)) == pytest.approx(1.0)
    zero = [s for s in hist.layout.shapes if s.type == "line" and s.x0 == 0.0]
    assert zero or any("break-even (0)" in a.text for a in hist.layout.annotations)
    assert {t.orientation for t in tornado.data} == {"h"}
    assert len(tornado.data[0].y) == len(sc.tornado(baseline, DISCOUNT))


def test_reactivation_mode_and_a_changed_seed(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    at.radio(key=d("uplift_mode")).set_value("reactivation")
    at.slider(key=d("uplift_pct")).set_value((2.0, 8.0))
    at.number_input(key=d("seed")).set_value(7)
    at.number_input(key=d("draws")).set_value(1000)
    simulate_discount(at)
    scenario = sc.DiscountScenario(
        discount=0.15, reach=0.3, uplift_low=0.02, uplift_high=0.08, margin=0.4,
        cost_per_contact=0.1, uplift_mode="reactivation",
    )  # fmt: skip
    _, result = expected(shop, "At risk", scenario, 90, draws=1000, seed=7)
    shown = metrics(at)
    for label, value in shown_like(result).items():
        assert shown[label] == value, label
    assert not any("reactivation share" in i.value for i in at.info)
    assert any("share of reached customers coming back" in m.value for m in at.markdown)


def test_an_empty_segment_says_why_there_is_nothing_to_simulate(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    at.selectbox(key=d("segment")).set_value("Nobody")
    at.button(key=SIMULATE_DISCOUNT).click().run()
    assert not at.exception and not at.error
    assert any("has no customers with scores" in w.value for w in at.warning)
    assert "Net profit" not in metrics(at)
    assert not [b for b in at.button if b.key == "scenarios.export"]


def test_zero_discount_zero_uplift_zero_cost_adds_nothing(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    at.slider(key=d("discount_pct")).set_value(0.0)
    at.slider(key=d("uplift_pct")).set_value((0.0, 0.0))
    at.number_input(key=d("cost_per_contact")).set_value(0.0)
    simulate_discount(at)
    shown = metrics(at)
    assert shown["Net profit"] == "USD 0.00"
    assert shown["Incremental orders"] == "0.0"
    assert shown["Incremental revenue"] == "USD 0.00"
    assert shown["Costs incl. cannibalised"] == "USD 0.00"
    assert shown["Change in CLTV per customer"] == "USD 0.00"
    assert shown["Chance of a loss"] == "0%"
    assert shown["ROI"] == "–"  # no cost, no return on it
    assert deltas(at)["Net profit"] == "80%: 0.00 to 0.00"
    assert shown["Break-even uplift"] == "0.0%"


def test_a_discount_above_the_margin_never_breaks_even(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    at.slider(key=d("discount_pct")).set_value(50.0)
    simulate_discount(at)
    assert metrics(at)["Break-even uplift"] == "none"
    assert any("is at least the gross margin" in m.value for m in at.markdown)


def test_loyalty_with_tiers_equals_simulate_and_shows_evidence(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    to_loyalty(at)
    # Evidence first, before anything is simulated, with the self-selection warning on top.
    with Store(shop) as s:
        evidence = sc.loyalty_evidence(s)
    assert evidence.available
    shown = metrics(at)
    assert shown["Members vs peers"] == view.percent(evidence.uplift, signed=True)
    assert shown["Members vs all others"] == view.percent(evidence.crude_uplift, signed=True)
    assert shown["Loyalty members"] == f"{evidence.members:,}"
    assert any("Members self-select" in w.value for w in at.warning)

    # Tiers come from the data editor; AppTest cannot type into it, so they are seeded.
    at.session_state[view.TIERS_DATA_KEY] = pd.DataFrame(
        {"min_revenue": [50.0, 200.0], "points_per_unit": [2.0, 3.0]}
    )
    at.run()
    at.selectbox(key=lo("segment")).set_value("Everyone")
    at.button(key=SIMULATE_LOYALTY).click().run()
    assert_ok(at)
    tiered = sc.scenario_from_dict(LOYALTY.to_dict() | {"tiers": [[50.0, 2.0], [200.0, 3.0]]})
    baseline, result = expected(shop, "Everyone", tiered, 365)
    shown = metrics(at)
    for label, value in shown_like(result).items():
        assert shown[label] == value, label
    assert result.points_rate is not None and 1.0 < result.points_rate < 3.0
    _, untiered = expected(shop, "Everyone", LOYALTY, 365)
    assert shown["Costs incl. cannibalised"] != shown_like(untiered)["Costs incl. cannibalised"]
    method = next(e for e in at.expander if e.label == "How these numbers are made")
    assert f"here p = {result.points_rate:,.3g}" in method.markdown[0].value


def test_incomplete_tier_is_an_error_not_a_crash(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    to_loyalty(at)
    at.session_state[view.TIERS_DATA_KEY] = pd.DataFrame(
        {"min_revenue": [50.0], "points_per_unit": [np.nan]}
    )
    at.run()
    at.button(key=SIMULATE_LOYALTY).click().run()
    assert not at.exception
    assert any("every tier needs both" in e.value for e in at.error)
    assert "Net profit" not in metrics(at)


def test_compare_two_scenarios_and_keep_inputs_across_kinds(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(shop, monkeypatch)
    at = open_page(PAGE)
    at.slider(key=d("discount_pct")).set_value(10.0)
    simulate_discount(at)
    at.button(key="scenarios.compare_add").click().run()
    assert_ok(at)
    assert at.button(key="scenarios.compare_add").disabled  # already in
    to_loyalty(at)
    at.selectbox(key=lo("segment")).set_value("Everyone")
    at.button(key=SIMULATE_LOYALTY).click().run()
    at.button(key="scenarios.compare_add").click().run()
    assert_ok(at)
    table = next(df.value for df in at.dataframe if "p_loss" in df.value.columns)
    assert table["label"].tolist() == [
        "1. 10% off, uplift 5–20%",
        "2. Loyalty 1 pt/unit, uplift 2–10%",
    ]
    assert table["segment"].tolist() == ["At risk", "Everyone"]
    _, discount = expected(shop, "At risk", sc.scenario_from_dict(
        DISCOUNT.to_dict() | {"discount": 0.10}), 90)  # fmt: skip
    _, loyalty = expected(shop, "Everyone", LOYALTY, 365)
    assert table["net_profit"].tolist() == [
        view.money(discount.estimate["net_profit"], CURRENCY),
        view.money(loyalty.estimate["net_profit"], CURRENCY),
    ]
    assert table["p_loss"].tolist() == [view.percent(discount.p_loss), view.percent(loyalty.p_loss)]
    chart = figures(at)[-1]
    assert values(chart.data[0].y) == table["label"].tolist()
    assert any("differ in segment or horizon" in c.value for c in at.caption)
    # The discount form kept its inputs while the loyalty form was shown.
    at.segmented_control(key=view.KIND_KEY).set_value("discount").run()
    assert at.slider(key=d("discount_pct")).value == 10.0
    assert metrics(at)["Net profit"] == view.money(discount.estimate["net_profit"], CURRENCY)
    at.button(key="scenarios.compare_remove_0").click().run()
    table = next(df.value for df in at.dataframe if "p_loss" in df.value.columns)
    assert table["segment"].tolist() == ["Everyone"]
    at.button(key="scenarios.compare_clear").click().run()
    assert any("Nothing to compare yet" in i.value for i in at.info)


def test_save_load_and_delete(shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_of(shop, tmp_path, monkeypatch)
    at = open_page(PAGE)
    at.slider(key=d("discount_pct")).set_value(20.0)
    at.number_input(key=d("horizon_days")).set_value(60)
    simulate_discount(at)
    first = metrics(at)["Net profit"]
    at.text_input(key=view.SAVE_NAME_KEY).input("Win-back 20%").run()
    at.button(key="scenarios.save").click().run()
    assert_ok(at)
    assert any("Saved “Win-back 20%”" in s.value for s in at.success)
    with Store(path) as s:
        (saved,) = list_scenarios(s)
    assert saved.kind == "discount" and saved.segment_name == "At risk"
    assert saved.inputs["discount"] == 0.2
    assert saved.result is not None and saved.result["horizon_days"] == 60
    assert view.money(saved.result["summary"]["net_profit"]["estimate"], CURRENCY) == first
    # Saving the same name again is refused with a message.
    at.button(key="scenarios.save").click().run()
    assert any("exists already" in e.value for e in at.error)

    at.slider(key=d("discount_pct")).set_value(30.0)
    at.number_input(key=d("horizon_days")).set_value(90)
    simulate_discount(at)
    assert metrics(at)["Net profit"] != first
    at.button(key="scenarios.load").click().run()
    assert_ok(at)
    assert at.slider(key=d("discount_pct")).value == 20.0
    assert at.number_input(key=d("horizon_days")).value == 60
    assert metrics(at)["Net profit"] == first
    assert any("Loaded “Win-back 20%”" in s.value for s in at.success)

    at.button(key="scenarios.delete").click().run()
    assert_ok(at)
    with Store(path) as s:
        assert list_scenarios(s) == []
    assert not [e for e in at.expander if e.label.startswith("Saved scenarios")]


def test_load_a_saved_loyalty_scenario_switches_the_kind(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(shop, tmp_path, monkeypatch)
    tiered = sc.scenario_from_dict(LOYALTY.to_dict() | {"tiers": [[100.0, 2.0]], "fixed_cost": 50})
    _, result = expected(path, "Everyone", tiered, 180, draws=500, seed=3)
    from retention.saved_scenarios import save_scenario

    with Store(path) as s:
        save_scenario(s, "Points", "loyalty", "Everyone", tiered.to_dict(), result.to_dict())
    at = open_page(PAGE)
    assert at.segmented_control(key=view.KIND_KEY).value == "discount"
    at.button(key="scenarios.load").click().run()
    assert_ok(at)
    assert at.segmented_control(key=view.KIND_KEY).value == "loyalty"
    assert at.selectbox(key=lo("segment")).value == "Everyone"
    assert at.number_input(key=lo("fixed_cost")).value == 50.0
    assert at.number_input(key=lo("horizon_days")).value == 180
    assert at.session_state[view.TIERS_DATA_KEY].values.tolist() == [[100.0, 2.0]]
    for label, value in shown_like(result).items():
        assert metrics(at)[label] == value, label


def test_export_records_the_targets_with_the_offer(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(shop, tmp_path, monkeypatch)
    at = open_page(PAGE)
    simulate_discount(at)
    assert any("“15% off for 90 days”" in m.value for m in at.markdown)
    at.button(key="scenarios.export").click().run()
    assert_ok(at)
    ready = at.session_state[view.EXPORT_READY_KEY]
    table = pd.read_csv(io.BytesIO(ready["data"]), encoding="utf-8-sig")
    assert (table["offer"] == "15% off for 90 days").all()
    assert (table["segment"] == "At risk").all()
    with Store(path) as s:
        exports = list_exports(s)
        consenting = s.scalar(
            "SELECT count(*) FROM segment_members JOIN customer_summary USING (customer_id) "
            "JOIN segments USING (segment_id) WHERE name = 'At risk' AND accepts_marketing"
        )
    assert len(exports) == 1
    assert exports["segment_name"].item() == "At risk"
    assert exports["holdout_pct"].item() == 10.0
    assert exports["customers"].item() == len(table) == consenting
    assert set(table["group"]) == {"target", "holdout"}
    assert any(f"Recorded as export {ready['export_id']}" in c.value for c in at.caption)


def test_loyalty_offer_text() -> None:
    assert view.offer_text(LOYALTY, 365, "USD") == ("Loyalty programme invitation: 1 point per USD")
    two = sc.scenario_from_dict(LOYALTY.to_dict() | {"points_per_unit": 2.0})
    assert view.offer_text(two, 365, "EUR") == "Loyalty programme invitation: 2 points per EUR"
    assert view.offer_text(DISCOUNT, 90, None) == "15% off for 90 days"


def test_no_segment_points_to_the_segments_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(fitted_shop(tmp_path / "shop.duckdb", 300), monkeypatch)
    at = open_page(PAGE)
    assert any("No segment is saved yet" in i.value for i in at.info)
    assert not at.get("form")


def test_no_model_run_says_to_refit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shop.duckdb"
    build_sample_db(path, 300, 3)
    use(path, monkeypatch)
    at = open_page(PAGE)
    assert any("models have not been fitted" in i.value for i in at.info)


def test_no_orders_points_to_the_data_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "empty.duckdb"):
        pass
    use(tmp_path / "empty.duckdb", monkeypatch)
    at = open_page(PAGE)
    assert any("no orders yet" in i.value for i in at.info)


# --- figures ----------------------------------------------------------------------------------


def test_histogram_marks_the_interval_the_estimate_and_break_even() -> None:
    draws = np.linspace(-50.0, 150.0, 1001)
    fig = charts.net_profit_histogram_figure(
        draws, low=-30.0, high=130.0, estimate=50.0, currency="USD"
    )
    bars = fig.data[0]
    assert sum(bars.y) == pytest.approx(1.0)
    assert {c for x, c in zip(bars.x, bars.marker.color, strict=True) if x < 0} == {charts.LOSS}
    assert {c for x, c in zip(bars.x, bars.marker.color, strict=True) if x > 0} == {charts.GAIN}
    kinds = [(s.type, s.x0) for s in fig.layout.shapes]
    assert ("rect", -30.0) in kinds and ("line", 50.0) in kinds and ("line", 0.0) in kinds
    assert "80% interval: USD -30.00 to USD 130" in fig.layout.annotations[0].text
    # Far from zero, break-even is not drawn (it would squash the chart).
    far = charts.net_profit_histogram_figure(
        np.linspace(1000.0, 1100.0, 50), low=1010.0, high=1090.0, estimate=1050.0
    )
    assert all(s.x0 != 0.0 for s in far.layout.shapes)
    # One value only (no uncertainty): a single bar, no crash.
    flat = charts.net_profit_histogram_figure(np.zeros(10), low=0.0, high=0.0, estimate=0.0)
    assert sum(flat.data[0].y) == pytest.approx(1.0)


def test_tornado_figure_puts_the_widest_input_on_top() -> None:
    baseline = sc.SegmentBaseline.from_arrays(100, 50.0, 2500.0, horizon_days=90)
    frame = sc.tornado(baseline, DISCOUNT)
    fig = charts.tornado_figure(frame, float(frame.attrs["net_profit"]), currency="USD")
    low, high = fig.data
    assert list(low.y)[-1] == frame["label"].iloc[0]  # plotly draws the last category on top
    assert low.base == pytest.approx(frame.attrs["net_profit"])
    assert "15.0%" not in low.text and "11.2%" in low.text  # discount 15% − 25%
    assert "+5.0%" in low.text and "+20.0%" in high.text  # the uplift range, signed


def test_comparison_figure_keeps_the_order_and_the_intervals() -> None:
    table = pd.DataFrame(
        {
            "label": ["1. a", "2. b"],
            "net_profit": [-10.0, 40.0],
            "net_profit_low": [-20.0, 10.0],
            "net_profit_high": [-5.0, 90.0],
            "p_loss": [1.0, 0.05],
        }
    )
    fig = charts.comparison_figure(table, currency="USD")
    bar = fig.data[0]
    assert list(bar.y) == ["1. a", "2. b"]
    assert list(bar.error_x.array) == [5.0, 50.0]
    assert list(bar.error_x.arrayminus) == [10.0, 30.0]
    assert list(bar.marker.color) == [charts.LOSS, charts.GAIN]
    assert "P(loss) 5%" in fig.layout.yaxis.ticktext[1]
    assert fig.layout.yaxis.ticktext[0].startswith("<b>1. a</b>")
