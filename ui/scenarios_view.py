"""Scenarios page glue: the input forms, cached baselines and simulations, the comparison,
saved scenarios and the export of a scenario's target list.

The inputs of each kind (discount, loyalty) sit in an ``st.form``: moving a slider redraws
nothing until **Simulate**. A submitted form becomes a :class:`ScenarioRun` (the inputs as
JSON, the segment, horizon, draws and seed) kept per kind in session state; every run of the
page draws the results of that run from cached reads keyed on ``(db, data_version, ...)``:
:func:`cached_baseline` per segment and horizon, :func:`cached_result` per inputs, seed and
draws. Every write (save, delete, export) bumps ``data_version``.

Widgets are seeded from session state (``setdefault``), never from ``value=``, so loading a
saved scenario fills the form by writing the same keys in a callback. Streamlit drops the
state of widgets that are not drawn; the form of the kind not shown is kept alive by writing
its keys back each run (:func:`keep_hidden_inputs`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from retention import scenarios as sc
from retention.charts import scenarios as charts
from retention.models.cltv import MAX_HORIZON_DAYS
from retention.saved_scenarios import (
    SavedScenario,
    ScenarioError,
    delete_scenario,
    list_scenarios,
    save_scenario,
)
from retention.segments.saved import SegmentError, list_segments
from retention.store import Store
from retention.targets import (
    DEFAULT_COLUMNS,
    TargetError,
    build_target_list,
    default_file_name,
    record_export,
    write_target_file,
)
from ui import format as fmt
from ui.access import can_edit, editor_only_note, editors_only
from ui.components import Kpi, empty_state, kpi_row

__all__ = [
    "ACTIVE_KEY",
    "COMPARE_KEY",
    "DISCOUNT_FORM",
    "KIND_KEY",
    "KINDS",
    "LOYALTY_FORM",
    "MAX_COMPARED",
    "ScenarioRun",
    "SegmentInfo",
    "cached_baseline",
    "cached_evidence",
    "cached_result",
    "cached_segments",
    "cached_tornado",
    "discount_form",
    "init_state",
    "keep_hidden_inputs",
    "kind_picker",
    "loyalty_form",
    "offer_text",
    "render_comparison",
    "render_evidence",
    "render_export",
    "render_result",
    "render_save",
    "render_saved_scenarios",
    "show_flash",
]

_TTL = 3600
PREFIX = "scenarios."
KIND_KEY = PREFIX + "kind"
ACTIVE_KEY = PREFIX + "active"  # kind -> ScenarioRun last simulated
COMPARE_KEY = PREFIX + "compare"  # list of compared results (plain dicts)
FLASH_KEY = PREFIX + "flash"
ERROR_KEY = PREFIX + "error"
SAVE_NAME_KEY = PREFIX + "save_name"
SAVE_REPLACE_KEY = PREFIX + "save_replace"
SAVED_PICK_KEY = PREFIX + "saved_pick"
EXPORT_HOLDOUT_KEY = PREFIX + "export_holdout_pct"
EXPORT_READY_KEY = PREFIX + "export_ready"
TIERS_DATA_KEY = PREFIX + "l.tiers_data"
TIERS_GENERATION_KEY = PREFIX + "l.tiers_generation"
LINK_KEY = PREFIX + "link"  # the shown scenario as the link carries it
LINK_APPLIED_KEY = PREFIX + "link_applied"
DISCOUNT_FORM = PREFIX + "discount_form"
LOYALTY_FORM = PREFIX + "loyalty_form"

KINDS = ("discount", "loyalty")
KIND_LABELS = {"discount": "Discount campaign", "loyalty": "Loyalty programme"}
MAX_COMPARED = 4
DEFAULT_MARGIN = 0.40
MAX_UI_DRAWS = 20_000
UPLIFT_MODE_LABELS = {
    "relative": "More orders from reached customers (relative uplift)",
    "reactivation": "Customers coming back for one order (reactivation share)",
}

D = PREFIX + "d."
L = PREFIX + "l."
TIER_COLUMNS = ("min_revenue", "points_per_unit")
UPLIFT_START = "uplift_start"  # the range slider's start value, not a widget key


def _key(kind: str, name: str) -> str:
    return (D if kind == "discount" else L) + name


DISCOUNT_FIELDS = (
    "segment", "discount_pct", "reach_pct", "uplift_pct", "uplift_mode", "margin_pct",
    "cost_per_contact", "horizon_days", "draws", "seed",
)  # fmt: skip
LOYALTY_FIELDS = (
    "segment", "enrolment_pct", "points_per_unit", "point_value", "redemption_pct",
    "uplift_pct", "margin_pct", "fixed_cost", "cost_per_member", "horizon_days", "draws", "seed",
)  # fmt: skip
FIELDS = {"discount": DISCOUNT_FIELDS, "loyalty": LOYALTY_FIELDS}


# --- what a simulation is ---------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentInfo:
    segment_id: int
    name: str
    customers: int


@dataclass(frozen=True)
class ScenarioRun:
    """One simulated scenario: what the page needs to (re)draw its results."""

    kind: str
    segment_name: str
    segment_id: int
    horizon_days: int
    draws: int
    seed: int
    inputs_json: str  # the scenario's to_dict(), sorted keys

    @property
    def scenario(self) -> sc.Scenario:
        return sc.scenario_from_dict(json.loads(self.inputs_json))

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.segment_id, self.horizon_days, self.draws, self.seed, self.inputs_json)


def scenario_json(scenario: sc.Scenario) -> str:
    return json.dumps(scenario.to_dict(), sort_keys=True)


# --- cached reads -----------------------------------------------------------------------------


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def cached_segments(_store: Store, db: str, data_version: int) -> list[SegmentInfo]:
    """Saved segments, by name."""
    return [SegmentInfo(s.segment_id, s.name, s.customers) for s in list_segments(_store)]


@st.cache_data(ttl=_TTL, max_entries=32, show_spinner=False)
def cached_baseline(
    _store: Store, db: str, data_version: int, segment_id: int, horizon_days: int
) -> sc.SegmentBaseline:
    return sc.segment_baseline(_store, segment_id, horizon_days=horizon_days)


@st.cache_data(ttl=_TTL, max_entries=64, show_spinner=False)
def cached_result(
    _store: Store,
    db: str,
    data_version: int,
    segment_id: int,
    horizon_days: int,
    inputs_json: str,
    seed: int,
    draws: int,
) -> sc.ScenarioResult:
    baseline = cached_baseline(_store, db, data_version, segment_id, horizon_days)
    scenario = sc.scenario_from_dict(json.loads(inputs_json))
    return sc.simulate(baseline, scenario, draws=draws, seed=seed)


@st.cache_data(ttl=_TTL, max_entries=64, show_spinner=False)
def cached_tornado(
    _store: Store, db: str, data_version: int, segment_id: int, horizon_days: int, inputs_json: str
) -> pd.DataFrame:
    baseline = cached_baseline(_store, db, data_version, segment_id, horizon_days)
    return sc.tornado(baseline, sc.scenario_from_dict(json.loads(inputs_json)))


@st.cache_data(ttl=_TTL, max_entries=8, show_spinner=False)
def cached_evidence(_store: Store, db: str, data_version: int) -> sc.LoyaltyEvidence:
    return sc.loyalty_evidence(_store)


# --- messages ---------------------------------------------------------------------------------


def flash(message: str) -> None:
    st.session_state[FLASH_KEY] = message


def fail(message: str) -> None:
    st.session_state[ERROR_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message, icon=":material/check_circle:")
    error = st.session_state.pop(ERROR_KEY, None)
    if error:
        st.error(error, icon=":material/error:")


# --- numbers in words -------------------------------------------------------------------------


def money(value: float | None, currency: str | None = None) -> str:
    """Money short enough for a KPI tile: 2 decimals below 100, whole units below 10,000,
    then 12.3k and 1.23M; the currency code in front when given."""
    if value is None or not math.isfinite(value):
        return "–"
    value = 0.0 if abs(value) < 0.005 else value
    if abs(value) >= 1e4:
        return fmt.money(value, currency)
    prefix = f"{currency} " if currency else ""
    return f"{prefix}{value:,.2f}" if abs(value) < 100 else f"{prefix}{value:,.0f}"


def orders_text(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{0.0 if abs(value) < 0.05 else value:,.1f}"


def percent(value: float | None, *, signed: bool = False, digits: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    value = 0.0 if abs(value) < 0.5 * 10 ** -(digits + 2) else value
    return f"{value:+.{digits}%}" if signed else f"{value:.{digits}%}"


def _number(value: float) -> str:
    return f"{value:g}"


def outcome_text(name: str, value: float | None, currency: str | None) -> str:
    if name == "incremental_orders":
        return orders_text(value)
    if name == "roi":
        return percent(value, signed=True)
    return money(value, currency)


def outcome_labels(kind: str) -> dict[str, tuple[str, str]]:
    """Each outcome's label and its meaning in plain words, for this kind of scenario."""
    discount = kind == "discount"
    incentive = "Discounts given" if discount else "Points redeemed"
    who = "reached customers" if discount else "members"
    programme = (
        ("Contact cost", "Cost per contact × every customer of the segment.")
        if discount
        else ("Programme cost", "Fixed cost + cost per member × members.")
    )
    return {
        "incremental_orders": (
            "Incremental orders",
            "Extra orders over the horizon caused by the scenario, beyond the orders the model "
            "expects anyway.",
        ),
        "incremental_revenue": (
            "Incremental revenue",
            f"Extra revenue net of the {'discount' if discount else 'redeemed points'}, as the "
            f"orders table would record it. It is negative when the "
            f"{'discount' if discount else 'points'} on orders expected anyway outweigh the "
            "extra orders.",
        ),
        "incremental_gross_profit": (
            "Incremental gross profit",
            f"Margin on the extra orders minus the {incentive.lower()} on every order of "
            f"{who} in the horizon.",
        ),
        "incentive_cost": (
            incentive,
            f"{incentive} on all orders of {who} in the horizon, the extra ones and those "
            "expected anyway.",
        ),
        "cannibalised_cost": (
            "… on orders expected anyway",
            f"The part of the {incentive.lower()} that goes to orders {who} would have placed "
            "without the scenario (cannibalised): pure cost.",
        ),
        "programme_cost": programme,
        "total_cost": (
            "Total cost",
            f"{incentive} (including those on orders expected anyway) + {programme[0].lower()}.",
        ),
        "net_profit": (
            "Net profit",
            "Incremental gross profit minus the "
            f"{programme[0].lower()}: what the scenario adds to profit over the horizon.",
        ),
        "roi": ("ROI", "Net profit / total cost. −100% means every unit spent was lost."),
        "cltv_change": (
            "Change in predicted CLTV",
            "Incremental gross profit of the segment over the horizon (undiscounted); contact "
            "and programme costs are marketing costs, not part of a customer's value.",
        ),
        "cltv_change_per_customer": (
            "Change in CLTV per customer",
            "Change in predicted CLTV ÷ the segment's customers.",
        ),
    }


