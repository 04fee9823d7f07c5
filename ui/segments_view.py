"""Segments page glue: the rule builder, saved segments, the RFM grid and the comparison.

The rules being built live in session state as the JSON of ``Group.to_dict()``
(:data:`DRAFT_KEY`); the builder's widgets are seeded from it and write it back on every run.
Structural changes (add, remove, load) edit the draft in a callback and drop the widgets'
state, so the next run seeds them again from the draft. Writes (save, rename, duplicate,
delete) run in button callbacks through the store of the page's context, before the page is
drawn, so the page shows their result at once; every read is cached on
``(db, data_version, parameters)``, and every write bumps ``data_version``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from retention.charts import segments as charts
from retention.segments.attributes import (
    ATTRIBUTES,
)
from retention.segments.compare import (
    MAX_SEGMENTS,
    Comparison,
    compare,
    predicted_cltv_by_segment,
    retention_curves,
)
from retention.segments.options import AttributeOptions, attribute_options
from retention.segments.rfm import RFM_GRID_SQL, rfm_grid, rfm_segment_summary
from retention.segments.rules import (
    OPERATOR_LABELS,
    OPERATORS,
    RuleError,
    members_sql,
    parse_rules,
)
from retention.segments.saved import (
    Segment,
    SegmentError,
    SegmentPreview,
    delete_segment,
    duplicate_segment,
    list_segments,
    preview,
    save_segment,
    update_segment,
)
from retention.store import Store
from ui import format as fmt
from ui.access import can_edit, editor_only_note, editors_only
from ui.components import Kpi, empty_state, kpi_row, show_sql

__all__ = [
    "DRAFT_KEY",
    "RULE_PREFIX",
    "TABS",
    "TAB_KEY",
    "AttributeOptions",
    "cached_options",
    "cached_preview",
    "cached_rfm_grid",
    "cached_rfm_segments",
    "cached_segments",
    "cached_comparison",
    "cached_curves",
    "cached_segment_cltv",
    "render_build",
    "render_compare",
    "render_rfm",
    "render_saved",
    "rfm_save_name",
    "show_flash",
]

_TTL, _MAX = 3600, 64

# --- session-state keys (page-local: prefixed "segments.") ---------------------------------

TABS = ("Build", "Saved", "RFM", "Compare")
TAB_KEY = "segments.tab"
DRAFT_KEY = "segments.draft"
LOADED_KEY = "segments.loaded"  # the saved segment the draft was loaded from
FLASH_KEY = "segments.flash"
ERROR_KEY = "segments.error"  # {area: message}, shown once where the action was
RULE_PREFIX = "segments.rule."  # value widgets of the builder: segments.rule.<path>.<part>
ROOT = "r"  # path of the top-level group; conditions are r.0, r.1, sub-group items r.2.0
BUTTON_PREFIX = "segments.builder."
CLEAR_KEY = "segments.builder.clear"
SAVE_FORM = "segments.save"
SAVE_NAME_KEY = "segments.save.name"
SAVE_DESCRIPTION_KEY = "segments.save.description"
SAVE_BUTTON = "Save segment"
UPDATE_KEY = "segments.update"
SAVED_PICK_KEY = "segments.saved.pick"
SAVED_CHOSEN_KEY = "segments.saved.chosen"  # the pick, kept while the tab is closed
LOAD_KEY = "segments.saved.load"
RENAME_FORM = "segments.rename"
RENAME_NAME_KEY = "segments.rename.name"
RENAME_BUTTON = "Rename"
DUPLICATE_FORM = "segments.duplicate"
DUPLICATE_NAME_KEY = "segments.duplicate.name"
DUPLICATE_BUTTON = "Duplicate"
DELETE_KEY = "segments.saved.delete"
CONFIRM_DELETE_KEY = "segments.saved.confirm_delete"
DELETE_YES_KEY = "segments.saved.delete_yes"
DELETE_NO_KEY = "segments.saved.delete_no"
RFM_SAVE_PREFIX = "segments.rfm.save."
COMPARE_PICK_KEY = "segments.compare.pick"
COMPARE_BASELINE_KEY = "segments.compare.baseline"
COMPARE_CHOSEN_KEY = "segments.compare.chosen"  # the pick, kept while the tab is closed

EMPTY_RULES: dict[str, Any] = {"op": "and", "rules": []}
NO_VALUE = ("is_true", "is_false", "is_empty", "is_not_empty")
DEFAULT_OPERATOR = {"number": ">=", "category": "in", "bool": "is_true", "date": "on_or_after"}
PROBABILITIES = ("p_alive", "churn_risk")
SCORE_COLUMNS = ("predicted_cltv", "p_alive", "churn_risk")
NOT_FITTED = "not fitted yet"
CURVE_MONTHS = 12

RFM_EXPLAINED = (
    "Scores run from 1 to 5 (5 best) and are quintiles by rank as of the last order day in "
    "the file: **R** by days since the last order (fewer is better), **F** by counted orders, "
    "**M** by revenue to date, each `least(5, 1 + floor(5 · percent_rank()))`. Customers with "
    "equal values share a score, so when most customers have one order they all get F = 1 "
    "and the next F score starts higher (some F columns can then be empty). The named "
    "segments come from R and F as in the widely used RFM segment map; each of the 25 "
    "(R, F) cells has exactly one name."
)


# --- cached reads ---------------------------------------------------------------------------


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def cached_options(_store: Store, db: str, data_version: int) -> AttributeOptions:
    """The builder's choices, read once per data version."""
    return attribute_options(_store)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_preview(_store: Store, db: str, data_version: int, rules_json: str) -> SegmentPreview:
    return preview(_store, rules_json, sample=20)


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def cached_segments(_store: Store, db: str, data_version: int) -> list[Segment]:
    return list_segments(_store)


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def cached_rfm_grid(_store: Store, db: str, data_version: int) -> pd.DataFrame:
    return rfm_grid(_store)


