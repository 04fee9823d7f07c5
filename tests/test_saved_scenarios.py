"""Saved scenarios: save, replace, list, get, delete; bad input says what is wrong."""

from __future__ import annotations

import pytest

from retention.saved_scenarios import (
    ScenarioError,
    delete_scenario,
    get_scenario,
    list_scenarios,
    save_scenario,
)
from retention.store import Store

INPUTS = {"discount": 0.15, "reach": 0.6, "uplift_low": 0.05, "uplift_high": 0.2}


def test_round_trip(store: Store) -> None:
    saved = save_scenario(store, "Win-back 15%", "discount", "At risk", INPUTS, {"p_loss": 0.2})
    assert saved.inputs == INPUTS and saved.result == {"p_loss": 0.2}
    assert (saved.kind, saved.segment_name) == ("discount", "At risk")
    assert [s.name for s in list_scenarios(store)] == ["Win-back 15%"]
    with pytest.raises(ScenarioError, match="exists already"):
        save_scenario(store, "Win-back 15%", "discount", "At risk", INPUTS)
    changed = save_scenario(
        store, "Win-back 15%", "discount", "Lapsed", {**INPUTS, "discount": 0.2}, replace=True
    )
    assert changed.scenario_id == saved.scenario_id and changed.inputs["discount"] == 0.2
    assert changed.result is None
    delete_scenario(store, "Win-back 15%")
    assert list_scenarios(store) == []
    with pytest.raises(ScenarioError, match="none saved yet"):
        get_scenario(store, "Win-back 15%")


def test_bad_input(store: Store) -> None:
    with pytest.raises(ScenarioError, match="discount or a loyalty"):
        save_scenario(store, "X", "coupon", "All", INPUTS)  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="cannot be saved"):
        save_scenario(store, "X", "discount", "All", {"uplift": float("nan")})
    with pytest.raises(ValueError, match="needs a name"):
        save_scenario(store, " ", "loyalty", "All", INPUTS)
    assert store.row_count("scenarios") == 0