def offer_text(scenario: sc.Scenario, horizon_days: int, currency: str | None) -> str:
    """The offer written into every row of the scenario's target list."""
    if isinstance(scenario, sc.DiscountScenario):
        return f"{_number(round(scenario.discount * 100, 2))}% off for {horizon_days} days"
    p = round(scenario.points_per_unit, 4)
    points = "point" if p == 1 else "points"
    text = f"Loyalty programme invitation: {_number(p)} {points} per {currency or 'currency unit'}"
    if scenario.tiers:
        text += " (more in higher tiers)"
    return text


def describe(run: ScenarioRun) -> str:
    """A short name for a simulated scenario (comparison labels)."""
    s = run.scenario
    lo, hi = (_number(round(v * 100, 1)) for v in (s.uplift_low, s.uplift_high))
    if isinstance(s, sc.DiscountScenario):
        what = "reactivation" if s.uplift_mode == "reactivation" else "uplift"
        return f"{_number(round(s.discount * 100, 1))}% off, {what} {lo}–{hi}%"
    tiers = f", {len(s.tiers)} tier(s)" if s.tiers else ""
    return f"Loyalty {_number(round(s.points_per_unit, 3))} pt/unit{tiers}, uplift {lo}–{hi}%"


# --- state and forms --------------------------------------------------------------------------


def _pct(value: float) -> float:
    return round(float(value) * 100, 4)


def _widget_values(kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Widget values (percentages) from a scenario's ``to_dict`` inputs."""
    s = sc.scenario_from_dict(inputs)
    values: dict[str, Any] = {
        "uplift_pct": (_pct(s.uplift_low), _pct(s.uplift_high)),
        "margin_pct": _pct(s.margin),
    }
    if isinstance(s, sc.DiscountScenario):
        values |= {
            "discount_pct": _pct(s.discount),
            "reach_pct": _pct(s.reach),
            "uplift_mode": s.uplift_mode,
            "cost_per_contact": float(s.cost_per_contact),
        }
    else:
        values |= {
            "enrolment_pct": _pct(s.enrolment),
            "points_per_unit": float(s.points_per_unit),
            "point_value": float(s.point_value),
            "redemption_pct": _pct(s.redemption),
            "fixed_cost": float(s.fixed_cost),
            "cost_per_member": float(s.cost_per_member),
        }
    return values


def _defaults(kind: str, margin: float) -> dict[str, Any]:
    scenario: sc.Scenario
    if kind == "discount":
        scenario = sc.DiscountScenario(
            discount=0.15, reach=0.3, uplift_low=0.05, uplift_high=0.20, margin=margin,
            cost_per_contact=0.10,
        )  # fmt: skip
        horizon = 90
    else:
        scenario = sc.LoyaltyScenario(
            enrolment=0.3, points_per_unit=1.0, point_value=0.01, redemption=0.7,
            uplift_low=0.02, uplift_high=0.10, margin=margin, cost_per_member=0.5,
        )  # fmt: skip
        horizon = 365
    return {
        **_widget_values(kind, scenario.to_dict()),
        "horizon_days": horizon,
        "draws": sc.DEFAULT_DRAWS,
        "seed": 0,
    }


def empty_tiers() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in TIER_COLUMNS})


def init_state(margin: float) -> None:
    """Seed every input once (``margin``: the default gross margin, a share)."""
    st.session_state.setdefault(KIND_KEY, "discount")
    st.session_state.setdefault(ACTIVE_KEY, {})
    st.session_state.setdefault(COMPARE_KEY, [])
    st.session_state.setdefault(TIERS_DATA_KEY, empty_tiers())
    st.session_state.setdefault(TIERS_GENERATION_KEY, 0)
    for kind in KINDS:
        for name, value in _defaults(kind, margin).items():
            # The range slider takes its start from value= (a tuple says "range"), kept under
            # its own key; seeding the widget key as well would log a duplicate-value warning.
            key = _key(kind, UPLIFT_START if name == "uplift_pct" else name)
            st.session_state.setdefault(key, value)