@st.cache_data(ttl=_TTL, max_entries=16, show_spinner=False)
def cached_rfm_segments(_store: Store, db: str, data_version: int) -> pd.DataFrame:
    """The 11 named segments in RFM_SEGMENT_ORDER (zeros for empty ones), with their meaning."""
    return rfm_segment_summary(_store)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_comparison(
    _store: Store, db: str, data_version: int, segment_ids: tuple[int, ...], baseline: int
) -> Comparison:
    return compare(_store, segment_ids, baseline=baseline)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_curves(
    _store: Store, db: str, data_version: int, segment_ids: tuple[int, ...]
) -> pd.DataFrame:
    return retention_curves(_store, segment_ids, period="month", periods=CURVE_MONTHS)


@st.cache_data(ttl=_TTL, max_entries=_MAX, show_spinner=False)
def cached_segment_cltv(
    _store: Store, db: str, data_version: int, segment_ids: tuple[int, ...]
) -> pd.DataFrame:
    return predicted_cltv_by_segment(_store, segment_ids)


# --- messages -------------------------------------------------------------------------------


def flash(message: str) -> None:
    """A success message for the next run (set in callbacks)."""
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    """The pending success message, in a slot that is there on every run.

    The slot keeps the tabs below it at the same place in the page. When a message appeared above
    them only on some runs, the browser remounted the tabs after "Load into the builder" and kept
    the tab the user had clicked last as its value, so the next click on the Build tab sent the
    user back to Saved.
    """
    slot = st.empty()
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        slot.success(message, icon=":material/check_circle:")


def _fail(area: str, message: str) -> None:
    st.session_state.setdefault(ERROR_KEY, {})[area] = message


def _show_error(area: str) -> None:
    message = st.session_state.get(ERROR_KEY, {}).pop(area, None)
    if message:
        st.error(message, icon=":material/error:")


def _escape(text: str) -> str:
    """Text shown through st.markdown as it is (no emphasis, links or LaTeX from values)."""
    return re.sub(r"([\\`*_{}\[\]<>#+!|~$])", r"\\\1", text)


def _node_at(draft: dict[str, Any], path: str) -> dict[str, Any]:
    node = draft
    for index in path.split(".")[1:]:
        node = node["rules"][int(index)]
    return node


def rule_error_text(error: Exception, draft: dict[str, Any]) -> str:
    """A RuleError with its JSON path ("rules.rules[1]") replaced by the condition's name."""

    def where(match: re.Match[str]) -> str:
        indices = re.findall(r"\[(\d+)\]", match.group(0))
        number = ".".join(str(int(i) + 1) for i in indices)
        try:
            node = _node_at(draft, ".".join([ROOT, *indices]))
            label = ATTRIBUTES[node["attribute"]].label if "attribute" in node else "Group"
        except (KeyError, IndexError, TypeError, ValueError):
            return f"Condition {number}"
        return f"{label} (condition {number})"

    return re.sub(r"rules(?:\.rules\[\d+\])+", where, str(error))


# --- the rule builder -----------------------------------------------------------------------


def _key(path: str, part: str) -> str:
    return f"{RULE_PREFIX}{path}.{part}"


def _value_parts(path: str) -> list[str]:
    return [
        _key(path, p) for p in ("number", "low", "high", "values", "date", "date_low", "date_high")
    ]


def _drop_widget_state() -> None:
    """Forget every builder widget's value, so the next run seeds them from the draft."""
    for key in [k for k in st.session_state if str(k).startswith(RULE_PREFIX)]:
        del st.session_state[key]


def _rounded(name: str, value: float) -> float:
    return round(value, 2) if name in PROBABILITIES else float(round(value))


def default_value(name: str, operator: str, options: AttributeOptions) -> Any:
    """A starting value that splits the customers: the median, or the middle half."""
    kind = ATTRIBUTES[name].kind
    if operator in NO_VALUE or kind == "bool":
        return None
    if kind == "category":
        return []
    if kind == "number":
        q = options.numbers.get(name) or (0.0, 0.0, 0.0)
        if operator == "between":
            return [_rounded(name, q[0]), _rounded(name, q[2])]
        return _rounded(name, q[1])
    first, middle, last = options.dates.get(name) or (date.today(),) * 3
    if operator == "between":
        return [first.isoformat(), last.isoformat()]
    return middle.isoformat()


def new_condition(options: AttributeOptions, name: str = "recency_days") -> dict[str, Any]:
    operator = DEFAULT_OPERATOR[ATTRIBUTES[name].kind]
    node: dict[str, Any] = {"attribute": name, "operator": operator}
    value = default_value(name, operator, options)
    if value is not None:
        node["value"] = value
    return node


def _add(path: str, what: str, options: AttributeOptions) -> None:
    draft = st.session_state.get(DRAFT_KEY, EMPTY_RULES)
    group = _node_at(draft, path)
    group.setdefault("rules", []).append(
        new_condition(options)
        if what == "condition"
        else {"op": "or", "rules": [new_condition(options)]}
    )
    st.session_state[DRAFT_KEY] = draft
    _drop_widget_state()


def _remove(path: str) -> None:
    draft = st.session_state.get(DRAFT_KEY, EMPTY_RULES)
    parent_path, index = path.rsplit(".", 1)
    del _node_at(draft, parent_path)["rules"][int(index)]
    st.session_state[DRAFT_KEY] = draft
    _drop_widget_state()


