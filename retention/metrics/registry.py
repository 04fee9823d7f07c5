"""The metric registry: one declarative record per metric, and the one way to compute it.

A metric's SQL is a static text with named parameters only (``$period_start``, ``$channels``,
``$inactivity_days`` ...). It starts after :data:`PRELUDE`, which every metric shares and which
turns the filters and the list of periods into the CTEs ``periods``, ``fo`` (filtered counted
orders from ``order_facts``) and ``fc`` (filtered customers from ``customer_summary``). A
metric returns one row per period: ``period_index`` and ``value`` (NULL where undefined).
Pages, the CLI and exports read metrics from :data:`REGISTRY`, so a number is defined once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from retention.filters import CUSTOMER_FILTER_SQL, ORDER_FILTER_SQL, Filters
from retention.metrics.periods import Period

if TYPE_CHECKING:
    from retention.store import Store

__all__ = ["Metric", "REGISTRY", "register", "metric", "PRELUDE", "full_sql", "compute", "bind"]

Unit = Literal["count", "money", "share", "ratio", "months", "days"]

PRELUDE = (
    """WITH periods AS (
    SELECT unnest($period_index) AS period_index,
           CAST(unnest($period_start) AS TIMESTAMP) AS period_start,
           CAST(unnest($period_end) AS TIMESTAMP) AS period_end
),
fo AS (SELECT * FROM order_facts AS f WHERE """
    + ORDER_FILTER_SQL.format(alias="f")
    + """),
fc AS (SELECT * FROM customer_summary AS c WHERE """
    + CUSTOMER_FILTER_SQL.format(alias="c")
    + ")"
)
"""Shared CTEs: ``periods`` (index, start inclusive, end exclusive), ``fo``, ``fc``."""

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Metric:
    """A metric: what it means, how it is computed, how it is shown.

    ``sql`` continues :data:`PRELUDE` (it starts with ``, name AS (...)`` or ``SELECT``) and
    returns ``period_index, value`` for every row of ``periods``.
    """

    name: str
    label: str
    definition: str
    formula: str
    unit: Unit
    sql: str
    grain: str = "period"
    higher_is_better: bool | None = True
    requires: tuple[str, ...] = ("orders",)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    note_when_missing: str = ""

    def help_text(self) -> str:
        """Hover help: the definition, then the formula."""
        return f"{self.definition}\n\nFormula: {self.formula}"


REGISTRY: dict[str, Metric] = {}


def register(m: Metric) -> Metric:
    if m.name in REGISTRY:
        raise ValueError(f"metric {m.name!r} is registered twice")
    REGISTRY[m.name] = m
    return m


def metric(name: str) -> Metric:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def full_sql(m: Metric) -> str:
    """The complete statement that computes ``m`` (what the UI shows under "SQL")."""
    return f"{PRELUDE}\n{m.sql.strip()}"


def bind(sql: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the named parameters the statement uses (DuckDB rejects extra ones)."""
    names = set(_PARAM.findall(sql))
    missing = names - set(values)
    if missing:
        raise KeyError(f"missing parameters: {', '.join(sorted(missing))}")
    return {name: values[name] for name in names}


def period_params(periods: Sequence[Period]) -> dict[str, Any]:
    return {
        "period_index": [p.index for p in periods],
        "period_start": [p.start for p in periods],
        "period_end": [p.end for p in periods],
    }


def compute(
    store: Store,
    m: Metric,
    periods: Sequence[Period],
    filters: Filters = Filters(),
    **params: Any,
) -> pd.DataFrame:
    """``period_index, value`` for each period, in period order. Values may be NULL (NaN)."""
    if not periods:
        return pd.DataFrame({"period_index": [], "value": []})
    sql = full_sql(m)
    values = {**m.defaults, **filters.named_params(), **period_params(periods), **params}
    out = store.query(sql, bind(sql, values))
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    return out.sort_values("period_index").reset_index(drop=True)