def keep_hidden_inputs(shown: str) -> None:
    """Write back the inputs of the form not drawn this run, so Streamlit keeps them."""
    for kind in KINDS:
        if kind == shown:
            continue
        for name in FIELDS[kind]:
            key = _key(kind, name)
            if key not in st.session_state:
                continue
            if name == "uplift_pct":
                st.session_state[_key(kind, UPLIFT_START)] = tuple(st.session_state[key])
            else:
                st.session_state[key] = st.session_state[key]


def kind_picker() -> str:
    kind = st.segmented_control(
        "Scenario",
        list(KINDS),
        key=KIND_KEY,
        required=True,
        format_func=KIND_LABELS.get,
        help="A discount campaign: a share off every order for a while. A loyalty "
        "programme: points on every order, redeemed later.",
    )
    return kind or "discount"


def _segment_box(kind: str, segments: Sequence[SegmentInfo]) -> str:
    by_name = {s.name: s for s in segments}
    key = _key(kind, "segment")
    if st.session_state.get(key) not in by_name:
        st.session_state[key] = segments[0].name
    return st.selectbox(
        "Target segment",
        list(by_name),
        key=key,
        format_func=lambda n: f"{n} ({by_name[n].customers:,} customers)",
        help="A saved segment (build one on the Segments page). Every scenario is measured "
        "against what the model expects of these customers without it.",
    )


def _run_settings(kind: str) -> tuple[int, int, int]:
    a, b, c = st.columns(3)
    horizon = a.number_input(
        "Horizon, days",
        min_value=7,
        max_value=MAX_HORIZON_DAYS,
        step=30,
        key=_key(kind, "horizon_days"),
        help=(
            "How long the offer is valid, and how far ahead the scenario counts orders. The "
            "discount applies to every order a reached customer places in this window, also "
            "the orders they would have placed anyway (cannibalisation): a longer window "
            "gives away more."
            if kind == "discount"
            else "How far ahead the programme's orders, points and costs are counted."
        ),
    )
    draws = b.number_input(
        "Monte Carlo draws",
        min_value=100,
        max_value=MAX_UI_DRAWS,
        step=500,
        key=_key(kind, "draws"),
        help="How many times the scenario is evaluated, each time with an uplift drawn from "
        "your range and one of the model's parameter draws. More draws: smoother chart.",
    )
    seed = c.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        key=_key(kind, "seed"),
        help="The same seed gives the same draws, so results can be reproduced.",
    )
    return int(horizon), int(draws), int(seed)


def _margin_input(kind: str, model_margin: float, column: Any) -> float:
    note = (
        f" The default is the margin in the model settings ({model_margin:.0%})."
        if model_margin < 1
        else " The model settings use 100% (CLTV as revenue), so the default is a placeholder "
        f"of {DEFAULT_MARGIN:.0%}: enter your own."
    )
    return column.number_input(
        "Gross margin, %",
        min_value=0.0,
        max_value=100.0,
        step=1.0,
        format="%.1f",
        key=_key(kind, "margin_pct"),
        help="Share of the list price you keep after the cost of goods." + note,
    )


def _uplift_slider(kind: str, column: Any, label: str, help_text: str) -> tuple[float, float]:
    key = _key(kind, "uplift_pct")
    low, high = column.slider(
        label,
        min_value=0.0,
        max_value=100.0,
        step=0.5,
        value=tuple(st.session_state.get(_key(kind, UPLIFT_START), (0.0, 0.0))),
        format="%.1f%%",
        key=key,
        help=help_text,
    )
    return float(low), float(high)


def _submitted_run(
    kind: str, segments: Sequence[SegmentInfo], segment: str, values: dict[str, Any], settings: Any
) -> ScenarioRun | None:
    by_name = {s.name: s for s in segments}
    try:
        scenario = sc.scenario_from_dict({"kind": kind, **values})
    except ValueError as error:
        st.error(f"Not simulated: {error}", icon=":material/error:")
        return None
    horizon, draws, seed = settings
    return ScenarioRun(
        kind=kind,
        segment_name=segment,
        segment_id=by_name[segment].segment_id,
        horizon_days=horizon,
        draws=draws,
        seed=seed,
        inputs_json=scenario_json(scenario),
    )


def discount_form(
    segments: Sequence[SegmentInfo], model_margin: float, currency: str | None
) -> ScenarioRun | None:
    """The discount inputs; a :class:`ScenarioRun` when Simulate is pressed and they are valid."""
    unit = currency or "currency units"
    with st.form(DISCOUNT_FORM):
        segment = _segment_box("discount", segments)
        a, b = st.columns(2)
        discount = a.slider(
            "Discount, % off every order",
            min_value=0.0,
            max_value=100.0,
            step=1.0,
            format="%.0f%%",
            key=_key("discount", "discount_pct"),
            help="Share off the list price of every order a reached customer places within "
            "the horizon.",
        )
        reach = b.slider(
            "Reach, % of the segment",
            min_value=0.0,
            max_value=100.0,
            step=1.0,
            format="%.0f%%",
            key=_key("discount", "reach_pct"),
            help="Share of the contacted customers who see the offer and can use it (an "
            "email's open rate, say). Everyone in the segment is contacted and costs the "
            "contact cost.",
        )
        a, b = st.columns(2)
        uplift = _uplift_slider(
            "discount",
            a,
            "Uplift range, %",
            "How much the offer changes buying, as a range you find plausible (every value "
            "in it counts as equally likely). Relative uplift: +10% means reached customers "
            "place 10% more orders than the model expects. Reactivation share: 5% means 5% of "
            "reached customers place one extra order (for lapsed customers, whose expected "
            "orders are near zero).",
        )
        mode = b.radio(
            "The uplift means",
            list(sc.UPLIFT_MODES),
            key=_key("discount", "uplift_mode"),
            format_func=UPLIFT_MODE_LABELS.get,
        )
        a, b = st.columns(2)
        margin = _margin_input("discount", model_margin, a)
        cost = b.number_input(
            f"Cost per contact ({unit})",
            min_value=0.0,
            step=0.01,
            format="%.2f",
            key=_key("discount", "cost_per_contact"),
            help="What contacting one customer costs (email, SMS, postage); paid for every "
            "customer of the segment.",
        )
        settings = _run_settings("discount")
        submitted = st.form_submit_button("Simulate", type="primary", icon=":material/science:")
    if not submitted:
        return None
    values = {
        "discount": discount / 100,
        "reach": reach / 100,
        "uplift_low": uplift[0] / 100,
        "uplift_high": uplift[1] / 100,
        "uplift_mode": mode,
        "margin": margin / 100,
        "cost_per_contact": float(cost),
    }
    return _submitted_run("discount", segments, segment, values, settings)


def _tiers_from(frame: pd.DataFrame) -> list[list[float]]:
    rows = frame.dropna(how="all")
    if rows[list(TIER_COLUMNS)].isna().any().any():
        raise ValueError(
            "every tier needs both a minimum expected revenue and a points rate; fill in or "
            "delete the incomplete row"
        )
    rows = rows.sort_values("min_revenue")
    return [
        [float(t), float(p)]
        for t, p in zip(rows["min_revenue"], rows["points_per_unit"], strict=True)
    ]