def _clear() -> None:
    st.session_state[DRAFT_KEY] = {"op": "and", "rules": []}
    st.session_state.pop(LOADED_KEY, None)
    _drop_widget_state()


def _attribute_changed(path: str, options: AttributeOptions) -> None:
    """A new attribute: its default operator and value, and fresh widgets for them."""
    draft = st.session_state.get(DRAFT_KEY, EMPTY_RULES)
    node = _node_at(draft, path)
    node.clear()
    node.update(new_condition(options, st.session_state[_key(path, "attribute")]))
    for key in [_key(path, "operator"), *_value_parts(path)]:
        st.session_state.pop(key, None)


def _operator_changed(path: str, options: AttributeOptions) -> None:
    """A new operator: keep the value when it still fits, else the default one."""
    draft = st.session_state.get(DRAFT_KEY, EMPTY_RULES)
    node = _node_at(draft, path)
    old, new = node.get("operator"), st.session_state[_key(path, "operator")]
    node["operator"] = new
    same_shape = (old == "between") == (new == "between") and new not in NO_VALUE
    if not same_shape or old in NO_VALUE:
        value = default_value(node["attribute"], new, options)
        node.pop("value", None)
        if value is not None:
            node["value"] = value
    for key in _value_parts(path):
        st.session_state.pop(key, None)


