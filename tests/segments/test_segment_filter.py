"""The sidebar's segment filter: every metric sees only the members of the saved segment."""

from __future__ import annotations

from datetime import date

import pytest

from retention.filters import Filters
from retention.metrics import REGISTRY, compute, trailing_periods
from retention.metrics.cohorts import dimension_values
from retention.metrics.value import value_by, value_totals
from retention.segments.saved import save_segment
from retention.store import Store
from tests.segments.test_rules import one, shop  # noqa: F401 (fixture)

# The whole half-year 2026-01-01 .. 2026-06-30 as one period.
HALF_YEAR = trailing_periods(date(2026, 6, 30), 181, 1)


def kpi(store: Store, name: str, filters: Filters) -> float:
    return float(compute(store, REGISTRY[name], HALF_YEAR, filters)["value"].iloc[0])


def test_kpis_count_only_members(shop: Store) -> None:  # noqa: F811
    save_segment(shop, "Lapsed", one("recency_days", ">", 30))  # b and d
    lapsed = Filters(segment="Lapsed")
    assert kpi(shop, "customers", lapsed) == 2
    assert kpi(shop, "orders", lapsed) == 2  # b's o3, d's o7
    assert kpi(shop, "revenue", lapsed) == 65.0  # 40 + 25
    assert kpi(shop, "customers", Filters()) == 5
    # Segment and country together: b is CA, d has no country.
    assert kpi(shop, "customers", Filters(segment="Lapsed", countries=("CA",))) == 1
    assert dimension_values(shop, "country", lapsed) == ["(unknown)", "CA"]


def test_customer_value_under_a_segment(shop: Store) -> None:  # noqa: F811
    save_segment(shop, "Frequent", one("orders", ">=", 2))  # a (2 orders) and c (3)
    totals = value_totals(shop, 1, Filters(segment="Frequent"))
    # predicted CLTV from the stored scores: a 80 + c 300; revenue 150 + 600; no intervals.
    assert totals["customers"] == 2
    assert totals["predicted_cltv"] == 380.0 and totals["historical_revenue"] == 750.0
    assert totals["predicted_cltv_low"] != totals["predicted_cltv_low"]  # NaN
    by = value_by(shop, 1, "first_channel", Filters(segment="Frequent")).set_index("group")
    assert by["predicted_cltv"].to_dict() == {"email": 80.0, "organic": 300.0}


def test_unknown_segment_matches_nobody(shop: Store) -> None:  # noqa: F811
    assert kpi(shop, "customers", Filters(segment="No such segment")) == 0


@pytest.mark.parametrize(
    "params",
    [{"segment": "Lapsed"}, {"segment": "Größte Kunden 🙂", "country": "US"}],
)
def test_segment_in_the_url(params: dict[str, str]) -> None:
    filters = Filters.from_query_params(params)
    assert filters.segment == params["segment"]
    assert filters.to_query_params()["segment"] == params["segment"]
    assert filters.narrows_customers
    assert Filters.from_query_params({"segment": "  "}).segment is None