def loyalty_form(
    segments: Sequence[SegmentInfo], model_margin: float, currency: str | None
) -> ScenarioRun | None:
    """The loyalty inputs; a :class:`ScenarioRun` when Simulate is pressed and they are valid."""
    unit = currency or "currency unit"
    with st.form(LOYALTY_FORM):
        segment = _segment_box("loyalty", segments)
        a, b = st.columns(2)
        enrolment = a.slider(
            "Enrolment, % of the segment who join",
            min_value=0.0,
            max_value=100.0,
            step=1.0,
            format="%.0f%%",
            key=_key("loyalty", "enrolment_pct"),
            help="Members are taken as a random share of the segment (in reality keen "
            "customers join first; see the evidence below).",
        )
        redemption = b.slider(
            "Redemption, % of points redeemed",
            min_value=0.0,
            max_value=100.0,
            step=1.0,
            format="%.0f%%",
            key=_key("loyalty", "redemption_pct"),
            help="Points never redeemed (breakage) cost nothing.",
        )
        a, b, c = st.columns(3)
        points = a.number_input(
            f"Points per {unit} spent",
            min_value=0.0,
            step=0.5,
            format="%.2f",
            key=_key("loyalty", "points_per_unit"),
            help="The base rate; tiers below can give more to customers expected to spend more.",
        )
        point_value = b.number_input(
            f"Value of a point ({unit})",
            min_value=0.0,
            step=0.001,
            format="%.3f",
            key=_key("loyalty", "point_value"),
            help="What one redeemed point costs you. 1 point per unit at 0.01 each gives 1% back.",
        )
        margin = _margin_input("loyalty", model_margin, c)
        a, b, c = st.columns(3)
        uplift = _uplift_slider(
            "loyalty",
            a,
            "Uplift range, % more orders from members",
            "How much more often members buy because of the programme, as a range you find "
            "plausible (every value in it counts as equally likely).",
        )
        fixed = b.number_input(
            f"Fixed cost over the horizon ({unit})",
            min_value=0.0,
            step=100.0,
            format="%.2f",
            key=_key("loyalty", "fixed_cost"),
            help="Software, set-up and running costs of the programme within the horizon.",
        )
        per_member = c.number_input(
            f"Cost per member ({unit})",
            min_value=0.0,
            step=0.1,
            format="%.2f",
            key=_key("loyalty", "cost_per_member"),
            help="Cards, mailings and rewards other than points, per member over the horizon.",
        )
        st.markdown(
            "**Tiers** (optional): a customer whose expected revenue over the horizon reaches "
            "a tier's minimum earns that tier's points rate instead of the base rate."
        )
        generation = st.session_state[TIERS_GENERATION_KEY]
        edited = st.data_editor(
            st.session_state[TIERS_DATA_KEY],
            num_rows="dynamic",
            key=f"{L}tiers.{generation}",
            hide_index=True,
            column_config={
                "min_revenue": st.column_config.NumberColumn(
                    f"Min expected revenue per customer ({unit})",
                    min_value=0.0,
                    format="%.2f",
                    help="Expected revenue over the horizon at which the tier starts.",
                ),
                "points_per_unit": st.column_config.NumberColumn(
                    f"Points per {unit}", min_value=0.0, format="%.2f"
                ),
            },
        )
        settings = _run_settings("loyalty")
        submitted = st.form_submit_button("Simulate", type="primary", icon=":material/science:")
    if not submitted:
        return None
    edited = pd.DataFrame(edited).reindex(columns=list(TIER_COLUMNS))
    st.session_state[TIERS_DATA_KEY] = edited.dropna(how="all").reset_index(drop=True)
    st.session_state[TIERS_GENERATION_KEY] = generation + 1
    try:
        tiers = _tiers_from(edited)
    except ValueError as error:
        st.error(f"Not simulated: {error}", icon=":material/error:")
        return None
    values = {
        "enrolment": enrolment / 100,
        "points_per_unit": float(points),
        "point_value": float(point_value),
        "redemption": redemption / 100,
        "uplift_low": uplift[0] / 100,
        "uplift_high": uplift[1] / 100,
        "margin": margin / 100,
        "fixed_cost": float(fixed),
        "cost_per_member": float(per_member),
        "tiers": tiers,
    }
    return _submitted_run("loyalty", segments, segment, values, settings)


def set_active(run: ScenarioRun) -> None:
    st.session_state[ACTIVE_KEY] = {**st.session_state.get(ACTIVE_KEY, {}), run.kind: run}


def active_run(kind: str) -> ScenarioRun | None:
    return st.session_state.get(ACTIVE_KEY, {}).get(kind)


# --- results ----------------------------------------------------------------------------------


def _interval_delta(summary: pd.DataFrame, name: str, interval: float) -> str:
    """'80%: low to high' for a tile (no currency: the tile's value shows it)."""
    low, high = summary.loc[name, "low"], summary.loc[name, "high"]
    return f"{interval:.0%}: {outcome_text(name, low, None)} to {outcome_text(name, high, None)}"


def break_even_sentence(result: sc.ScenarioResult) -> str:
    s = result.scenario
    uplift = result.break_even_uplift
    reactivation = isinstance(s, sc.DiscountScenario) and s.uplift_mode == "reactivation"
    what = (
        "share of reached customers coming back"
        if reactivation
        else ("relative increase in orders" if isinstance(s, sc.DiscountScenario)
              else "relative increase in members' orders")
    )  # fmt: skip
    your = f"{s.uplift_low:.1%} to {s.uplift_high:.1%}"
    if uplift is None:
        if isinstance(s, sc.DiscountScenario) and s.discount >= s.margin:
            why = (
                f"the discount ({s.discount:.0%}) is at least the gross margin "
                f"({s.margin:.0%}), so every extra order loses money"
            )
        elif (
            isinstance(s, sc.LoyaltyScenario)
            and (result.points_rate or 0.0) * s.point_value * (s.redemption) >= s.margin
        ):
            why = "the points given back are worth at least the gross margin on each order"
        else:
            top = "100%" if reactivation else f"{sc.MAX_RELATIVE_UPLIFT:.0%}"
            why = f"no uplift up to {top} earns back the fixed costs"
        return f"**Break-even uplift: none.** This scenario cannot pay for itself: {why}."
    if uplift == 0:
        return (
            "**Break-even uplift: 0.** There are no fixed costs, so any positive uplift makes a "
            "profit (as long as the margin exceeds the discount or points)."
        )
    verdict = (
        "below your whole range, so the scenario pays even at the low end"
        if uplift <= s.uplift_low
        else "above your whole range, so it loses money even at the high end"
        if uplift >= s.uplift_high
        else "inside your range: whether it pays depends on where the real uplift lands"
    )
    return (
        f"**Break-even uplift: {uplift:.1%}** ({what}). Below it the scenario loses money, above "
        f"it it makes money. Your range is {your}; the break-even is {verdict}."
    )


def _baseline_sentence(baseline: sc.SegmentBaseline, currency: str | None) -> str:
    return (
        f"Without the scenario, the model expects the {baseline.customers:,} customers of "
        f"**{baseline.segment_name}** to place **{baseline.expected_orders:,.1f} orders** worth "
        f"**{money(baseline.expected_revenue, currency)}** at list price in the next "
        f"{baseline.horizon_days} days (average order {money(baseline.aov, currency)}). "
        "Every number below is the change against that."
    )