def _seed(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _as_day(value: Any, fallback: date) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return fallback


def _number_widget(column: Any, name: str, label: str, key: str, value: Any) -> float | None:
    step, shown = (
        (0.05, "%.2f")
        if name in PROBABILITIES
        else ((1.0, "%.2f") if ATTRIBUTES[name].unit == "money" else (1.0, "%.0f"))
    )
    _seed(key, float(value) if isinstance(value, int | float) else None)
    unit = ATTRIBUTES[name].unit
    return column.number_input(
        label,
        key=key,
        step=step,
        format=shown,
        placeholder="a number",
        help=f"In {unit}." if unit and unit != "money" else None,
    )


def _value_widget(
    column: Any,
    name: str,
    operator: str,
    node: dict[str, Any],
    path: str,
    options: AttributeOptions,
) -> Any:
    """The value input that fits the attribute's kind and the operator; returns the value."""
    kind = ATTRIBUTES[name].kind
    value = node.get("value")
    if operator in NO_VALUE or kind == "bool":
        return None
    if kind == "category":
        chosen = [str(v) for v in value] if isinstance(value, list) else []
        present = options.categories.get(name, ())
        choices = [*present, *[v for v in chosen if v not in present]]
        _seed(_key(path, "values"), chosen)
        return column.multiselect(
            "Values",
            choices,
            key=_key(path, "values"),
            placeholder="Choose values",
            help=f"The values present in the data ({len(present):,}).",
        )
    if kind == "number":
        if operator == "between":
            pair = value if isinstance(value, list) and len(value) == 2 else [None, None]
            low_column, high_column = column.columns(2)
            low = _number_widget(low_column, name, "From", _key(path, "low"), pair[0])
            high = _number_widget(high_column, name, "To", _key(path, "high"), pair[1])
            return [low, high]
        return _number_widget(column, name, "Value", _key(path, "number"), value)
    first, middle, last = options.dates.get(name) or (date.today(),) * 3
    wide = {"min_value": date(1970, 1, 1), "max_value": date(2100, 12, 31), "format": "YYYY-MM-DD"}
    if operator == "between":
        pair = value if isinstance(value, list) and len(value) == 2 else [first, last]
        low_column, high_column = column.columns(2)
        _seed(_key(path, "date_low"), _as_day(pair[0], first))
        _seed(_key(path, "date_high"), _as_day(pair[1], last))
        low = low_column.date_input("From", key=_key(path, "date_low"), **wide)
        high = high_column.date_input("To", key=_key(path, "date_high"), **wide)
        return [d.isoformat() if isinstance(d, date) else None for d in (low, high)]
    _seed(_key(path, "date"), _as_day(value, middle))
    day = column.date_input("Date", key=_key(path, "date"), **wide)
    return day.isoformat() if isinstance(day, date) else None


def _render_condition(node: dict[str, Any], path: str, options: AttributeOptions) -> dict[str, Any]:
    attribute_key, operator_key = _key(path, "attribute"), _key(path, "operator")
    _seed(attribute_key, node.get("attribute", "recency_days"))
    current = ATTRIBUTES[st.session_state[attribute_key]]
    columns = st.columns([3, 2.2, 4, 0.5], vertical_alignment="bottom")
    name = columns[0].selectbox(
        "Attribute",
        list(ATTRIBUTES),
        format_func=lambda n: ATTRIBUTES[n].label,
        key=attribute_key,
        on_change=_attribute_changed,
        args=(path, options),
        help=current.description,
    )
    allowed = OPERATORS[ATTRIBUTES[name].kind]
    if node.get("operator") in allowed:
        _seed(operator_key, node["operator"])
    else:
        _seed(operator_key, DEFAULT_OPERATOR[ATTRIBUTES[name].kind])
    operator = columns[1].selectbox(
        "Operator",
        allowed,
        format_func=lambda o: OPERATOR_LABELS.get(o, o),
        key=operator_key,
        on_change=_operator_changed,
        args=(path, options),
    )
    value = _value_widget(columns[2], name, operator, node, path, options)
    columns[3].button(
        "",
        icon=":material/close:",
        key=f"{BUTTON_PREFIX}remove.{path}",
        help="Remove this condition",
        on_click=_remove,
        args=(path,),
    )
    out: dict[str, Any] = {"attribute": name, "operator": operator}
    if value is not None:
        out["value"] = value
    return out


_JOINS = {"and": "all of these (AND)", "or": "any of these (OR)"}


def _render_group(
    node: dict[str, Any], path: str, options: AttributeOptions, depth: int
) -> dict[str, Any]:
    op_key = _key(path, "op")
    _seed(op_key, node.get("op", "and"))
    if depth == 0:
        op = st.radio(
            "Customers who match",
            ["and", "or"],
            format_func=_JOINS.get,
            key=op_key,
            horizontal=True,
        )
    else:
        left, right = st.columns([9.5, 0.5], vertical_alignment="center")
        op = left.radio(
            "Group: customers who match",
            ["and", "or"],
            format_func=_JOINS.get,
            key=op_key,
            horizontal=True,
        )
        right.button(
            "",
            icon=":material/delete:",
            key=f"{BUTTON_PREFIX}remove.{path}",
            help="Remove this group and its conditions",
            on_click=_remove,
            args=(path,),
        )
    if depth == 0 and not node.get("rules"):
        st.caption("No conditions yet, so the segment is every customer. Add a condition.")
    rules: list[dict[str, Any]] = []
    for i, child in enumerate(node.get("rules", [])):
        child_path = f"{path}.{i}"
        if "rules" in child or "op" in child:
            with st.container(border=True):
                rules.append(_render_group(child, child_path, options, depth + 1))
        else:
            rules.append(_render_condition(child, child_path, options))
    with st.container(horizontal=True):
        st.button(
            "Add condition" if depth == 0 else "Add condition to this group",
            icon=":material/add:",
            key=f"{BUTTON_PREFIX}add.{path}",
            on_click=_add,
            args=(path, "condition", options),
        )
        if depth == 0:
            st.button(
                "Add group",
                icon=":material/add_box:",
                key=f"{BUTTON_PREFIX}add_group.{path}",
                help="A group of conditions with its own AND / OR, e.g. country is US OR "
                "loyalty member is yes.",
                on_click=_add,
                args=(path, "group", options),
            )
            if node.get("rules"):
                st.button(
                    "Start over", icon=":material/restart_alt:", key=CLEAR_KEY, on_click=_clear
                )
    return {"op": op, "rules": rules}


def rules_are_valid(rules: Any) -> bool:
    """Whether ``rules`` (from a link) is a rule set the builder can show."""
    try:
        parse_rules(rules)
    except (RuleError, TypeError, ValueError):
        return False
    return isinstance(rules, dict)


def rule_builder(options: AttributeOptions) -> dict[str, Any]:
    """Draw the builder from the draft; returns (and stores) the draft as the widgets say."""
    draft = st.session_state.setdefault(DRAFT_KEY, {"op": "and", "rules": []})
    current = _render_group(draft, ROOT, options, 0)
    st.session_state[DRAFT_KEY] = current
    return current


# --- write callbacks ------------------------------------------------------------------------


@editors_only
def _save_new(store: Store) -> None:
    name = str(st.session_state.get(SAVE_NAME_KEY) or "")
    description = str(st.session_state.get(SAVE_DESCRIPTION_KEY) or "")
    try:
        segment = save_segment(
            store, name, st.session_state.get(DRAFT_KEY, EMPTY_RULES), description
        )
    except (RuleError, SegmentError) as error:
        _fail("save", f"Not saved: {error}")
        return
    st.session_state[LOADED_KEY] = segment.name
    st.session_state[SAVE_NAME_KEY] = ""
    st.session_state[SAVE_DESCRIPTION_KEY] = ""
    flash(f"Saved “{segment.name}”: {segment.customers:,} customers. It is listed under Saved.")


@editors_only
def _update_loaded(store: Store) -> None:
    name = st.session_state.get(LOADED_KEY)
    try:
        segment = update_segment(
            store, str(name), rules=st.session_state.get(DRAFT_KEY, EMPTY_RULES)
        )
    except (RuleError, SegmentError) as error:
        _fail("save", f"Not saved: {error}")
        return
    flash(f"Updated “{segment.name}”: {segment.customers:,} customers.")


def _load(segment: Segment) -> None:
    st.session_state[DRAFT_KEY] = segment.rules.to_dict()
    st.session_state[LOADED_KEY] = segment.name
    st.session_state[TAB_KEY] = "Build"
    _drop_widget_state()
    flash(f"Loaded “{segment.name}” into the builder. Change the rules, then save.")


@editors_only
def _rename(store: Store, name: str) -> None:
    new_name = str(st.session_state.get(RENAME_NAME_KEY) or "")
    try:
        segment = update_segment(store, name, new_name=new_name)
    except SegmentError as error:
        _fail("saved", f"Not renamed: {error}")
        return
    st.session_state[SAVED_PICK_KEY] = segment.name
    st.session_state[RENAME_NAME_KEY] = ""
    if st.session_state.get(LOADED_KEY) == name:
        st.session_state[LOADED_KEY] = segment.name
    flash(f"Renamed “{name}” to “{segment.name}”.")


@editors_only
def _duplicate(store: Store, name: str) -> None:
    new_name = str(st.session_state.get(DUPLICATE_NAME_KEY) or "").strip() or f"{name} (copy)"
    try:
        segment = duplicate_segment(store, name, new_name)
    except SegmentError as error:
        _fail("saved", f"Not duplicated: {error}")
        return
    st.session_state[SAVED_PICK_KEY] = segment.name
    st.session_state[DUPLICATE_NAME_KEY] = ""
    flash(f"Duplicated “{name}” as “{segment.name}” ({segment.customers:,} customers).")


def _ask_delete(name: str) -> None:
    st.session_state[CONFIRM_DELETE_KEY] = name


def _cancel_delete() -> None:
    st.session_state.pop(CONFIRM_DELETE_KEY, None)


@editors_only
def _delete(store: Store, name: str) -> None:
    st.session_state.pop(CONFIRM_DELETE_KEY, None)
    try:
        delete_segment(store, name)
    except SegmentError as error:
        _fail("saved", f"Not deleted: {error}")
        return
    st.session_state.pop(SAVED_PICK_KEY, None)
    st.session_state.pop(SAVED_CHOSEN_KEY, None)
    if st.session_state.get(LOADED_KEY) == name:
        st.session_state.pop(LOADED_KEY, None)
    flash(f"Deleted “{name}”.")


def rfm_save_name(segment: str) -> str:
    """The saved segment's name for a named RFM segment: "RFM: Champions"."""
    return f"RFM: {segment}"


def rfm_rules(segment: str) -> dict[str, Any]:
    return {
        "op": "and",
        "rules": [{"attribute": "rfm_segment", "operator": "in", "value": [segment]}],
    }


@editors_only
def _save_rfm(store: Store, segment: str, meaning: str) -> None:
    try:
        saved = save_segment(store, rfm_save_name(segment), rfm_rules(segment), meaning)
    except (RuleError, SegmentError) as error:
        _fail("rfm", f"Not saved: {error}")
        return
    flash(f"Saved “{saved.name}”: {saved.customers:,} customers. It is listed under Saved.")


# --- the tabs -------------------------------------------------------------------------------


def preview_kpis(p: SegmentPreview, currency: str | None) -> list[Kpi]:
    """The preview's tiles: customers, share of customers, revenue share, revenue."""
    return [
        Kpi(
            "Customers",
            fmt.count(p.customers),
            "Customers (a distinct customer id with a counted order) who match the rules.",
        ),
        Kpi(
            "Share of customers",
            fmt.share(p.share),
            f"Customers in the segment / all {p.all_customers:,} customers.",
        ),
        Kpi(
            "Revenue share",
            fmt.share(p.revenue_share),
            "The segment's revenue to date (counted orders, net of refunds) / the revenue of "
            "all customers. Guest orders are in neither.",
        ),
        Kpi(
            "Revenue to date",
            fmt.money(p.revenue, currency),
            "Revenue of the segment's counted orders, net of refunds.",
        ),
    ]


SAMPLE_COLUMNS = {
    "customer_id": st.column_config.TextColumn("Customer"),
    "country": st.column_config.TextColumn("Country", width="small"),
    "first_channel": st.column_config.TextColumn("Channel"),
    "orders": st.column_config.NumberColumn("Orders", format="localized"),
    "revenue": st.column_config.NumberColumn("Revenue to date", format="accounting"),
    "recency_days": st.column_config.NumberColumn(
        "Days since last order", format="localized", help=ATTRIBUTES["recency_days"].description
    ),
    "rfm_segment": st.column_config.TextColumn("RFM segment"),
    "predicted_cltv": st.column_config.NumberColumn(
        "Predicted CLTV", format="accounting", help=ATTRIBUTES["predicted_cltv"].description
    ),
    "p_alive": st.column_config.ProgressColumn(
        "P(alive)",
        format="%.0f%%",
        min_value=0.0,
        max_value=100.0,
        width="small",
        help=ATTRIBUTES["p_alive"].description,
    ),
    "churn_risk": st.column_config.ProgressColumn(
        "Churn risk",
        format="%.0f%%",
        min_value=0.0,
        max_value=100.0,
        width="small",
        help=ATTRIBUTES["churn_risk"].description,
    ),
}


def _attributes_in(node: dict[str, Any]) -> list[str]:
    if "attribute" in node:
        return [str(node["attribute"])]
    return [name for child in node.get("rules", []) for name in _attributes_in(child)]


def _sample_table(sample: pd.DataFrame, scored: bool) -> pd.DataFrame:
    table = sample.drop(columns=["email"])
    if scored:
        for column in PROBABILITIES:
            table[column] = table[column] * 100
    else:
        table = table.drop(columns=list(SCORE_COLUMNS))
    return table


def render_build(store: Store, db: str, data_version: int, currency: str | None) -> None:
    """The rule builder, the live preview and the save form."""
    options = cached_options(store, db, data_version)
    loaded = st.session_state.get(LOADED_KEY)
    st.subheader(
        "Rules",
        help="Conditions on customer attributes, joined by AND or OR. An "
        "empty rule set is every customer.",
    )
    if loaded:
        st.caption(f"Editing the rules of “{_escape(loaded)}” (loaded from Saved).")
    draft = rule_builder(options)
    uses_scores = bool(set(_attributes_in(draft)) & set(SCORE_COLUMNS))
    try:
        group = parse_rules(draft)
    except RuleError as error:
        st.error(f"{rule_error_text(error, draft)}.", icon=":material/error:")
        group = None

    st.subheader(
        "Preview",
        help="Who the rules select now, over all customers (the sidebar "
        "filters do not apply to segments).",
    )
    if group is None:
        st.caption("Fix the rule above to see who it selects.")
    else:
        p = cached_preview(store, db, data_version, group.to_json())
        kpi_row(preview_kpis(p, currency))
        st.markdown(f"**In words:** {_escape(group.describe())}")
        if not options.scored and uses_scores:
            st.warning(
                "The models have not been fitted yet, so predicted CLTV, P(alive) and churn "
                "risk are empty and conditions on them match no one. Fit them on the "
                "Customer value page.",
                icon=":material/model_training:",
            )
        if p.customers:
            st.caption(
                f"The {min(len(p.sample), p.customers):,} customers with the most revenue to "
                f"date, of {p.customers:,}. Customer data: this table cannot be downloaded; "
                "use an export."
                + (
                    ""
                    if options.scored
                    else f" Predicted CLTV, P(alive), churn risk: {NOT_FITTED}."
                )
            )
            st.dataframe(
                _sample_table(p.sample, options.scored),
                hide_index=True,
                column_config=SAMPLE_COLUMNS,
                key="segments.sample",
                height="content",
            )
        else:
            empty_state("No customer matches these rules. Loosen a condition or switch AND to OR.")
        sql, params = members_sql(group, "customer_id")
        show_sql(sql + f"\n-- parameters: {params}", label="Show the segment's SQL")

    st.subheader("Save")
    if not can_edit():
        editor_only_note("save segments")
        return
    _show_error("save")
    if loaded:
        st.button(
            f"Save changes to “{_escape(loaded)}”",
            icon=":material/save:",
            key=UPDATE_KEY,
            disabled=group is None,
            on_click=_update_loaded,
            args=(store,),
        )
    with st.form(SAVE_FORM, border=True):
        if loaded:
            st.caption(
                f"Saves the rules above as a new segment; “{_escape(loaded)}” stays as it is."
            )
        st.text_input(
            "Name", key=SAVE_NAME_KEY, max_chars=80, placeholder="e.g. Lapsed loyal customers"
        )
        st.text_area(
            "Description",
            key=SAVE_DESCRIPTION_KEY,
            height=68,
            placeholder="What the segment is for (optional)",
        )
        st.form_submit_button(
            SAVE_BUTTON,
            type="primary",
            icon=":material/bookmark_add:",
            disabled=group is None,
            on_click=_save_new,
            args=(store,),
        )


def saved_table(segments: list[Segment]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [s.name for s in segments],
            "description": [s.description for s in segments],
            "customers": [s.customers for s in segments],
            "rules": [s.rules.describe() for s in segments],
            "updated_at": [s.updated_at for s in segments],
        }
    )


