"""The Segments page under AppTest: builder and preview, saved segments, RFM grid, comparison."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from retention.charts.segments import (
    cltv_interval_figure,
    retention_curves_figure,
    rfm_grid,
    rfm_grid_figure,
)
from retention.sample import build_sample_db
from retention.segments import saved
from retention.segments.attributes import RFM_SEGMENT_ORDER
from retention.segments.compare import compare
from retention.segments.rules import parse_rules
from retention.store import Store
from tests.apptest_helpers import assert_ok, copy_of, fitted_shop, metrics, open_page, use
from ui import format as fmt
from ui import segments_view as view
from ui.nav import PAGES_DIR

PAGE = str(PAGES_DIR / "segments.py")
KPIS = ["Customers", "Share of customers", "Revenue share", "Revenue to date"]
SAVE = f"FormSubmitter:{view.SAVE_FORM}-{view.SAVE_BUTTON}"
RENAME = f"FormSubmitter:{view.RENAME_FORM}-{view.RENAME_BUTTON}"
DUPLICATE = f"FormSubmitter:{view.DUPLICATE_FORM}-{view.DUPLICATE_BUTTON}"
ADD = f"{view.BUTTON_PREFIX}add.{view.ROOT}"
ADD_GROUP = f"{view.BUTTON_PREFIX}add_group.{view.ROOT}"
CUSTOMERS = 1500


@pytest.fixture(scope="module")
def fitted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,500-customer sample shop with the models fitted, as the CLI builds it."""
    return fitted_shop(Path(tmp_path_factory.mktemp("segments_page")) / "shop.duckdb", CUSTOMERS)


@pytest.fixture(scope="module")
def unfitted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample shop with orders and no model run."""
    path = Path(tmp_path_factory.mktemp("segments_page_unfitted")) / "shop.duckdb"
    build_sample_db(path, 400, 7)
    return path


def key(path: str, part: str) -> str:
    return f"{view.RULE_PREFIX}{path}.{part}"


def expected(path: Path, rules: Any) -> saved.SegmentPreview:
    with Store(path) as s:
        return saved.preview(s, rules)


def assert_preview(at: AppTest, p: saved.SegmentPreview) -> None:
    got = metrics(at)
    assert list(got) == KPIS
    assert got["Customers"] == fmt.count(p.customers)
    assert got["Share of customers"] == fmt.share(p.share)
    assert got["Revenue share"] == fmt.share(p.revenue_share)
    assert got["Revenue to date"] == fmt.money(p.revenue, "USD")


def tab(at: AppTest, name: str) -> AppTest:
    at.session_state[view.TAB_KEY] = name
    at.run()
    assert_ok(at)
    return at


def tabs_position(at: AppTest) -> int:
    """Where the tabs sit among the main block's children."""
    return next(
        i
        for i, node in at.main.children.items()
        if any(child.type == "tab" for child in getattr(node, "children", {}).values())
    )


def figures(at: AppTest) -> list[go.Figure]:
    return [pio.from_json(c.proto.spec) for c in at.get("plotly_chart")]


def array(data: Any) -> np.ndarray:
    """A trace's data; numeric arrays arrive base64-packed (plotly's typed arrays)."""
    if isinstance(data, dict) and "bdata" in data:
        out = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        shape = data.get("shape")
        return out.reshape([int(n) for n in str(shape).split(",")]) if shape else out
    return np.asarray(data, dtype="float64")


def saved_names(path: Path) -> list[str]:
    with Store(path) as s:
        return [seg.name for seg in saved.list_segments(s)]


# --- empty states ---------------------------------------------------------------------------


def test_no_orders_points_to_the_data_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    use(path, monkeypatch)
    at = open_page(PAGE)
    assert at.title[0].value == "Segments"
    assert any("no orders yet" in i.value for i in at.info)
    assert [p.proto.label for p in at.get("page_link")] == ["Go to Data"]
    assert not at.metric
    assert not at.tabs