def render_result(
    store: Store, db: str, data_version: int, run: ScenarioRun, currency: str | None
) -> sc.ScenarioResult | None:
    """Headline numbers, break-even, distribution, tornado, the table and the method."""
    try:
        baseline = cached_baseline(store, db, data_version, run.segment_id, run.horizon_days)
        result = cached_result(
            store, db, data_version, run.segment_id, run.horizon_days, run.inputs_json,
            run.seed, run.draws,
        )  # fmt: skip
        spread = cached_tornado(
            store, db, data_version, run.segment_id, run.horizon_days, run.inputs_json
        )
    except ValueError as error:
        st.warning(str(error), icon=":material/warning:")
        return None
    s, summary, interval = result.scenario, result.summary, result.interval
    labels = outcome_labels(run.kind)
    est = result.estimate
    st.subheader(
        f"Result: {KIND_LABELS[run.kind].lower()} for {baseline.segment_name}, "
        f"next {run.horizon_days} days",
        help="Each number is at the middle of your uplift range and the model's estimate; "
        f"below it, the {interval:.0%} interval over the Monte Carlo draws.",
    )
    st.markdown(_baseline_sentence(baseline, currency))
    per_customer = baseline.expected_orders / baseline.customers
    if isinstance(s, sc.DiscountScenario) and s.uplift_mode == "relative" and per_customer < 0.1:
        st.info(
            f"These customers are expected to place only {per_customer:.2f} orders each in the "
            "window, so a *relative* uplift (a share more of almost nothing) adds very few "
            "orders. For lapsed customers, choose **Customers coming back for one order "
            "(reactivation share)** and a range such as 2% to 8%.",
            icon=":material/lightbulb:",
        )

    def tile(name: str, label: str | None = None, extra: str = "") -> Kpi:
        title, meaning = labels[name]
        return Kpi(
            label or title,
            outcome_text(name, est[name], currency),
            meaning + f" Below: the {interval:.0%} interval over the draws." + extra,
            delta=_interval_delta(summary, name, interval),
            delta_color="off",
            delta_arrow="off",
        )

    be = result.break_even_uplift
    kpis = [
        tile("net_profit"),
        Kpi(
            "Chance of a loss",
            percent(result.p_loss),
            "P(loss): the share of the Monte Carlo draws in which net profit is below 0.",
        ),
        tile("roi"),
        Kpi(
            "Break-even uplift",
            "none" if be is None else f"{be:.1%}",
            "The uplift at which net profit is exactly 0 (at the model's estimate); see the "
            "sentence below.",
        ),
        tile("incremental_orders"),
        tile("incremental_revenue"),
        Kpi(
            "Costs incl. cannibalised",
            money(est["total_cost"], currency),
            labels["total_cost"][1]
            + " Below: the cannibalised part, spent on orders that would have come anyway.",
            delta=f"{money(est['cannibalised_cost'], currency)} cannibalised",
            delta_color="off",
            delta_arrow="off",
        ),
        tile("cltv_change_per_customer"),
    ]
    kpi_row(kpis)
    st.markdown(break_even_sentence(result))
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")

    st.subheader(
        "Distribution of net profit",
        help="Each Monte Carlo draw takes an uplift at random from your range and one of the "
        "model's parameter draws, and computes net profit. Red bars are losses.",
    )
    net = summary.loc["net_profit"]
    st.plotly_chart(
        charts.net_profit_histogram_figure(
            result.draws["net_profit"],
            low=float(net["low"]),
            high=float(net["high"]),
            estimate=float(net["estimate"]),
            interval=interval,
            currency=currency or "",
        ),
        width="stretch",
        key=f"{PREFIX}histogram",
    )
    st.caption(
        f"The black line is the estimate ({money(est['net_profit'], currency)}); the shaded "
        f"band the {interval:.0%} interval; {percent(result.p_loss)} of the draws lose money. "
        "The spread shows how unsure the uplift and the model's parameters are; it leaves out "
        "the luck of individual purchases."
    )

    st.subheader(
        "What matters most",
        help="Net profit with one input at a time moved to a low and a high value, the others "
        "as entered.",
    )
    still = spread[spread["low_value"] == spread["high_value"]]
    spread = spread[spread["low_value"] != spread["high_value"]]
    st.plotly_chart(
        charts.tornado_figure(
            spread,
            est["net_profit"],
            currency=currency or "",
            uplift_mode=getattr(s, "uplift_mode", ""),
        ),
        width="stretch",
        key=f"{PREFIX}tornado",
    )
    st.caption(
        "The uplift moves to the ends of your range, the baseline to the ends of the model's "
        f"{interval:.0%} interval of the segment's revenue, every other input by ±25%. The "
        "longest bars are the inputs worth pinning down first."
        + (
            f" Left out, being 0 (±25% of 0 is 0): {', '.join(still['label'].str.lower())}."
            if len(still)
            else ""
        )
    )

    with st.expander("Every outcome with its interval"):
        rows = []

        def cell(name: str, value: float) -> str:  # no-break space: one line per number
            return outcome_text(name, value, currency).replace(" ", "\u00a0")

        for name in sc.OUTCOMES:
            row = summary.loc[name]
            rows.append(
                {
                    "Outcome": labels[name][0],
                    "Estimate": cell(name, row["estimate"]),
                    "Median": cell(name, row["median"]),
                    f"{interval:.0%} low": cell(name, row["low"]),
                    f"{interval:.0%} high": cell(name, row["high"]),
                    "What it means": labels[name][1],
                }
            )
        # A static table: it wraps the explanations and holds no customer data.
        st.table(pd.DataFrame(rows), hide_index=True, border="horizontal")
        st.caption(
            "Estimate: at the middle of your uplift range and the model's estimate. Median and "
            f"the {interval:.0%} interval: over the {len(result.draws):,} Monte Carlo draws."
        )
    with st.expander("How these numbers are made"):
        st.markdown(method_text(run.kind, result, baseline))
    return result