def render_saved(store: Store, db: str, data_version: int) -> None:
    """The saved segments, and load / rename / duplicate / delete for the one picked."""
    segments = cached_segments(store, db, data_version)
    _show_error("saved")
    if not segments:
        empty_state(
            "No saved segments yet. Build one on the **Build** tab and press **Save segment**, "
            "or save a named RFM segment on the **RFM** tab."
        )
        return
    st.dataframe(
        saved_table(segments),
        hide_index=True,
        key="segments.saved.table",
        height="content",
        column_config={
            "name": st.column_config.TextColumn("Name"),
            "description": st.column_config.TextColumn("Description"),
            "customers": st.column_config.NumberColumn(
                "Customers",
                format="localized",
                help="Members now. Members are recomputed on save, after each import and "
                "after each model refit.",
            ),
            "rules": st.column_config.TextColumn("Rules", width="medium"),
            "updated_at": st.column_config.DatetimeColumn(
                "Updated", format="YYYY-MM-DD HH:mm", help="UTC."
            ),
        },
    )
    names = [s.name for s in segments]
    by_name = {s.name: s for s in segments}
    remembered = st.session_state.get(SAVED_PICK_KEY, st.session_state.get(SAVED_CHOSEN_KEY))
    st.session_state[SAVED_PICK_KEY] = remembered if remembered in names else names[0]
    st.subheader("Manage a segment")
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    name = left.selectbox("Segment", names, key=SAVED_PICK_KEY)
    st.session_state[SAVED_CHOSEN_KEY] = name
    segment = by_name[name]
    right.button(
        "Load into the builder",
        icon=":material/edit:",
        key=LOAD_KEY,
        on_click=_load,
        args=(segment,),
        help="Open its rules on the Build tab to change them or save a variant.",
    )
    st.caption(_escape(segment.rules.describe()))
    if not can_edit():
        editor_only_note("rename, copy or delete segments")
        return
    rename_column, duplicate_column = st.columns(2)
    with rename_column.form(RENAME_FORM):
        st.text_input("New name", key=RENAME_NAME_KEY, max_chars=80)
        st.form_submit_button(
            RENAME_BUTTON,
            icon=":material/drive_file_rename_outline:",
            on_click=_rename,
            args=(store, name),
        )
    with duplicate_column.form(DUPLICATE_FORM):
        st.text_input(
            "Name of the copy", key=DUPLICATE_NAME_KEY, max_chars=80, placeholder=f"{name} (copy)"
        )
        st.form_submit_button(
            DUPLICATE_BUTTON,
            icon=":material/content_copy:",
            on_click=_duplicate,
            args=(store, name),
        )
    if st.session_state.get(CONFIRM_DELETE_KEY) == name:
        st.warning(
            f"Delete “{name}” and its list of {segment.customers:,} members? This cannot be "
            "undone; target lists exported from it keep their own copy.",
            icon=":material/warning:",
        )
        with st.container(horizontal=True):
            st.button(
                "Yes, delete",
                type="primary",
                key=DELETE_YES_KEY,
                on_click=_delete,
                args=(store, name),
            )
            st.button("Cancel", key=DELETE_NO_KEY, on_click=_cancel_delete)
    else:
        st.button(
            "Delete…", icon=":material/delete:", key=DELETE_KEY, on_click=_ask_delete, args=(name,)
        )


