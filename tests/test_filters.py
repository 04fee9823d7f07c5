"""Filters -> SQL and the URL round trip."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retention.filters import UNKNOWN, Filters


def test_empty_filters_are_true() -> None:
    assert Filters().order_clause().where == "TRUE"
    assert Filters().customer_clause().params == []


def test_order_clause_binds_every_value() -> None:
    flt = Filters(start=date(2024, 1, 1), end=date(2024, 1, 31), channels=("email",))
    clause = flt.order_clause("o")
    assert "?" in clause.where and "email" not in clause.where and "2024" not in clause.where
    # end is inclusive: the bound is the next midnight
    assert clause.params[:2] == [date(2024, 1, 1), date(2024, 2, 1)]
    assert clause.params[2:] == [["email"], UNKNOWN]


def test_start_after_end_is_an_error() -> None:
    with pytest.raises(ValueError, match="swap"):
        Filters(start=date(2024, 2, 1), end=date(2024, 1, 1))


def test_values_are_sorted_and_deduplicated() -> None:
    assert Filters(channels=("b", "a", "b")).channels == ("a", "b")


@given(
    channels=st.lists(
        st.text(alphabet=st.characters(blacklist_characters=","), min_size=1), max_size=4
    ),
    start=st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1))),
)
def test_query_params_round_trip(channels: list[str], start: date | None) -> None:
    flt = Filters(start=start, channels=tuple(channels))
    assert Filters.from_query_params(flt.to_query_params()) == flt


def test_malformed_query_params_are_ignored() -> None:
    flt = Filters.from_query_params({"start": "not-a-date", "end": "2024-01-01", "channel": ""})
    assert flt == Filters(end=date(2024, 1, 1))


def test_swapped_dates_in_a_link_are_swapped_back() -> None:
    flt = Filters.from_query_params({"start": "2024-02-01", "end": "2024-01-01"})
    assert (flt.start, flt.end) == (date(2024, 1, 1), date(2024, 2, 1))
