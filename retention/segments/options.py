"""What a segment builder can offer per attribute: the values present and typical numbers.

Two SELECTs over all customers (aggregated in DuckDB); identifiers come only from the
attribute allow-list, no user values are involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from retention.models.rfm_sql import Queryable
from retention.schema import quote_ident
from retention.segments.attributes import ATTRIBUTES, CUSTOMER_ATTRIBUTES_SQL, RFM_SEGMENT_ORDER

__all__ = ["AttributeOptions", "attribute_options"]


@dataclass(frozen=True)
class AttributeOptions:
    """What the builder offers per attribute: values present, and typical numbers and dates."""

    categories: dict[str, tuple[str, ...]]
    """Distinct values of each category attribute (RFM segments in their usual order)."""
    numbers: dict[str, tuple[float, float, float] | None]
    """Lower quartile, median and upper quartile of each number attribute (None: all empty)."""
    dates: dict[str, tuple[date, date, date] | None]
    """First, median and last value of each date attribute."""
    scored: bool
    """Whether the latest model run has scores (predicted CLTV, P(alive), churn risk)."""


def _of_kind(kind: str) -> list[str]:
    return [name for name, a in ATTRIBUTES.items() if a.kind == kind]


def _typical_sql() -> str:
    """Quartiles of every number attribute, first/median/last of every date one, one row."""
    parts = [
        f"quantile_cont({quote_ident(n)}, [0.25, 0.5, 0.75]) AS {quote_ident(n)}"
        for n in _of_kind("number")
    ]
    parts += [
        f"quantile_disc({quote_ident(n)}, [0.0, 0.5, 1.0]) AS {quote_ident(n)}"
        for n in _of_kind("date")
    ]
    select = ", ".join(parts)
    # Identifiers from the allow-list only (quote_ident); no values.
    select_sql = f"SELECT {select}, count(predicted_cltv) AS scored FROM customer_attributes"  # noqa: S608
    return CUSTOMER_ATTRIBUTES_SQL + select_sql


def _categories_sql() -> str:
    """Each category attribute's distinct values, one row per (attribute, value)."""
    names = _of_kind("category")
    inner = ", ".join(f"CAST({quote_ident(n)} AS VARCHAR) AS {quote_ident(n)}" for n in names)
    on = ", ".join(quote_ident(n) for n in names)
    columns = f"(SELECT {inner} FROM customer_attributes)"  # noqa: S608
    unpivot = f"{columns} ON {on} INTO NAME attribute VALUE value"
    select_sql = f"SELECT attribute, value, count(*) AS customers FROM (UNPIVOT {unpivot})"  # noqa: S608
    return CUSTOMER_ATTRIBUTES_SQL + select_sql + " GROUP BY ALL ORDER BY attribute, value"


def _triple(value: Any, convert: Any) -> Any:
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)) or len(value) != 3:
        return None
    return tuple(convert(v) for v in value)


def attribute_options(db: Queryable) -> AttributeOptions:
    """The builder's choices, read once per data version (two SELECTs over all customers)."""
    typical = db.query(_typical_sql()).iloc[0]
    values = db.query(_categories_sql())
    categories = {
        name: tuple(values.loc[values["attribute"] == name, "value"].astype(str))
        for name in _of_kind("category")
    }
    present = set(categories.get("rfm_segment", ()))
    categories["rfm_segment"] = tuple(s for s in RFM_SEGMENT_ORDER if s in present)
    return AttributeOptions(
        categories=categories,
        numbers={n: _triple(typical[n], float) for n in _of_kind("number")},
        dates={n: _triple(typical[n], lambda v: pd.Timestamp(v).date()) for n in _of_kind("date")},
        scored=int(typical["scored"]) > 0,
    )