def render_rfm(store: Store, db: str, data_version: int, currency: str | None) -> None:
    """The 5 × 5 R × F grid, the named segments with their value, and save-as-segment."""
    grid = cached_rfm_grid(store, db, data_version)
    named = cached_rfm_segments(store, db, data_version)
    options = cached_options(store, db, data_version)
    st.markdown(RFM_EXPLAINED)
    st.subheader(
        "Customers by R and F score",
        help="Counts per cell; hover a cell for its share of customers and revenue.",
    )
    st.plotly_chart(
        charts.rfm_grid_figure(grid, currency or ""), width="stretch", key="segments.rfm.grid"
    )
    show_sql(RFM_GRID_SQL, label="Show the grid's SQL")

    st.subheader("Named segments")
    table = named[
        [
            "segment",
            "customers",
            "share",
            "revenue",
            "revenue_share",
            "revenue_per_customer",
            "predicted_cltv_per_customer",
            "meaning",
        ]
    ].copy()
    table["share"] = table["share"] * 100
    table["revenue_share"] = table["revenue_share"] * 100
    money = "accounting"
    cltv_column: Any = st.column_config.NumberColumn(
        "Avg predicted CLTV",
        format=money,
        help="Average predicted CLTV of the segment's customers (latest model run).",
    )
    if not options.scored:
        table["predicted_cltv_per_customer"] = NOT_FITTED
        cltv_column = st.column_config.TextColumn(
            "Avg predicted CLTV", help="Fit the models on the Customer value page."
        )
    st.dataframe(
        table,
        hide_index=True,
        key="segments.rfm.table",
        height="content",
        column_config={
            "segment": st.column_config.TextColumn("Segment"),
            "customers": st.column_config.NumberColumn("Customers", format="localized"),
            "share": st.column_config.NumberColumn(
                "Share", format="%.1f%%", help="Of all customers.", width="small"
            ),
            "revenue": st.column_config.NumberColumn("Revenue to date", format=money),
            "revenue_share": st.column_config.NumberColumn(
                "Revenue share", format="%.1f%%", help="Of all customers' revenue."
            ),
            "revenue_per_customer": st.column_config.NumberColumn(
                "Avg revenue", format=money, help="Average revenue to date per customer."
            ),
            "predicted_cltv_per_customer": cltv_column,
            "meaning": st.column_config.TextColumn("What it means"),
        },
    )

    st.subheader(
        "Save a named segment",
        help="Creates a saved segment with the rule “RFM segment is one of <name>”; "
        "its members follow the scores after every import.",
    )
    if not can_edit():
        editor_only_note("save segments")
        return
    _show_error("rfm")
    saved_names = {s.name for s in cached_segments(store, db, data_version)}
    with st.container(horizontal=True):
        for row in named.itertuples(index=False):
            target = rfm_save_name(str(row.segment))
            exists = target in saved_names
            st.button(
                str(row.segment),
                icon=":material/check:" if exists else ":material/bookmark_add:",
                key=f"{RFM_SAVE_PREFIX}{row.segment}",
                disabled=exists or row.customers == 0,
                help=f"Saved as “{target}”."
                if exists
                else (
                    "No customer is in this segment now."
                    if row.customers == 0
                    else f"Save as “{target}” ({row.customers:,} customers)."
                ),
                on_click=_save_rfm,
                args=(store, str(row.segment), str(row.meaning)),
            )