def method_text(kind: str, result: sc.ScenarioResult, baseline: sc.SegmentBaseline) -> str:
    s = result.scenario
    common_head = (
        f"**Baseline.** The fitted purchase models of the latest model run (BG/NBD for how often "
        f"customers buy, Gamma-Gamma for how much) give the segment's N = {baseline.customers:,} "
        f"customers O = {baseline.expected_orders:,.1f} expected orders worth R = "
        f"{baseline.expected_revenue:,.2f} at list price over the next H = "
        f"{baseline.horizon_days} days, undiscounted; a = R / O = {baseline.aov:,.2f} is the "
        "average order value the model expects. u is the uplift, m the gross margin.\n\n"
    )
    if kind == "discount":
        assert isinstance(s, sc.DiscountScenario)
        body = (
            "**Discount campaign.** Every customer of the segment is contacted at cost c each; "
            "a share ρ (reach) sees the offer and gets d off **every** order in the window, "
            "also the orders they would have placed anyway (cannibalisation).\n\n"
            "- extra orders: ΔO = u · ρ · O (relative uplift) or ΔO = u · ρ · N (reactivation: "
            "u is the share of reached customers who place one extra order)\n"
            "- list revenue of the reached customers: G = ρ · R + a · ΔO\n"
            "- discounts given: d · G, of which d · ρ · R on orders expected anyway\n"
            "- incremental revenue: (1 − d) · a · ΔO − d · ρ · R\n"
            "- incremental gross profit: m · a · ΔO − d · G\n"
            "- net profit: incremental gross profit − N · c; ROI = net profit / (d · G + N · c)\n"
            "- break-even uplift: u* = (d · ρ · R + N · c) / ((m − d) · a · B), with B = ρ · O "
            "(relative) or ρ · N (reactivation); none when m ≤ d\n"
        )
    else:
        assert isinstance(s, sc.LoyaltyScenario)
        rate = result.points_rate if result.points_rate is not None else s.points_per_unit
        body = (
            "**Loyalty programme.** A share e of the segment joins; members earn p points per "
            "currency unit, each worth v when redeemed; a share ρ of points is redeemed (the "
            "rest, breakage, costs nothing). Points are costed when earned.\n\n"
            "- extra orders: ΔO = u · e · O; extra revenue ΔR = a · ΔO\n"
            "- points cost: (e · R + ΔR) · p · v · ρ, of which e · R · p · v · ρ on orders "
            "expected anyway\n"
            "- incremental revenue: ΔR − points cost\n"
            "- incremental gross profit: m · ΔR − points cost\n"
            "- programme cost: fixed cost + cost per member · e · N\n"
            "- net profit: incremental gross profit − programme cost; ROI = net profit / "
            "(points cost + programme cost)\n"
            "- break-even uplift: u* = (p · v · ρ · e · R + programme cost) / "
            "((m − p · v · ρ) · e · R); none when m ≤ p · v · ρ\n"
            + (
                "- with tiers, p is the revenue-weighted average rate over the segment's "
                f"customers (here p = {rate:,.3g}); tiers go by expected revenue without the "
                "programme\n"
                if s.tiers
                else f"- no tiers: p = {rate:,.3g} for everyone\n"
            )
        )
    tail = (
        "\n**Change in predicted CLTV** = incremental gross profit over the horizon "
        "(undiscounted), ÷ N per customer; contact and programme costs are marketing costs, "
        "left out of a customer's value.\n\n"
        f"**Distribution.** {len(result.draws):,} draws (seed {result.seed}): draw i takes the "
        "model's parameter draw i mod S and an uplift drawn uniformly from your range, and "
        f"evaluates the formulas. The {result.interval:.0%} interval is the middle "
        f"{result.interval:.0%} of the draws; the chance of a loss is the share with net profit "
        "below 0. The spread mixes the uncertainty of the uplift with the model's parameter "
        "uncertainty, not the luck of individual purchases.\n\n"
        "**What matters most.** Net profit at the estimate with one input at a time at a low "
        "and a high value: the uplift at the ends of your range, the baseline at the ends of "
        "the model's interval of the segment's revenue, every other input ±25%.\n\n"
        "References: Fader, Hardie & Lee (2005) and Fader & Hardie (2013) for the models; "
        "Blattberg, Kim & Neslin (2008), *Database Marketing*, ch. 23 and 28, for "
        "cannibalisation and loyalty economics."
    )
    return common_head + body + tail


# --- evidence -------------------------------------------------------------------------------


def render_evidence(store: Store, db: str, data_version: int) -> None:
    """Loyalty members' observed repeat-order rate against similar non-members."""
    st.subheader(
        "Evidence for the uplift range",
        help="How often loyalty members in your data buy again compared with non-members of "
        "the same RFM segment. It helps choose the uplift range; it does not measure the "
        "programme's effect.",
    )
    evidence = cached_evidence(store, db, data_version)
    if not evidence.available:
        empty_state(evidence.warning)
        return
    st.warning(f"**Members self-select.** {evidence.warning}", icon=":material/warning:")
    kpi_row(
        [
            Kpi(
                "Members vs peers",
                percent(evidence.uplift, signed=True),
                "Peers are non-members in the same RFM segment. Members' repeat orders per "
                "customer-year against what they would show at their peers' rate (indirect "
                "standardisation), minus 1.",
            ),
            Kpi(
                "Members vs all others",
                percent(evidence.crude_uplift, signed=True),
                "Members' repeat orders per customer-year / non-members', minus 1, without "
                "comparing like with like (crude).",
            ),
            Kpi("Loyalty members", fmt.count(evidence.members), "Customers flagged as members."),
            Kpi("Non-members", fmt.count(evidence.non_members), "Everyone else with an order."),
        ]
    )
    st.caption(
        "Rate = repeat orders (all orders but the first) per year since the first order. Even "
        "within RFM segments, members buy more partly because keen customers join: read the "
        "figure as an upper bound for the uplift range, never as the effect."
    )
    for note in evidence.notes:
        st.caption(f"Note: {note}")
    with st.expander("By RFM segment"):
        table = evidence.by_segment[
            ["rfm_segment", "members", "non_members", "member_rate", "non_member_rate",
             "rate_difference"]
        ].copy()  # fmt: skip
        table["rate_difference"] = table["rate_difference"] * 100
        st.dataframe(
            table,
            hide_index=True,
            key=f"{PREFIX}evidence",
            column_config={
                "rfm_segment": st.column_config.TextColumn("RFM segment"),
                "members": st.column_config.NumberColumn("Members", format="localized"),
                "non_members": st.column_config.NumberColumn("Non-members", format="localized"),
                "member_rate": st.column_config.NumberColumn(
                    "Members' repeat orders / year", format="%.2f"
                ),
                "non_member_rate": st.column_config.NumberColumn(
                    "Non-members' repeat orders / year", format="%.2f"
                ),
                "rate_difference": st.column_config.NumberColumn(
                    "Members vs non-members", format="%+.0f%%"
                ),
            },
        )


# --- comparison -----------------------------------------------------------------------------


def comparison_entry(run: ScenarioRun, result: sc.ScenarioResult) -> dict[str, Any]:
    summary = result.summary
    return {
        "identity": run.identity,
        "description": describe(run),
        "kind": run.kind,
        "segment": run.segment_name,
        "horizon_days": run.horizon_days,
        "interval": result.interval,
        "net_profit": float(summary.loc["net_profit", "estimate"]),
        "net_profit_low": float(summary.loc["net_profit", "low"]),
        "net_profit_high": float(summary.loc["net_profit", "high"]),
        "p_loss": result.p_loss,
        "roi": float(summary.loc["roi", "estimate"]),
        "incremental_orders": float(summary.loc["incremental_orders", "estimate"]),
        "incremental_revenue": float(summary.loc["incremental_revenue", "estimate"]),
        "total_cost": float(summary.loc["total_cost", "estimate"]),
        "cltv_change_per_customer": float(summary.loc["cltv_change_per_customer", "estimate"]),
        "break_even_uplift": result.break_even_uplift,
    }


def _add_to_comparison(entry: dict[str, Any]) -> None:
    compared = list(st.session_state.get(COMPARE_KEY, []))
    if any(e["identity"] == entry["identity"] for e in compared):
        return
    st.session_state[COMPARE_KEY] = [*compared, entry][-MAX_COMPARED:]


def _clear_comparison() -> None:
    st.session_state[COMPARE_KEY] = []


def _remove_from_comparison(position: int) -> None:
    compared = list(st.session_state.get(COMPARE_KEY, []))
    if 0 <= position < len(compared):
        del compared[position]
    st.session_state[COMPARE_KEY] = compared


