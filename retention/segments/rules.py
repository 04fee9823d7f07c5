"""Segment rules: AND/OR groups of conditions on customer attributes, and their SQL.

A rule set is JSON like

    {"op": "and", "rules": [
        {"attribute": "recency_days", "operator": ">", "value": 90},
        {"op": "or", "rules": [
            {"attribute": "country", "operator": "in", "value": ["US", "CA"]},
            {"attribute": "loyalty_member", "operator": "is_true"}]}]}

Safety (DESIGN.md): attribute names must be in ``ATTRIBUTES`` and become identifiers only
through that allow-list; operators come from a fixed table of SQL templates; every value is a
bound parameter (``$p0``, ``$p1`` ...) after being checked and converted to its type. Nothing a
user types is ever spliced into SQL text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from retention.schema import quote_ident
from retention.segments.attributes import ATTRIBUTES, CUSTOMER_ATTRIBUTES_SQL, Attribute

__all__ = [
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "OPERATORS",
    "Condition",
    "Group",
    "RuleError",
    "compile_rules",
    "members_sql",
    "parse_rules",
]

MAX_DEPTH = 4
MAX_CONDITIONS = 50
MAX_TEXT = 200
MAX_LIST = 500

Operator = Literal[
    "=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in",
    "is_true", "is_false", "is_empty", "is_not_empty", "on_or_after", "before",
]  # fmt: skip

OPERATORS: dict[str, tuple[str, ...]] = {
    "number": ("=", "!=", "<", "<=", ">", ">=", "between", "is_empty", "is_not_empty"),
    "category": ("in", "not_in", "is_empty", "is_not_empty"),
    "bool": ("is_true", "is_false"),
    "date": ("on_or_after", "before", "between", "is_empty", "is_not_empty"),
}
"""Which operators each attribute kind allows."""

OPERATOR_LABELS: dict[str, str] = {
    "=": "equals", "!=": "is not", "<": "is less than", "<=": "is at most",
    ">": "is more than", ">=": "is at least", "between": "is between", "in": "is one of",
    "not_in": "is none of", "is_true": "is yes", "is_false": "is no",
    "is_empty": "is empty", "is_not_empty": "is not empty",
    "on_or_after": "is on or after", "before": "is before",
}  # fmt: skip


class RuleError(ValueError):
    """A rule set that cannot be used, with a message a user can act on."""


def _shown(value: Any) -> str:
    """90.0 → 90, 0.25 → 0.25, dates as ISO, text as it is."""
    if isinstance(value, float):
        return f"{value:g}"
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass(frozen=True)
class Condition:
    """One test on one attribute."""

    attribute: str
    operator: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attribute": self.attribute, "operator": self.operator}
        if self.value is not None:
            out["value"] = (
                [v.isoformat() if isinstance(v, date) else v for v in self.value]
                if isinstance(self.value, list | tuple)
                else self.value.isoformat()
                if isinstance(self.value, date)
                else self.value
            )
        return out

    def describe(self) -> str:
        a = ATTRIBUTES[self.attribute]
        op = OPERATOR_LABELS[self.operator]
        if self.value is None:
            return f"{a.label} {op}"
        if isinstance(self.value, list | tuple):
            joiner = " and " if self.operator == "between" else ", "
            return f"{a.label} {op} {joiner.join(_shown(v) for v in self.value)}"
        return f"{a.label} {op} {_shown(self.value)}"


@dataclass(frozen=True)
class Group:
    """Conditions and sub-groups joined by AND or OR. An empty group matches everyone."""

    op: Literal["and", "or"] = "and"
    rules: tuple[Condition | Group, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "rules": [r.to_dict() for r in self.rules]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    def describe(self) -> str:
        """Plain words: "Days since last order is more than 90 and (Country is one of US)"."""
        if not self.rules:
            return "All customers"
        parts = [
            r.describe() if isinstance(r, Condition) else f"({r.describe()})" for r in self.rules
        ]
        return f" {self.op} ".join(parts)


# --- parsing and checking -----------------------------------------------------------------


def _number(value: Any, where: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleError(f"{where}: enter a number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise RuleError(f"{where}: {value!r} is not a number") from None
    number = float(value)
    if not math.isfinite(number):
        raise RuleError(f"{where}: the number must be finite, not {value!r}")
    return number


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RuleError(f"{where}: {value!r} is not a text value")
    text = str(value)
    if len(text) > MAX_TEXT:
        raise RuleError(f"{where}: a value is longer than {MAX_TEXT} characters")
    if "\x00" in text:
        raise RuleError(f"{where}: a value contains a NUL character")
    return text


def _day(value: Any, where: str) -> date:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleError(f"{where}: pick a date")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise RuleError(f"{where}: {value!r} is not a date; write YYYY-MM-DD") from None


def _check_value(a: Attribute, operator: str, value: Any, where: str) -> Any:
    if operator in ("is_true", "is_false", "is_empty", "is_not_empty"):
        return None
    if operator == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise RuleError(f"{where}: 'between' needs two values, [low, high]")
        convert = _day if a.kind == "date" else _number
        low, high = (convert(v, where) for v in value)
        if low > high:
            raise RuleError(f"{where}: the low end {low} is above the high end {high}")
        return [low, high]
    if operator in ("in", "not_in"):
        values = value if isinstance(value, list | tuple) else [value]
        if not values:
            raise RuleError(f"{where}: choose at least one value")
        if len(values) > MAX_LIST:
            raise RuleError(f"{where}: at most {MAX_LIST} values")
        return [_text(v, where) for v in values]
    if a.kind == "date":
        return _day(value, where)
    return _number(value, where)


def _parse(node: Any, depth: int, count: list[int], where: str) -> Condition | Group:
    if not isinstance(node, dict):
        raise RuleError(f"{where}: expected an object, got {type(node).__name__}")
    if "rules" in node or "op" in node:
        if depth >= MAX_DEPTH:
            raise RuleError(f"{where}: groups may nest at most {MAX_DEPTH} deep")
        op = str(node.get("op", "and")).lower()
        if op not in ("and", "or"):
            raise RuleError(f"{where}: a group joins with 'and' or 'or', not {node.get('op')!r}")
        children = node.get("rules", [])
        if not isinstance(children, list):
            raise RuleError(f"{where}: 'rules' must be a list")
        return Group(
            op,  # type: ignore[arg-type]
            tuple(
                _parse(child, depth + 1, count, f"{where}.rules[{i}]")
                for i, child in enumerate(children)
            ),
        )
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        raise RuleError(f"a segment may have at most {MAX_CONDITIONS} conditions")
    name = node.get("attribute")
    if not isinstance(name, str) or name not in ATTRIBUTES:
        raise RuleError(
            f"{where}: unknown attribute {name!r}; choose one of: {', '.join(ATTRIBUTES)}"
        )
    a = ATTRIBUTES[name]
    operator = node.get("operator")
    if operator not in OPERATORS[a.kind]:
        raise RuleError(
            f"{where}: {a.label} allows the operators {', '.join(OPERATORS[a.kind])}, "
            f"not {operator!r}"
        )
    return Condition(name, operator, _check_value(a, operator, node.get("value"), where))


def parse_rules(rules: str | dict[str, Any] | Group) -> Group:
    """A checked rule set from JSON text or a dict; RuleError says what is wrong and where."""
    if isinstance(rules, Group):
        rules = rules.to_dict()
    if isinstance(rules, str):
        try:
            rules = json.loads(rules)
        except json.JSONDecodeError as error:
            raise RuleError(f"the rules are not valid JSON: {error.msg} (at {error.pos})") from None
    node = _parse(rules, 0, [0], "rules")
    return node if isinstance(node, Group) else Group("and", (node,))


# --- SQL ----------------------------------------------------------------------------------

_TEMPLATES: dict[str, str] = {
    "=": "{col} = {p}",
    "!=": "({col} IS NULL OR {col} <> {p})",
    "<": "{col} < {p}",
    "<=": "{col} <= {p}",
    ">": "{col} > {p}",
    ">=": "{col} >= {p}",
    "between": "{col} BETWEEN {p} AND {q}",
    "in": "list_contains({p}, CAST({col} AS VARCHAR))",
    "not_in": "({col} IS NULL OR NOT list_contains({p}, CAST({col} AS VARCHAR)))",
    "is_true": "{col} IS TRUE",
    "is_false": "{col} IS NOT TRUE",
    "is_empty": "{col} IS NULL",
    "is_not_empty": "{col} IS NOT NULL",
    "on_or_after": "{col} >= {p}",
    "before": "{col} < {p}",
}


def _compile(node: Condition | Group, params: dict[str, Any]) -> str:
    if isinstance(node, Group):
        if not node.rules:
            return "TRUE"
        joiner = " AND " if node.op == "and" else " OR "
        return "(" + joiner.join(_compile(r, params) for r in node.rules) + ")"
    col = quote_ident(ATTRIBUTES[node.attribute].name)
    p = f"$p{len(params)}"
    if node.operator == "between":
        low, high = node.value
        params[p[1:]] = low
        q = f"$p{len(params)}"
        params[q[1:]] = high
        return "(" + _TEMPLATES["between"].format(col=col, p=p, q=q) + ")"
    if node.value is not None:
        params[p[1:]] = list(node.value) if isinstance(node.value, list | tuple) else node.value
    return "(" + _TEMPLATES[node.operator].format(col=col, p=p) + ")"


def compile_rules(rules: Group) -> tuple[str, dict[str, Any]]:
    """(condition on ``customer_attributes``, named parameters)."""
    params: dict[str, Any] = {}
    return _compile(rules, params), params


def members_sql(rules: Group, columns: str = "customer_id") -> tuple[str, dict[str, Any]]:
    """A full SELECT of ``columns`` of the customers matching ``rules``, and its parameters.
    ``columns`` must be a constant of the caller, never user input."""
    condition, params = compile_rules(rules)
    select = f"SELECT {columns} FROM customer_attributes WHERE {condition}"  # noqa: S608
    sql = CUSTOMER_ATTRIBUTES_SQL + select
    return sql, params
