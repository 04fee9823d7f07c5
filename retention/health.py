"""Data health: empty values per column, duplicate keys, date coverage per table.

Identifiers come from the contracts in ``schema``; nothing here takes user text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from retention.schema import CANONICAL_TABLES, quote_ident, table

if TYPE_CHECKING:
    from retention.store import Store

__all__ = ["column_nulls", "duplicate_keys", "date_coverage", "DATE_COLUMNS"]

DATE_COLUMNS: dict[str, str] = {
    "orders": "ordered_at",
    "customers": "signup_at",
    "traffic_daily": "date",
    "marketing_spend": "date",
}
"""The column whose span is the table's coverage."""


def column_nulls(store: Store, table_name: str) -> pd.DataFrame:
    """Per column: rows, empty values and their share. One scan of the table."""
    contract = table(table_name)
    selects = ", ".join(
        f"count(*) - count({quote_ident(c)}) AS {quote_ident(c)}" for c in contract.column_names
    )
    row = store.query(
        f"SELECT count(*) AS _rows, {selects} FROM {quote_ident(contract.name)}"  # noqa: S608
    ).iloc[0]
    rows = int(row["_rows"])
    out = pd.DataFrame(
        {
            "column": list(contract.column_names),
            "required": [c.required for c in contract.columns],
            "empty": [int(row[c]) for c in contract.column_names],
        }
    )
    out["empty_share"] = out["empty"] / rows if rows else 0.0
    out.insert(1, "rows", rows)
    return out


def duplicate_keys(store: Store, table_name: str) -> int:
    """Rows beyond the first for each key (0 when the load path did its job)."""
    contract = table(table_name)
    if not contract.key:
        return 0
    key = ", ".join(quote_ident(k) for k in contract.key)
    return int(
        store.scalar(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM "  # noqa: S608
            f"{quote_ident(contract.name)} GROUP BY {key} HAVING count(*) > 1)"
        )
    )


def date_coverage(store: Store) -> pd.DataFrame:
    """Per canonical table with a date column: rows, first and last day, days with rows and
    the share of days in the span that have data (gaps show as a share below 1)."""
    frames = []
    for name in CANONICAL_TABLES:
        column = DATE_COLUMNS.get(name)
        if column is None:
            continue
        col = quote_ident(column)
        frames.append(
            store.query(
                f"SELECT ? AS table_name, count(*) AS rows, CAST(min({col}) AS DATE) AS first_day, "  # noqa: S608
                f"CAST(max({col}) AS DATE) AS last_day, "
                f"count(DISTINCT CAST({col} AS DATE)) AS days_with_rows "
                f"FROM {quote_ident(name)}",
                [name],
            )
        )
    out = pd.concat(frames, ignore_index=True)
    span = (pd.to_datetime(out["last_day"]) - pd.to_datetime(out["first_day"])).dt.days + 1
    out["days_in_span"] = span.fillna(0).astype("int64")
    out["coverage"] = (out["days_with_rows"] / out["days_in_span"]).where(out["days_in_span"] > 0)
    return out