def comparison_buttons(run: ScenarioRun | None, result: sc.ScenarioResult | None) -> None:
    compared = st.session_state.get(COMPARE_KEY, [])
    there = run is not None and any(e["identity"] == run.identity for e in compared)
    full = len(compared) >= MAX_COMPARED
    with st.container(horizontal=True):
        st.button(
            "In the comparison" if there else "Add to comparison",
            key=f"{PREFIX}compare_add",
            icon=":material/check:" if there else ":material/compare_arrows:",
            disabled=run is None or result is None or there or full,
            help=f"Up to {MAX_COMPARED} scenarios side by side (below)."
            if not full
            else f"The comparison holds {MAX_COMPARED}; remove one first.",
            on_click=_add_to_comparison,
            args=(comparison_entry(run, result),) if run and result else None,
        )


def render_comparison(currency: str | None) -> None:
    compared = st.session_state.get(COMPARE_KEY, [])
    st.subheader(
        "Scenarios side by side",
        help=f"Up to {MAX_COMPARED} simulated scenarios, kept for this session. Add the one "
        "shown above with **Add to comparison**.",
    )
    if not compared:
        empty_state(
            "Nothing to compare yet. Simulate a scenario and press **Add to comparison**; "
            "then change the inputs (or the kind) and add another."
        )
        return
    table = pd.DataFrame(compared)
    table["label"] = [f"{i + 1}. {d}" for i, d in enumerate(table["description"])]
    interval = float(table["interval"].iloc[0])
    shown = pd.DataFrame(
        {
            "label": table["label"],
            "segment": table["segment"],
            "horizon_days": table["horizon_days"],
            "net_profit": [money(v, currency) for v in table["net_profit"]],
            "interval": [
                f"{money(lo)} to {money(hi)}"
                for lo, hi in zip(table["net_profit_low"], table["net_profit_high"], strict=True)
            ],
            "p_loss": [percent(v) for v in table["p_loss"]],
            "roi": [percent(v, signed=True) for v in table["roi"]],
            "cost": [money(v, currency) for v in table["total_cost"]],
            "break_even": [
                "none" if v is None or pd.isna(v) else f"{v:.1%}"
                for v in table["break_even_uplift"]
            ],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        key=f"{PREFIX}comparison",
        column_config={
            "label": st.column_config.TextColumn("Scenario", width=230),
            "segment": st.column_config.TextColumn("Segment", width=150),
            "horizon_days": st.column_config.NumberColumn("Days", format="%d", width=50),
            "net_profit": st.column_config.TextColumn(
                "Net profit", width=85, help="At the middle of the uplift range."
            ),
            "interval": st.column_config.TextColumn(f"{interval:.0%} interval", width=125),
            "p_loss": st.column_config.TextColumn(
                "P(loss)", width=60, help="Share of the draws that lose money."
            ),
            "roi": st.column_config.TextColumn("ROI", width=60),
            "cost": st.column_config.TextColumn(
                "Costs",
                width=80,
                help="Discounts or points (also on orders expected anyway) "
                "plus contact or programme costs.",
            ),
            "break_even": st.column_config.TextColumn("Break-even", width=85),
        },
    )
    st.plotly_chart(
        charts.comparison_figure(table, interval=interval, currency=currency or ""),
        width="stretch",
        key=f"{PREFIX}comparison_chart",
    )
    if len({(e["segment"], e["horizon_days"]) for e in compared}) > 1:
        st.caption(
            "The scenarios differ in segment or horizon: their totals cover different customers "
            "or periods, so compare ROI and the chance of a loss rather than net profit alone."
        )
    with st.container(horizontal=True):
        for position, entry in enumerate(compared):
            st.button(
                f"Remove {position + 1}",
                key=f"{PREFIX}compare_remove_{position}",
                icon=":material/close:",
                help=f"Remove “{entry['description']}” from the comparison.",
                on_click=_remove_from_comparison,
                args=(position,),
            )
        st.button(
            "Clear the comparison",
            key=f"{PREFIX}compare_clear",
            icon=":material/delete_sweep:",
            on_click=_clear_comparison,
        )


# --- saved scenarios ------------------------------------------------------------------------


@editors_only
def _save(store: Store, run: ScenarioRun, result_dict: dict[str, Any]) -> None:
    name = str(st.session_state.get(SAVE_NAME_KEY, "")).strip()
    replace = bool(st.session_state.get(SAVE_REPLACE_KEY, False))
    try:
        saved = save_scenario(
            store, name, run.kind, run.segment_name, json.loads(run.inputs_json), result_dict,
            replace=replace,
        )  # fmt: skip
    except (ScenarioError, SegmentError) as error:
        fail(f"Not saved: {error}")
        return
    st.session_state[SAVED_PICK_KEY] = saved.name
    flash(f"Saved “{saved.name}”. Load it again under **Saved scenarios** at the top.")


def render_save(store: Store, run: ScenarioRun, result: sc.ScenarioResult) -> None:
    if not can_edit():
        editor_only_note("save scenarios")
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            "Name",
            key=SAVE_NAME_KEY,
            max_chars=80,
            placeholder="e.g. At risk, 15% for 90 days",
            width=360,
        )
        st.checkbox(
            "Replace a saved scenario of that name",
            key=SAVE_REPLACE_KEY,
        )
        st.button(
            "Save scenario",
            key=f"{PREFIX}save",
            icon=":material/save:",
            on_click=_save,
            args=(store, run, result.to_dict()),
            help="Keeps the inputs, the segment and today's results in the database file. "
            "Opening it later simulates the same inputs on the data of that day.",
        )


def _fill_and_activate(
    kind: str,
    segment_name: str,
    inputs: dict[str, Any],
    horizon: int,
    draws: int,
    seed: int,
    segments: Sequence[SegmentInfo],
) -> None:
    """Put a scenario's inputs into its form and make it the simulated one.

    Raises ValueError or TypeError for inputs that are not a valid scenario of ``kind``.
    """
    by_name = {s.name: s for s in segments}
    if kind not in KINDS or segment_name not in by_name:
        raise ValueError(f"no saved segment “{segment_name}” for a {kind} scenario")
    values = _widget_values(kind, inputs)
    scenario = sc.scenario_from_dict(inputs)
    if (kind == "loyalty") != isinstance(scenario, sc.LoyaltyScenario):
        raise ValueError(f"the inputs are not those of a {kind} scenario")
    draws = min(max(int(draws), 100), MAX_UI_DRAWS)
    for name, value in values.items():
        if name == "uplift_pct":  # the slider starts again from value= (see init_state)
            st.session_state.pop(_key(kind, name), None)
            st.session_state[_key(kind, UPLIFT_START)] = value
        else:
            st.session_state[_key(kind, name)] = value
    st.session_state[_key(kind, "segment")] = segment_name
    st.session_state[_key(kind, "horizon_days")] = int(horizon)
    st.session_state[_key(kind, "draws")] = draws
    st.session_state[_key(kind, "seed")] = int(seed)
    if isinstance(scenario, sc.LoyaltyScenario):
        st.session_state[TIERS_DATA_KEY] = (
            pd.DataFrame([list(t) for t in scenario.tiers], columns=list(TIER_COLUMNS))
            if scenario.tiers
            else empty_tiers()
        )
        st.session_state[TIERS_GENERATION_KEY] = st.session_state.get(TIERS_GENERATION_KEY, 0) + 1
    st.session_state[KIND_KEY] = kind
    set_active(
        ScenarioRun(
            kind=kind,
            segment_name=segment_name,
            segment_id=by_name[segment_name].segment_id,
            horizon_days=int(horizon),
            draws=draws,
            seed=int(seed),
            inputs_json=scenario_json(scenario),
        )
    )