def _p_text(p: float) -> str:
    if pd.isna(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _signed(text: str) -> str:
    return text.replace("-", "−", 1) if text.startswith("-") else text


def test_sentence(row: Any, currency: str | None, level: float, tests: int) -> str:
    """One pairwise test in plain words (a row of ``Comparison.tests``)."""
    name, base = _escape(str(row.name)), _escape(str(row.baseline_name))
    if row.metric == "repeat_rate":
        what = "Repeat rate"
        values = f"{name} {fmt.share(row.value)} vs {base} {fmt.share(row.baseline_value)}"

        def shown(v: float, unit: bool = True) -> str:
            return _signed(f"{100 * v:+.1f}") + (" points" if unit else "")
    else:
        what = "Average order value"
        values = (
            f"{name} {fmt.money(row.value, currency)} vs {base} "
            f"{fmt.money(row.baseline_value, currency)}"
        )

        def shown(v: float, unit: bool = True) -> str:
            return ("+" if v >= 0 else "−") + fmt.money(abs(v), currency if unit else None)

    if pd.isna(row.p_value):
        return f"**{what}**: {values}. Not tested: a group has too few customers or orders."
    interval = (
        f" ({level:.0%} interval {shown(row.ci_low, False)} to {shown(row.ci_high, False)})"
        if pd.notna(row.ci_low) and pd.notna(row.ci_high)
        else ""
    )
    verdict = "unlikely to be chance" if bool(row.significant) else "could be chance"
    return (
        f"**{what}**: {values}, a difference of {shown(row.difference)}{interval}; "
        f"{_p_text(row.p_value)}, adjusted for {tests} tests {_p_text(row.p_value_holm)}: "
        f"**{verdict}**."
    )


def compare_table(stats_frame: pd.DataFrame, cltv: pd.DataFrame, scored: bool) -> pd.DataFrame:
    """One row per segment: size, shares, AOV, repeat rate, predicted CLTV and its interval."""
    table = pd.DataFrame(
        {
            "name": stats_frame["name"].astype(str),
            "customers": stats_frame["customers"],
            "customer_share": stats_frame["customer_share"] * 100,
            "revenue_share": stats_frame["revenue_share"] * 100,
            "aov": stats_frame["aov"],
            "repeat_rate": stats_frame["repeat_rate"] * 100,
        }
    )
    if scored:
        table["cltv"] = cltv["predicted_cltv_per_customer"].to_numpy()
        table["cltv_interval"] = [
            "–" if pd.isna(lo) or pd.isna(hi) else f"{lo:,.2f} – {hi:,.2f}"
            for lo, hi in zip(
                cltv["predicted_cltv_per_customer_low"],
                cltv["predicted_cltv_per_customer_high"],
                strict=True,
            )
        ]
    else:
        table["cltv"] = NOT_FITTED
        table["cltv_interval"] = NOT_FITTED
    return table


def render_compare(store: Store, db: str, data_version: int, currency: str | None) -> None:
    """Two to four saved segments side by side, with tests of their differences."""
    segments = cached_segments(store, db, data_version)
    if len(segments) < 2:
        empty_state(
            "Comparing needs at least two saved segments. Save them on the **Build** tab, or "
            "save named RFM segments on the **RFM** tab."
        )
        return
    ids = {s.name: s.segment_id for s in segments}
    names = list(ids)
    # Widget state is dropped while the tab is closed; the choice is kept beside it.
    remembered = st.session_state.get(COMPARE_PICK_KEY, st.session_state.get(COMPARE_CHOSEN_KEY))
    st.session_state[COMPARE_PICK_KEY] = [n for n in remembered or [] if n in ids]
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    picked = left.multiselect(
        "Segments to compare",
        names,
        key=COMPARE_PICK_KEY,
        max_selections=MAX_SEGMENTS,
        placeholder="Choose two to four segments",
        help="Segments may overlap; a customer in two segments counts in both.",
    )
    st.session_state[COMPARE_CHOSEN_KEY] = picked
    if len(picked) < 2:
        empty_state("Choose two to four saved segments to compare.")
        return
    if st.session_state.get(COMPARE_BASELINE_KEY) not in picked:
        st.session_state[COMPARE_BASELINE_KEY] = picked[0]
    baseline = right.selectbox(
        "Test against",
        picked,
        key=COMPARE_BASELINE_KEY,
        help="Each other segment is tested against this one.",
    )
    chosen_ids = tuple(ids[n] for n in picked)
    comparison = cached_comparison(store, db, data_version, chosen_ids, ids[baseline])
    cltv = cached_segment_cltv(store, db, data_version, chosen_ids)
    scored = cltv["scored_customers"].sum() > 0 and cltv["predicted_cltv"].notna().any()
    interval = cltv.attrs.get("interval") or 0.8
    level = 1 - comparison.alpha

    for warning in (*comparison.warnings, *cltv.attrs.get("warnings", ())):
        st.warning(warning, icon=":material/warning:")

    st.subheader("Side by side")
    money = "accounting"
    st.dataframe(
        compare_table(comparison.stats, cltv, bool(scored)),
        hide_index=True,
        key="segments.compare.table",
        height="content",
        column_config={
            "name": st.column_config.TextColumn("Segment"),
            "customers": st.column_config.NumberColumn(
                "Customers", format="localized", help="Members with a counted order."
            ),
            "customer_share": st.column_config.NumberColumn(
                "Share of customers", format="%.1f%%", help="Members / all customers."
            ),
            "revenue_share": st.column_config.NumberColumn(
                "Revenue share",
                format="%.1f%%",
                help="Members' revenue to date / all customers' revenue.",
            ),
            "aov": st.column_config.NumberColumn(
                "AOV", format=money, help="Average order value: revenue / orders."
            ),
            "repeat_rate": st.column_config.NumberColumn(
                "Repeat rate", format="%.1f%%", help="Share of members with two or more orders."
            ),
            "cltv": st.column_config.NumberColumn(
                "Predicted CLTV / customer",
                format=money,
                help="Over the model horizon, from the latest model run.",
            )
            if scored
            else st.column_config.TextColumn("Predicted CLTV / customer"),
            "cltv_interval": st.column_config.TextColumn(
                f"{interval:.0%} interval",
                help="From the uncertainty of the fitted parameters (draws), not the "
                "randomness of single customers.",
            ),
        },
    )

    st.subheader(
        "Differences",
        help="Repeat rate: Agresti-Caffo test with a Newcomb interval. AOV: Welch's t-test on "
        "order values (orders of one customer are alike, so read its p-value as a guide). "
        "p-values are also adjusted with Holm's method for the number of tests; a difference "
        f"is called unlikely to be chance when the adjusted p is below {comparison.alpha:g}.",
    )
    for row in comparison.tests.itertuples(index=False):
        st.markdown("- " + test_sentence(row, currency, level, len(comparison.tests)))

    st.subheader(
        "Retention by month since the first order",
        help="Share of each segment's customers with an order in the k-th month after the "
        "month of their first order, among those observed that long. Whiskers: 95% "
        "intervals.",
    )
    curves = cached_curves(store, db, data_version, chosen_ids)
    st.plotly_chart(
        charts.retention_curves_figure(curves), width="stretch", key="segments.compare.curves"
    )
    if scored:
        st.subheader(
            "Predicted CLTV per customer",
            help=f"Dots: the estimate; whiskers: the {interval:.0%} interval from parameter "
            "uncertainty.",
        )
        st.plotly_chart(
            charts.cltv_interval_figure(cltv, currency or "", interval),
            width="stretch",
            key="segments.compare.cltv",
        )
    else:
        st.caption(f"Predicted CLTV: {NOT_FITTED}. Fit the models on the Customer value page.")
