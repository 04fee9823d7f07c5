"""Filters -> SQL and the URL round trip."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retention.filters import (
    CUSTOMER_FILTER_SQL,
    DATE_FILTER_SQL,
    ORDER_FILTER_SQL,
    UNKNOWN,
    Filters,
)


def test_named_params_of_empty_filters_select_everything() -> None:
    p = Filters().named_params()
    assert p == {
        "start": None,
        "end": None,
        "channels": [],
        "countries": [],
        "segment": None,
        "unknown": UNKNOWN,
        "narrows_customers": False,
    }


def test_named_params_bind_every_value() -> None:
    flt = Filters(start=date(2024, 1, 1), end=date(2024, 1, 31), channels=("email",))
    p = flt.named_params()
    # the end day is inclusive: the bound is the next midnight
    assert (p["start"], p["end"]) == (date(2024, 1, 1), date(2024, 2, 1))
    assert p["channels"] == ["email"] and p["narrows_customers"] is True


def test_filter_sql_has_no_values_in_it() -> None:
    for sql in (CUSTOMER_FILTER_SQL, ORDER_FILTER_SQL, DATE_FILTER_SQL):
        text = sql.format(alias="x")
        assert "'" not in text and "$" in text


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