def _load(store: Store, saved: SavedScenario, segments: Sequence[SegmentInfo]) -> None:
    if saved.segment_name not in {s.name for s in segments}:
        fail(
            f"“{saved.name}” targets the segment “{saved.segment_name}”, which is no longer "
            "saved. Save a segment of that name on the Segments page, or build the scenario "
            "again on another segment."
        )
        return
    result = saved.result or {}
    try:
        _fill_and_activate(
            saved.kind,
            saved.segment_name,
            saved.inputs,
            int(result.get("horizon_days") or (90 if saved.kind == "discount" else 365)),
            int(result.get("draw_count") or sc.DEFAULT_DRAWS),
            int(result.get("seed") or 0),
            segments,
        )
    except (ValueError, TypeError) as error:
        fail(f"“{saved.name}” cannot be loaded: {error}")
        return
    st.session_state[SAVE_NAME_KEY] = saved.name
    flash(f"Loaded “{saved.name}” into the form and simulated it on the current data.")


# --- deep links -----------------------------------------------------------------------------


def link_value(kind: str) -> dict[str, Any] | None:
    """The simulated scenario of ``kind`` as the link's ``scenario`` parameter (or None)."""
    run = active_run(kind)
    if run is None:
        return None
    return {
        "kind": run.kind,
        "segment": run.segment_name,
        "horizon_days": run.horizon_days,
        "draws": run.draws,
        "seed": run.seed,
        "inputs": json.loads(run.inputs_json),
    }


def remember_link(kind: str) -> None:
    """Keep the shown scenario under LINK_KEY, which the URL mirrors (ui.links)."""
    value = link_value(kind)
    if value is None:
        st.session_state.pop(LINK_KEY, None)
    else:
        st.session_state[LINK_KEY] = value


def apply_link(segments: Sequence[SegmentInfo]) -> None:
    """Once per session: simulate the scenario a shared link carries (see remember_link)."""
    if st.session_state.get(LINK_APPLIED_KEY):
        return
    st.session_state[LINK_APPLIED_KEY] = True
    value = st.session_state.get(LINK_KEY)
    if not isinstance(value, dict):
        return
    try:
        _fill_and_activate(
            str(value["kind"]),
            str(value["segment"]),
            dict(value["inputs"]),
            int(value["horizon_days"]),
            int(value["draws"]),
            int(value["seed"]),
            segments,
        )
    except (KeyError, ValueError, TypeError) as error:
        st.session_state.pop(LINK_KEY, None)
        fail(f"The link's scenario could not be opened ({error}); the form shows the defaults.")


@editors_only
def _delete(store: Store, name: str) -> None:
    try:
        delete_scenario(store, name)
    except ScenarioError as error:
        fail(f"Not deleted: {error}")
        return
    st.session_state.pop(SAVED_PICK_KEY, None)
    flash(f"Deleted “{name}”.")


def render_saved_scenarios(
    store: Store, segments: Sequence[SegmentInfo], currency: str | None
) -> None:
    saved = list_scenarios(store)
    if not saved:
        return
    by_name = {s.name: s for s in saved}
    with st.expander(f"Saved scenarios ({len(saved)})", icon=":material/bookmarks:"):
        if st.session_state.get(SAVED_PICK_KEY) not in by_name:
            st.session_state[SAVED_PICK_KEY] = saved[0].name
        picked = st.selectbox(
            "Saved scenario",
            list(by_name),
            key=SAVED_PICK_KEY,
            format_func=lambda n: (
                f"{n} ({KIND_LABELS[by_name[n].kind].lower()}, {by_name[n].segment_name})"
            ),
        )
        chosen = by_name[picked]
        net = ((chosen.result or {}).get("summary") or {}).get("net_profit") or {}
        when = chosen.updated_at.strftime("%d %b %Y %H:%M")
        st.caption(
            f"Saved {when} UTC on segment “{chosen.segment_name}”"
            + (
                f"; net profit then {money(net.get('estimate'), currency)} "
                f"({money(net.get('low'), currency)} to {money(net.get('high'), currency)})."
                if net
                else "."
            )
        )
        with st.container(horizontal=True):
            st.button(
                "Load",
                key=f"{PREFIX}load",
                icon=":material/upload:",
                type="primary",
                on_click=_load,
                args=(store, chosen, segments),
                help="Fills the form with its inputs and simulates them on the current data.",
            )
            if can_edit():
                st.button(
                    "Delete",
                    key=f"{PREFIX}delete",
                    icon=":material/delete:",
                    on_click=_delete,
                    args=(store, chosen.name),
                )


# --- export ---------------------------------------------------------------------------------


def render_export(store: Store, run: ScenarioRun, currency: str | None) -> None:
    """Build, record and offer the target list of the scenario's segment with its offer."""
    offer = offer_text(run.scenario, run.horizon_days, currency)
    st.markdown(
        f"Every customer of **{run.segment_name}** who accepts marketing, with the offer "
        f"“{offer}”. A random holdout group is flagged *not to contact*: comparing its later "
        "orders with the contacted customers' on the **Export** page measures the real uplift, "
        "to check this scenario's range."
    )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        holdout = st.number_input(
            "Holdout, % of customers",
            min_value=0.0,
            max_value=50.0,
            value=10.0,
            step=1.0,
            key=EXPORT_HOLDOUT_KEY,
            width=220,
            help="Customers drawn at random (seed 0) and flagged holdout: do not contact them.",
        )
        prepare = st.button(
            "Prepare the target list",
            key=f"{PREFIX}export",
            icon=":material/download:",
        )
    if prepare:
        try:
            target_list = build_target_list(
                store, run.segment_name, DEFAULT_COLUMNS, holdout_pct=float(holdout), offer=offer
            )
            if target_list.customers == 0:
                raise TargetError(
                    "No customer of this segment can be exported: none accepts marketing."
                    if target_list.excluded_no_consent
                    else "No customer of this segment can be exported; the segment is empty."
                )
            data = write_target_file(target_list.frame, "csv")
            export_id = record_export(
                store, target_list, columns=tuple(target_list.frame.columns), file_format="csv"
            )
        except (TargetError, SegmentError, ValueError) as error:
            st.error(f"Not exported: {error}", icon=":material/error:")
        else:
            name = default_file_name(run.segment_name, "csv", datetime.now(UTC).date())
            st.session_state[EXPORT_READY_KEY] = {
                "identity": (run.kind, run.identity),
                "name": name,
                "data": data,
                "export_id": export_id,
                "target": target_list.target,
                "holdout": target_list.holdout,
                "excluded": target_list.excluded_no_consent,
            }
    ready = st.session_state.get(EXPORT_READY_KEY)
    if ready and ready["identity"] == (run.kind, run.identity):
        st.download_button(
            f"Download {ready['name']}",
            data=ready["data"],
            file_name=ready["name"],
            mime="text/csv",
            type="primary",
            icon=":material/download:",
            key=f"{PREFIX}download",
        )
        st.caption(
            f"Recorded as export {ready['export_id']}: {ready['target']:,} customers to "
            f"contact, {ready['holdout']:,} held out, {ready['excluded']:,} left out for lack "
            "of marketing consent. Its lift appears on the Export page once new orders are "
            "imported."
        )
