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
period_days AS (
    SELECT period_index, period_start, period_end,
           CAST(unnest(generate_series(period_start, period_end - INTERVAL 1 DAY,
                                       INTERVAL 1 DAY)) AS DATE) AS day
    FROM periods
),
fo AS (
    SELECT f.*, f.order_date - CAST(f.days_since_previous AS INTEGER) AS previous_order_date
    FROM order_facts AS f
    WHERE """
    + ORDER_FILTER_SQL.format(alias="f")
    + """),
po AS (
    SELECT d.period_index, d.period_start, d.period_end, o.*
    FROM fo AS o
    JOIN period_days AS d ON o.order_date = d.day
),
fc AS (SELECT * FROM customer_summary AS c WHERE """
    + CUSTOMER_FILTER_SQL.format(alias="c")
    + ")"
)
"""Shared CTEs: ``periods`` (index, start inclusive, end exclusive, both at midnight),
``period_days`` (one row per period and day in it), ``fo`` (with ``previous_order_date``, the
day of the customer's previous counted order, NULL for first orders and guests), ``po`` (the
rows of ``fo`` with the period each falls in) and ``fc``.

Distinct customers with an order in a window of days [a, b) are counted as orders in it whose
previous order is before a (or absent): each customer has exactly one such order, the first in
the window. This needs no count(DISTINCT) and no grouping by customer.

Orders are matched to periods by an equality join on their day (``order_date = day``), not by
``ordered_at >= period_start AND ordered_at < period_end``: the range join costs several
times a scan of the orders at millions of rows, the hash join on a few hundred days about one
(bench/results/pages.md). The two are the same because periods start and end at midnight,
which :func:`period_params` checks."""

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
    """The ``periods`` parameters; raises ValueError for a bound that is not at midnight."""
    for p in periods:
        for bound in (p.start, p.end):
            if (bound.hour, bound.minute, bound.second, bound.microsecond) != (0, 0, 0, 0):
                raise ValueError(
                    f"period {p.index} bound {bound} is not at midnight; periods are whole days"
                )
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
