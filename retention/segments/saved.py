"""Saved segments in the DuckDB file: save, rename, duplicate, delete, list, preview.

A saved segment is a name, a description and its rules (``segments``); its members
(``segment_members``) are recomputed whenever they can change: when it is saved, after every
import (with the derived tables) and after every model refit (scores feed the rules). Pages and
exports read the members; they never re-evaluate rules on the fly.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from retention.models.rfm_sql import Queryable
from retention.segments.attributes import CUSTOMER_ATTRIBUTES_SQL
from retention.segments.rules import Group, compile_rules, members_sql, parse_rules

__all__ = [
    "MAX_NAME",
    "Segment",
    "SegmentError",
    "SegmentPreview",
    "delete_segment",
    "duplicate_segment",
    "get_segment",
    "list_segments",
    "preview",
    "refresh_members",
    "save_segment",
    "update_segment",
]

MAX_NAME = 80


class SegmentError(ValueError):
    """A segment operation that cannot be done, with a message a user can act on."""


@dataclass(frozen=True)
class Segment:
    segment_id: int
    name: str
    description: str
    rules: Group
    created_at: datetime
    updated_at: datetime
    customers: int


def clean_name(name: str) -> str:
    """The name as stored: NFC, trimmed; 1 to MAX_NAME characters, no control characters."""
    text = unicodedata.normalize("NFC", str(name)).strip()
    if not text:
        raise SegmentError("A segment needs a name.")
    if len(text) > MAX_NAME:
        raise SegmentError(f"A segment name has at most {MAX_NAME} characters.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text):
        raise SegmentError("A segment name cannot contain control characters.")
    return text


_LIST_SQL = """
SELECT s.segment_id, s.name, s.description, s.rules, s.created_at, s.updated_at,
       (SELECT count(*) FROM segment_members AS m WHERE m.segment_id = s.segment_id)
           AS customers
