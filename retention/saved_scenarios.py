"""Saved scenarios in the DuckDB file: a name, the kind, the segment, the inputs and the result
summary when it was saved (JSON). Saving never re-simulates; opening a saved scenario loads its
inputs, and the page simulates them against the current data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from retention.models.rfm_sql import Queryable
from retention.segments.saved import clean_name

__all__ = [
    "SavedScenario",
    "ScenarioError",
    "delete_scenario",
    "get_scenario",
    "list_scenarios",
    "save_scenario",
]

Kind = Literal["discount", "loyalty"]


class ScenarioError(ValueError):
    """A scenario operation that cannot be done, with a message a user can act on."""


@dataclass(frozen=True)
class SavedScenario:
    scenario_id: int
    name: str
    kind: Kind
    segment_name: str
    inputs: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def _from_row(row: pd.Series) -> SavedScenario:
    result = row["result"]
    return SavedScenario(
        scenario_id=int(row["scenario_id"]),
        name=str(row["name"]),
        kind=row["kind"],
        segment_name=str(row["segment_name"]),
        inputs=json.loads(row["inputs"]),
        result=None if result is None or pd.isna(result) else json.loads(result),
        created_at=pd.Timestamp(row["created_at"]).to_pydatetime(),
        updated_at=pd.Timestamp(row["updated_at"]).to_pydatetime(),
    )


def list_scenarios(db: Queryable) -> list[SavedScenario]:
    """Every saved scenario, by name."""
    frame = db.query("SELECT * FROM scenarios ORDER BY lower(name), scenario_id")
    return [_from_row(row) for _, row in frame.iterrows()]


def get_scenario(db: Queryable, name: str) -> SavedScenario:
    frame = db.query("SELECT * FROM scenarios WHERE name = $name", {"name": clean_name(name)})
    if frame.empty:
        known = ", ".join(s.name for s in list_scenarios(db)) or "none saved yet"
        raise ScenarioError(f"No scenario is called {name!r}; saved scenarios: {known}.")
    return _from_row(frame.iloc[0])


def _json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, default=str)
    except ValueError as error:
        raise ScenarioError(f"The scenario cannot be saved: {error}.") from None


def save_scenario(
    store: Any,
    name: str,
    kind: Kind,
    segment_name: str,
    inputs: dict[str, Any],
    result: dict[str, Any] | None = None,
    *,
    replace: bool = False,
) -> SavedScenario:
    """Save (or with ``replace``, overwrite) a scenario under ``name``."""
    if kind not in ("discount", "loyalty"):
        raise ScenarioError(f"A scenario is a discount or a loyalty one, not {kind!r}.")
    name = clean_name(name)
    now = datetime.now(UTC).replace(tzinfo=None)
    values = {
        "name": name,
        "kind": kind,
        "segment": str(segment_name),
        "inputs": _json(inputs),
        "result": None if result is None else _json(result),
        "now": now,
    }
    with store.transaction() as tx:
        existing = tx.scalar("SELECT scenario_id FROM scenarios WHERE name = $name", {"name": name})
        if existing is not None and not replace:
            raise ScenarioError(
                f"A scenario called {name!r} exists already; choose another name or replace it."
            )
        if existing is not None:
            tx.execute(
                "UPDATE scenarios SET kind = $kind, segment_name = $segment, inputs = $inputs, "
                "result = $result, updated_at = $now WHERE name = $name",
                values,
            )
        else:
            new_id = int(tx.scalar("SELECT coalesce(max(scenario_id), 0) + 1 FROM scenarios"))
            tx.execute(
                "INSERT INTO scenarios VALUES ($id, $name, $kind, $segment, $inputs, $result, "
                "$now, $now)",
                {**values, "id": new_id},
            )
    return get_scenario(store, name)


def delete_scenario(store: Any, name: str) -> None:
    scenario = get_scenario(store, name)
    with store.transaction() as tx:
        tx.execute("DELETE FROM scenarios WHERE scenario_id = $id", {"id": scenario.scenario_id})