def test_without_model_scores_the_cltv_columns_say_not_fitted(
    unfitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(unfitted_db, tmp_path, monkeypatch)
    at = open_page(PAGE)
    sample = at.dataframe[0].value
    assert "predicted_cltv" not in sample.columns and "p_alive" not in sample.columns
    assert any("not fitted yet" in c.value for c in at.caption)

    # A rule on a score: a warning that it matches no one yet.
    at.button(key=ADD).click().run()
    at.selectbox(key=key("r.0", "attribute")).set_value("p_alive").run()
    assert_ok(at)
    assert metrics(at)["Customers"] == "0"
    assert any("have not been fitted" in w.value for w in at.warning)

    tab(at, "RFM")
    table = at.dataframe[0].value
    assert (table["predicted_cltv_per_customer"] == "not fitted yet").all()
    assert table["customers"].sum() == expected(path, {"op": "and", "rules": []}).all_customers

    with Store(path) as s:
        saved.save_segment(s, "Lost", view.rfm_rules("Lost"))
        saved.save_segment(s, "Champions", view.rfm_rules("Champions"))
    tab(at, "Compare")
    at.multiselect(key=view.COMPARE_PICK_KEY).set_value(["Lost", "Champions"]).run()
    assert_ok(at)
    table = at.dataframe[0].value
    assert (table["cltv"] == "not fitted yet").all()
    assert any("No model run is stored yet" in w.value for w in at.warning)
    assert any("Predicted CLTV: not fitted yet" in c.value for c in at.caption)


# --- build and preview ----------------------------------------------------------------------


def test_default_view_previews_all_customers(
    fitted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(fitted_db, monkeypatch)
    at = open_page(PAGE)
    assert at.title[0].value == "Segments"
    assert [t.label for t in at.tabs] == ["Build", "Saved", "RFM", "Compare"]
    everyone = expected(fitted_db, {"op": "and", "rules": []})
    assert everyone.customers == CUSTOMERS
    assert_preview(at, everyone)
    assert all(m.help for m in at.metric)
    assert "All customers" in at.markdown[0].value
    sample = at.dataframe[0].value
    assert len(sample) == 20
    assert sample["revenue"].is_monotonic_decreasing
    assert sample["p_alive"].between(0, 100).all()  # shown as percent
    assert at.session_state[view.DRAFT_KEY] == {"op": "and", "rules": []}
    # No save with an error: the form is there, the name empty.
    assert at.text_input(key=view.SAVE_NAME_KEY).value == ""


def test_rules_built_with_widgets_preview_like_the_domain(
    fitted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(fitted_db, monkeypatch)
    at = open_page(PAGE)

    # One condition: a default that splits the customers at the median.
    at.button(key=ADD).click().run()
    assert_ok(at)
    draft = at.session_state[view.DRAFT_KEY]
    assert [r["attribute"] for r in draft["rules"]] == ["recency_days"]
    assert_preview(at, expected(fitted_db, draft))

    # Orders at least 2.
    at.selectbox(key=key("r.0", "attribute")).set_value("orders").run()
    assert at.selectbox(key=key("r.0", "operator")).value == ">="
    at.number_input(key=key("r.0", "number")).set_value(2.0).run()
    assert_ok(at)
    rules = {"op": "and", "rules": [{"attribute": "orders", "operator": ">=", "value": 2.0}]}
    assert at.session_state[view.DRAFT_KEY] == rules
    repeaters = expected(fitted_db, rules)
    assert 0 < repeaters.customers < CUSTOMERS
    assert_preview(at, repeaters)
    assert "Orders is at least 2" in at.markdown[0].value

    # AND country is one of US, CA.
    at.button(key=ADD).click().run()
    at.selectbox(key=key("r.1", "attribute")).set_value("country").run()
    assert at.selectbox(key=key("r.1", "operator")).value == "in"
    # No value chosen yet: an error that says what to fix, and no saving.
    assert any("Country (condition 2): choose at least one value" in e.value for e in at.error)
    assert at.button(key=SAVE).disabled
    assert not at.metric
    options = at.multiselect(key=key("r.1", "values")).options
    assert {"US", "CA", "DE"} <= set(options)
    at.multiselect(key=key("r.1", "values")).set_value(["US", "CA"]).run()
    assert_ok(at)
    rules["rules"].append({"attribute": "country", "operator": "in", "value": ["US", "CA"]})
    assert at.session_state[view.DRAFT_KEY] == rules
    assert_preview(at, expected(fitted_db, rules))
    assert set(at.dataframe[0].value["country"]) <= {"US", "CA"}

    # A sub-group (OR): loyalty member, or revenue between two numbers.
    at.button(key=ADD_GROUP).click().run()
    at.selectbox(key=key("r.2.0", "attribute")).set_value("loyalty_member").run()
    at.button(key=f"{view.BUTTON_PREFIX}add.r.2").click().run()
    at.selectbox(key=key("r.2.1", "attribute")).set_value("revenue").run()
    at.selectbox(key=key("r.2.1", "operator")).set_value("between").run()
    at.number_input(key=key("r.2.1", "low")).set_value(100.0).run()
    at.number_input(key=key("r.2.1", "high")).set_value(500.0).run()
    assert_ok(at)
    group = {
        "op": "or",
        "rules": [
            {"attribute": "loyalty_member", "operator": "is_true"},
            {"attribute": "revenue", "operator": "between", "value": [100.0, 500.0]},
        ],
    }
    rules["rules"].append(group)
    assert at.session_state[view.DRAFT_KEY] == rules
    assert_preview(at, expected(fitted_db, rules))
    words = parse_rules(rules).describe()
    assert "(Loyalty member is yes or Revenue to date is between 100 and 500)" in words

    # Top level OR, then remove the country condition: the widgets follow the draft.
    at.radio(key=key("r", "op")).set_value("or").run()
    at.button(key=f"{view.BUTTON_PREFIX}remove.r.1").click().run()
    assert_ok(at)
    rules = {"op": "or", "rules": [rules["rules"][0], group]}
    assert at.session_state[view.DRAFT_KEY] == rules
    assert at.selectbox(key=key("r.1.1", "attribute")).value == "revenue"
    assert at.number_input(key=key("r.1.1", "high")).value == 500.0
    assert_preview(at, expected(fitted_db, rules))

    # A date condition and an empty check.
    at.button(key=ADD).click().run()
    at.selectbox(key=key("r.2", "attribute")).set_value("cohort_month").run()
    assert at.date_input(key=key("r.2", "date")).value is not None
    at.selectbox(key=key("r.2", "operator")).set_value("is_empty").run()
    assert_ok(at)
    assert at.session_state[view.DRAFT_KEY]["rules"][2] == {
        "attribute": "cohort_month",
        "operator": "is_empty",
    }

    at.button(key=view.CLEAR_KEY).click().run()
    assert at.session_state[view.DRAFT_KEY] == {"op": "and", "rules": []}
    assert metrics(at)["Customers"] == fmt.count(CUSTOMERS)


# --- saved segments -------------------------------------------------------------------------


def test_save_rename_duplicate_load_and_delete(
    fitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(fitted_db, tmp_path, monkeypatch)
    at = open_page(PAGE)
    tab(at, "Saved")
    assert any("No saved segments yet" in i.value for i in at.info)
    tab(at, "Build")

    at.button(key=ADD).click().run()
    at.selectbox(key=key("r.0", "attribute")).set_value("orders").run()
    at.number_input(key=key("r.0", "number")).set_value(3.0).run()
    rules = at.session_state[view.DRAFT_KEY]
    # A name is required.
    at.button(key=SAVE).click().run()
    assert any("needs a name" in e.value for e in at.error)
    assert saved_names(path) == []

    at.text_input(key=view.SAVE_NAME_KEY).input("Frequent buyers")
    at.text_area(key=view.SAVE_DESCRIPTION_KEY).input("Three orders or more")
    at.button(key=SAVE).click().run()
    assert_ok(at)
    with Store(path) as s:
        segment = saved.get_segment(s, "Frequent buyers")
    assert segment.description == "Three orders or more"
    assert segment.rules == parse_rules(rules)
    assert segment.customers == expected(path, rules).customers
    assert any("Saved “Frequent buyers”" in s.value for s in at.success)
    assert at.text_input(key=view.SAVE_NAME_KEY).value == ""  # ready for the next one
    # Saving the same name again says so.
    at.text_input(key=view.SAVE_NAME_KEY).input("Frequent buyers")
    at.button(key=SAVE).click().run()
    assert any("exists already" in e.value for e in at.error)

    tab(at, "Saved")
    table = at.dataframe[0].value
    assert table["name"].tolist() == ["Frequent buyers"]
    assert table["customers"].tolist() == [segment.customers]
    assert table["rules"].tolist() == ["Orders is at least 3"]

    at.text_input(key=view.RENAME_NAME_KEY).input("Loyal core")
    at.button(key=RENAME).click().run()
    assert_ok(at)
    assert saved_names(path) == ["Loyal core"]
    assert at.selectbox(key=view.SAVED_PICK_KEY).value == "Loyal core"

    at.button(key=DUPLICATE).click().run()  # empty name: "<name> (copy)"
    assert_ok(at)
    assert saved_names(path) == ["Loyal core", "Loyal core (copy)"]
    assert at.dataframe[0].value["customers"].tolist() == [segment.customers] * 2

    # Load the copy into the builder, change it and save the change. The message about it does
    # not move the tabs: a browser remounts moved tabs and loses the switch to Build.
    before = tabs_position(at.run())  # a run without a message
    at.button(key=view.LOAD_KEY).click().run()
    assert_ok(at)
    assert at.session_state[view.TAB_KEY] == "Build"
    assert any("Loaded “Loyal core (copy)” into the builder" in s.value for s in at.success)
    assert tabs_position(at) == before
    assert at.session_state[view.DRAFT_KEY] == parse_rules(rules).to_dict()
    assert at.number_input(key=key("r.0", "number")).value == 3.0
    at.number_input(key=key("r.0", "number")).set_value(5.0).run()
    at.button(key=view.UPDATE_KEY).click().run()
    assert_ok(at)
    with Store(path) as s:
        copy = saved.get_segment(s, "Loyal core (copy)")
    assert copy.rules.describe() == "Orders is at least 5"
    assert copy.customers < segment.customers

    # Delete asks first. Back on Saved, the segment picked before is still picked.
    tab(at, "Saved")
    assert at.selectbox(key=view.SAVED_PICK_KEY).value == "Loyal core (copy)"
    at.selectbox(key=view.SAVED_PICK_KEY).set_value("Loyal core").run()
    at.button(key=view.DELETE_KEY).click().run()
    assert any("Delete “Loyal core”" in w.value for w in at.warning)
    at.button(key=view.DELETE_NO_KEY).click().run()
    assert saved_names(path) == ["Loyal core", "Loyal core (copy)"]
    at.button(key=view.DELETE_KEY).click().run()
    at.button(key=view.DELETE_YES_KEY).click().run()
    assert_ok(at)
    assert saved_names(path) == ["Loyal core (copy)"]
    assert at.dataframe[0].value["name"].tolist() == ["Loyal core (copy)"]


# --- RFM --------------------------------------------------------------------------------------


def test_rfm_grid_adds_up_and_saves_a_named_segment(
    fitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(fitted_db, tmp_path, monkeypatch)
    at = open_page(PAGE)
    tab(at, "RFM")
    assert any("percent_rank" in m.value for m in at.markdown)
    (grid,) = figures(at)
    heatmap = grid.data[0]
    z = array(heatmap.z)
    assert z.shape == (5, 5)
    assert z.sum() == CUSTOMERS
    assert list(heatmap.y) == [1, 2, 3, 4, 5]  # plotly draws the first row at the bottom
    champions_in_grid = int(z[4, 3] + z[4, 4])  # R = 5, F = 4 or 5

    table = at.dataframe[0].value
    assert table["segment"].tolist() == list(RFM_SEGMENT_ORDER)
    assert table["customers"].sum() == CUSTOMERS
    assert math.isclose(table["share"].sum(), 100.0)
    assert math.isclose(table["revenue_share"].sum(), 100.0)
    present = table["customers"] > 0
    assert table.loc[present, "predicted_cltv_per_customer"].notna().all()
    assert table.loc[~present, "predicted_cltv_per_customer"].isna().all()
    champions = table.set_index("segment").loc["Champions"]
    assert champions["customers"] == champions_in_grid
    assert champions["meaning"] == "Bought recently, buy often."

    at.button(key=f"{view.RFM_SAVE_PREFIX}Champions").click().run()
    assert_ok(at)
    with Store(path) as s:
        segment = saved.get_segment(s, "RFM: Champions")
    assert segment.customers == champions_in_grid
    assert segment.description == "Bought recently, buy often."
    assert at.button(key=f"{view.RFM_SAVE_PREFIX}Champions").disabled
    tab(at, "Saved")
    assert at.dataframe[0].value["name"].tolist() == ["RFM: Champions"]


# --- compare ----------------------------------------------------------------------------------


def test_compare_two_segments(
    fitted_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_of(fitted_db, tmp_path, monkeypatch)
    at = open_page(PAGE)
    tab(at, "Compare")
    assert any("at least two saved segments" in i.value for i in at.info)

    with Store(path) as s:
        once = {"op": "and", "rules": [{"attribute": "orders", "operator": "=", "value": 1}]}
        one = saved.save_segment(s, "One order", once)
        loyal = saved.save_segment(s, "RFM: Loyal", view.rfm_rules("Loyal"))
        want = compare(s, [loyal.segment_id, one.segment_id])
    at.run()
    at.multiselect(key=view.COMPARE_PICK_KEY).set_value(["RFM: Loyal", "One order"]).run()
    assert_ok(at)
    assert at.selectbox(key=view.COMPARE_BASELINE_KEY).value == "RFM: Loyal"
    table = at.dataframe[0].value
    assert table["name"].tolist() == ["RFM: Loyal", "One order"]
    assert table["customers"].tolist() == want.stats["customers"].tolist()
    assert np.allclose(table["aov"], want.stats["aov"])
    assert np.allclose(table["repeat_rate"], want.stats["repeat_rate"] * 100)
    assert table["repeat_rate"].tolist()[1] == 0.0  # one order: nobody repeats
    assert table["cltv"].notna().all()
    assert table["cltv_interval"].str.fullmatch(r"[\d,.]+ – [\d,.]+").all()
    sentences = [m.value for m in at.markdown if m.value.startswith("- **")]
    assert len(sentences) == len(want.tests) == 2
    assert sentences[0].startswith("- **Repeat rate**: One order 0.0% vs RFM: Loyal")
    assert "unlikely to be chance" in sentences[0]
    assert any("Average order value" in s for s in sentences)
    curves, cltv = figures(at)
    assert [t.name for t in curves.data] == ["RFM: Loyal", "One order"]
    assert len(cltv.data) == 2
    # The choice survives a visit to another tab.
    tab(at, "RFM")
    tab(at, "Compare")
    assert at.multiselect(key=view.COMPARE_PICK_KEY).value == ["RFM: Loyal", "One order"]
    # The baseline can be changed.
    at.selectbox(key=view.COMPARE_BASELINE_KEY).set_value("One order").run()
    assert_ok(at)
    sentences = [m.value for m in at.markdown if m.value.startswith("- **")]
    assert sentences[0].startswith("- **Repeat rate**: RFM: Loyal")


# --- the figures, from hand-made frames -----------------------------------------------------


def test_rfm_grid_figure_fills_empty_cells_and_names_them() -> None:
    cells = pd.DataFrame(
        {"r_score": [5, 1, 3], "f_score": [5, 1, 3], "customers": [4, 6, 10],
         "revenue": [400.0, 60.0, 540.0]}
    )  # fmt: skip
    grid = rfm_grid(cells)
    assert len(grid) == 25 and grid["customers"].sum() == 20
    assert grid.iloc[0][["r_score", "f_score", "segment"]].tolist() == [5, 1, "New"]
    by_cell = grid.set_index(["r_score", "f_score"])
    assert by_cell.loc[(5, 5), "segment"] == "Champions"
    assert by_cell.loc[(1, 1), "segment"] == "Lost"
    assert by_cell.loc[(3, 3), "share"] == 0.5 and by_cell.loc[(3, 3), "revenue_share"] == 0.54
    figure = rfm_grid_figure(cells, "EUR")
    z = np.asarray(figure.data[0].z)
    assert z[4, 4] == 4 and z[0, 0] == 6 and z[2, 2] == 10 and z.sum() == 20
    assert "Champions" in figure.data[0].text[4][4]
    assert "EUR" in figure.data[0].hovertemplate


def test_comparison_figures_keep_the_segment_order() -> None:
    curves = pd.DataFrame(
        {
            "name": ["B", "B", "A", "A"],
            "period_index": [0, 1, 0, 1],
            "eligible_customers": [10, 8, 5, 0],
            "retention_rate": [1.0, 0.25, 1.0, np.nan],
            "retention_rate_se": [0.0, 0.15, 0.0, np.nan],
        }
    )
    figure = retention_curves_figure(curves)
    assert [t.name for t in figure.data] == ["B", "A"]
    assert list(figure.data[1].x) == [0]  # nobody eligible at 1: no point
    cltv = pd.DataFrame(
        {
            "name": ["B", "A"],
            "predicted_cltv_per_customer": [10.0, 20.0],
            "predicted_cltv_per_customer_low": [8.0, np.nan],
            "predicted_cltv_per_customer_high": [13.0, np.nan],
        }
    )
    figure = cltv_interval_figure(cltv, "USD", 0.9)
    assert [t.name for t in figure.data] == ["B", "A"]
    assert list(figure.data[0].error_x.array) == [3.0]
    assert list(figure.data[0].error_x.arrayminus) == [2.0]
    assert list(figure.data[1].error_x.array) == [0]