FROM segments AS s
"""


def _from_row(row: pd.Series) -> Segment:
    return Segment(
        segment_id=int(row["segment_id"]),
        name=str(row["name"]),
        description=str(row["description"] or ""),
        rules=parse_rules(row["rules"]),
        created_at=pd.Timestamp(row["created_at"]).to_pydatetime(),
        updated_at=pd.Timestamp(row["updated_at"]).to_pydatetime(),
        customers=int(row["customers"]),
    )


def list_segments(db: Queryable) -> list[Segment]:
    """Every saved segment, by name."""
    frame = db.query(_LIST_SQL + " ORDER BY lower(s.name), s.segment_id")
    return [_from_row(row) for _, row in frame.iterrows()]


def get_segment(db: Queryable, name: str) -> Segment:
    """The segment called ``name``; SegmentError lists the saved names when there is none."""
    frame = db.query(_LIST_SQL + " WHERE s.name = $name", {"name": clean_name(name)})
    if frame.empty:
        names = [s.name for s in list_segments(db)]
        known = ", ".join(names) if names else "none saved yet"
        raise SegmentError(f"No segment is called {name!r}; saved segments: {known}.")
    return _from_row(frame.iloc[0])


def _exists(tx: Any, name: str) -> bool:
    return bool(tx.scalar("SELECT count(*) FROM segments WHERE name = $name", {"name": name}))


def _fill_members(tx: Any, segment_id: int, rules: Group) -> None:
    tx.execute("DELETE FROM segment_members WHERE segment_id = $id", {"id": segment_id})
    sql, params = members_sql(rules, f"{int(segment_id)} AS segment_id, customer_id")
    tx.execute(f"INSERT INTO segment_members {sql}", params)  # noqa: S608 (built from constants)


def refresh_members(tx: Any) -> None:
    """Recompute the members of every saved segment (inside the caller's transaction).

    Rules read ``segment_attributes`` (rebuilt by every load) and the latest model scores.
    A no-op while the file predates segments (an older file being migrated step by step)."""
    present = tx.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'segments'"
    )
    if not present:
        return
    for _, row in tx.query("SELECT segment_id, rules FROM segments").iterrows():
        _fill_members(tx, int(row["segment_id"]), parse_rules(row["rules"]))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def save_segment(
    store: Any, name: str, rules: str | dict[str, Any] | Group, description: str = ""
) -> Segment:
    """Save a new segment and compute its members; SegmentError if the name is taken."""
    name = clean_name(name)
    group = parse_rules(rules)
    with store.transaction() as tx:
        if _exists(tx, name):
            raise SegmentError(
                f"A segment called {name!r} exists already; choose another name or update it."
            )
        segment_id = int(tx.scalar("SELECT coalesce(max(segment_id), 0) + 1 FROM segments"))
        now = _now()
        tx.execute(
            "INSERT INTO segments VALUES ($id, $name, $description, $rules, $now, $now)",
            {
                "id": segment_id,
                "name": name,
                "description": str(description or "").strip(),
                "rules": group.to_json(),
                "now": now,
            },
        )
        _fill_members(tx, segment_id, group)
    return get_segment(store, name)


def update_segment(
    store: Any,
    name: str,
    *,
    rules: str | dict[str, Any] | Group | None = None,
    description: str | None = None,
    new_name: str | None = None,
) -> Segment:
    """Change a segment's rules, description or name (rename); members follow the rules."""
    current = get_segment(store, name)
    target = clean_name(new_name) if new_name is not None else current.name
    group = parse_rules(rules) if rules is not None else current.rules
    with store.transaction() as tx:
        if target != current.name and _exists(tx, target):
            raise SegmentError(f"A segment called {target!r} exists already.")
        tx.execute(
            "UPDATE segments SET name = $name, description = $description, rules = $rules, "
            "updated_at = $now WHERE segment_id = $id",
            {
                "id": current.segment_id,
                "name": target,
                "description": current.description if description is None else description,
                "rules": group.to_json(),
                "now": _now(),
            },
        )
        if rules is not None:
            _fill_members(tx, current.segment_id, group)
    return get_segment(store, target)


def duplicate_segment(store: Any, name: str, new_name: str) -> Segment:
    """A copy of ``name`` under ``new_name``, with the same rules and description."""
    current = get_segment(store, name)
    return save_segment(store, new_name, current.rules, current.description)


def delete_segment(store: Any, name: str) -> None:
    """Remove a segment and its members (past exports keep their own copy of the rules)."""
    current = get_segment(store, name)
    with store.transaction() as tx:
        tx.execute("DELETE FROM segment_members WHERE segment_id = $id", {"id": current.segment_id})
        tx.execute("DELETE FROM segments WHERE segment_id = $id", {"id": current.segment_id})


# --- preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentPreview:
    """What a rule set selects, before it is saved."""

    customers: int
    all_customers: int
    revenue: float
    all_revenue: float
    sample: pd.DataFrame

    @property
    def share(self) -> float:
        return self.customers / self.all_customers if self.all_customers else 0.0

    @property
    def revenue_share(self) -> float:
        return self.revenue / self.all_revenue if self.all_revenue else 0.0


PREVIEW_TOTALS_SQL = """
SELECT count(*) FILTER (WHERE {condition}) AS customers,
       count(*) AS all_customers,
       coalesce(sum(revenue) FILTER (WHERE {condition}), 0) AS revenue,
       coalesce(sum(revenue), 0) AS all_revenue
FROM customer_attributes
"""

PREVIEW_COLUMNS = (
    "customer_id, email, country, first_channel, orders, revenue, recency_days, "
    "rfm_segment, predicted_cltv, p_alive, churn_risk"
)


def preview(db: Queryable, rules: str | dict[str, Any] | Group, sample: int = 20) -> SegmentPreview:
    """Size, revenue share and a sample (highest revenue first) of the matching customers."""
    group = parse_rules(rules)
    condition, params = compile_rules(group)
    # The condition comes from compile_rules: allow-listed names and bound values only.
    select = PREVIEW_TOTALS_SQL.format(condition=condition)
    totals = db.query(CUSTOMER_ATTRIBUTES_SQL + select, params).iloc[0]
    sql, params = members_sql(group, PREVIEW_COLUMNS)
    rows = db.query(
        sql + " ORDER BY revenue DESC, customer_id LIMIT $limit", {**params, "limit": sample}
    )
    return SegmentPreview(
        customers=int(totals["customers"]),
        all_customers=int(totals["all_customers"]),
        revenue=float(totals["revenue"]),
        all_revenue=float(totals["all_revenue"]),
        sample=rows,
    )


def rules_json(group: Group) -> str:
    """The stored form of a rule set (sorted keys, so equal rules compare equal)."""
    return json.dumps(group.to_dict(), sort_keys=True, ensure_ascii=False)
