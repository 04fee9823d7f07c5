"""Overview KPIs on the tiny shop, values typed out by hand; invariants with Hypothesis.

The tiny shop (tests/conftest.py), counted orders only:
  o1 a 2024-01-03 10:00 100 (first order of a; a acquired by email, DE)
  o2 a 2024-02-10 12:00  50
  o3 a 2024-03-01 09:00  20 refunded (counts)
  o5 b 2024-02-20 08:00  30 (first and only order of b; social, US)
  o7 guest 2024-03-10    15
Cancelled o4 (a) and o6 (c) never count. Periods are the calendar months Mar (index 0),
Feb (1) and Jan (2) of 2024.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention.filters import Filters
from retention.ingest.load import load_frames
from retention.metrics import REGISTRY, calendar_periods, compute, trailing_periods
from retention.metrics.kpis import KPI_NAMES, kpi_series
from retention.store import Store
from tests.conftest import frame

MONTHS = calendar_periods(date(2024, 1, 1), date(2024, 3, 31), "month")  # Mar, Feb, Jan


@pytest.fixture
def kpi_store(tiny_store: Store) -> Store:
    load_frames(
        tiny_store,
        {
            "traffic_daily": frame(
                "traffic_daily",
                [
                    {
                        "date": "2024-02-10",
                        "channel": "email",
                        "device": "desktop",
                        "sessions": 100,
                    },
                    {"date": "2024-03-10", "channel": "email", "device": "desktop", "sessions": 50},
                ],
            ),
            "marketing_spend": frame(
                "marketing_spend",
                [
                    {"date": "2024-01-01", "channel": "email", "spend": 31.0},  # 1 a day in Jan
                    {"date": "2024-02-01", "channel": "social", "spend": 58.0},  # 2 a day in Feb
                ],
            ),
        },
        source_name="kpi extras",
        replace=False,
    )
    return tiny_store


def values(store: Store, name: str, filters: Filters = Filters(), **params: object) -> list:
    """Mar, Feb, Jan values; NaN becomes None so expectations can say 'undefined'."""
    out = compute(store, REGISTRY[name], MONTHS, filters, **params)["value"].tolist()
    return [None if isinstance(v, float) and math.isnan(v) else v for v in out]


def test_periods_are_latest_first() -> None:
    assert [p.start.month for p in MONTHS] == [3, 2, 1]


EXPECTED = {
    # Mar: a (o3); the guest order is not a customer. Feb: a and b. Jan: a.
    "customers": [1, 2, 1],
    # first orders: a in Jan, b in Feb
    "new_customers": [0, 1, 1],
    # a ordered in Feb and Mar after a first order in Jan
    "returning_customers": [1, 1, 0],
    # Mar: o3 + guest o7; Feb: o2, o5; Jan: o1
    "orders": [2, 2, 1],
    "revenue": [35.0, 80.0, 100.0],
    # revenue / orders: 35/2, 80/2, 100/1
    "aov": [17.5, 40.0, 100.0],
    # acquired by the end: Jan a (one order then) -> 0; Feb, Mar: a repeated, b did not -> 1/2
    "repeat_purchase_rate": [0.5, 0.5, 0.0],
    # Mar: previous 31 days [Jan 30, Mar 1) had a and b, only a ordered in Mar -> 1/2.
    # Feb: previous 29 days [Jan 3, Feb 1) had a, who ordered in Feb -> 1. Jan: nobody before.
    "retention_rate": [0.5, 1.0, None],
    # Mar: orders 2 (guest included) / 50 sessions; Feb: 2 / 100; Jan: no sessions
    "conversion_rate": [0.04, 0.02, None],
    # revenue of customers before the end / customers acquired by then:
    # Mar (100+50+20+30)/2, Feb (100+50+30)/2, Jan 100/1
    "historical_cltv": [100.0, 90.0, 100.0],
    # spend / new customers: Feb 58/1 (b), Jan 31/1 (a); Mar: no spend and no new customers
    "cac": [None, 58.0, 31.0],
    # historical CLTV / CAC: Feb 90/58, Jan 100/31
    "ltv_cac": [None, 90 / 58, 100 / 31],
    # Jan cohort (a): 100 in month 0 >= CAC 31 -> 0. Feb cohort (b): 30 < 58, never -> undefined
    "payback_months": [None, None, 0.0],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_kpi_on_tiny_shop(kpi_store: Store, name: str) -> None:
    got = values(kpi_store, name)
    want = EXPECTED[name]
    assert [g is None for g in got] == [w is None for w in want], (name, got)
    assert [g for g in got if g is not None] == pytest.approx([w for w in want if w is not None])


def test_churn_rate_with_a_40_day_threshold(kpi_store: Store) -> None:
    # Mar: active at Mar 1 = an order in [Jan 21, Mar 1): a (Feb 10), b (Feb 20).
    #      active at Apr 1 = an order in [Feb 21, Apr 1): a (Mar 1) yes, b no -> 1 of 2 churned.
    # Feb: active at Feb 1: a (Jan 3); a ordered Feb 10, inside [Jan 20, Mar 1) -> 0 of 1.
    # Jan: nobody ordered in the 40 days before Jan 1 -> undefined.
    assert values(kpi_store, "churn_rate", inactivity_days=40) == [0.5, 0.0, None]


def test_channel_filter_selects_acquisition_channel(kpi_store: Store) -> None:
    email = Filters(channels=("email",))
    # only customer a: Mar o3, Feb o2, Jan o1; the guest order drops out
    assert values(kpi_store, "orders", email) == [1, 1, 1]
    assert values(kpi_store, "revenue", email) == [20.0, 50.0, 100.0]
    # email spend only exists in Jan: 31 / 1 new customer (a)
    assert values(kpi_store, "cac", email) == [None, None, 31.0]
    # sessions have no acquisition channel: conversion is not defined under the filter
    assert values(kpi_store, "conversion_rate", email) == [None, None, None]


def test_margin_scales_ltv_cac_and_delays_payback(kpi_store: Store) -> None:
    # At a 25% margin: Feb 90 × 0.25 / 58, Jan 100 × 0.25 / 31.
    assert values(kpi_store, "ltv_cac", margin=0.25) == pytest.approx([None, 22.5 / 58, 25 / 31])
    # Jan cohort (a): margin 25 in month 0 < CAC 31; month 1 (Feb 10, 50 → 12.5) makes 37.5
    # ≥ 31 -> paid back in month 1.
    assert values(kpi_store, "payback_months", margin=0.25) == [None, None, 1.0]


def test_country_filter_turns_spend_metrics_off(kpi_store: Store) -> None:
    assert values(kpi_store, "cac", Filters(countries=("US",))) == [None, None, None]


def test_new_plus_returning_is_customers(kpi_store: Store) -> None:
    new = values(kpi_store, "new_customers")
    returning = values(kpi_store, "returning_customers")
    assert [n + r for n, r in zip(new, returning, strict=True)] == values(kpi_store, "customers")


def test_every_kpi_has_definition_formula_and_unit() -> None:
    for name in KPI_NAMES:
        m = REGISTRY[name]
        assert m.definition.endswith(".") and len(m.definition) > 20, name
        assert m.formula and m.unit, name


def test_kpi_series_is_long_and_complete(kpi_store: Store) -> None:
    s = kpi_series(kpi_store, MONTHS, inactivity_days=40)
    assert len(s) == len(KPI_NAMES) * 3
    assert set(s["metric"]) == set(KPI_NAMES)


ORDER = st.fixed_dictionaries(
    {
        "customer": st.sampled_from(["a", "b", "c", "d", None]),
        "day": st.integers(min_value=0, max_value=120),
        "revenue": st.floats(min_value=0, max_value=500, allow_nan=False).map(
            lambda x: round(x, 2)
        ),
        "status": st.sampled_from(["completed", "completed", "refunded", "cancelled"]),
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(orders=st.lists(ORDER, min_size=1, max_size=25), seed=st.integers(0, 10_000))
def test_rates_in_unit_interval_and_order_free(
    tmp_path_factory: pytest.TempPathFactory, orders: list[dict], seed: int
) -> None:
    rows = [
        {
            "order_id": f"x{i}",
            "customer_id": o["customer"],
            "ordered_at": pd.Timestamp("2024-01-01") + pd.Timedelta(days=o["day"], hours=i % 24),
            "revenue": o["revenue"],
            "status": o["status"],
            "channel": "email",
        }
        for i, o in enumerate(orders)
    ]
    periods = calendar_periods(date(2024, 1, 1), date(2024, 4, 30), "month")
    results = []
    for order in (rows, pd.DataFrame(rows).sample(frac=1, random_state=seed).to_dict("records")):
        path = tmp_path_factory.mktemp("h") / "h.duckdb"
        with Store(path) as s:
            load_frames(s, {"orders": frame("orders", order)}, source_name="h")
            results.append(kpi_series(s, periods, inactivity_days=30))
    a, b = results
    pd.testing.assert_frame_equal(a, b)  # shuffling input rows changes nothing
    shares = a[a["metric"].map(lambda n: REGISTRY[n].unit == "share")]["value"].dropna()
    assert ((shares >= 0) & (shares <= 1)).all()


def _customers_in(counted: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> set[str]:
    at = counted["ordered_at"]
    return set(counted.loc[(at >= start) & (at < end), "customer_id"])


def _by_definition(rows: list[dict], periods: list, n: int) -> dict[tuple[str, int], float]:
    """Customers, new, returning, retention and churn per period, from the definitions with
    Python sets (no SQL, no shortcuts), for the equivalence test below."""
    orders = pd.DataFrame(rows)
    counted = orders[orders["status"].isin(["completed", "refunded"])]
    counted = counted[counted["customer_id"].notna()]
    first = counted.groupby("customer_id")["ordered_at"].min()
    out: dict[tuple[str, int], float] = {}
    days = pd.Timedelta(days=n)
    for p in periods:
        s, e = pd.Timestamp(p.start), pd.Timestamp(p.end)
        length = e - s
        now = _customers_in(counted, s, e)
        out["customers", p.index] = len(now)
        out["new_customers", p.index] = sum(s <= first[c] < e for c in now)
        out["returning_customers", p.index] = sum(first[c] < s for c in now)
        before = _customers_in(counted, s - length, s)
        out["retention_rate", p.index] = len(before & now) / len(before) if before else math.nan
        active = _customers_in(counted, s - days, s)
        still = _customers_in(counted, e - days, e)
        out["churn_rate", p.index] = len(active - still) / len(active) if active else math.nan
    return out


SAME_DAY_ORDER = st.fixed_dictionaries(
    {
        "customer": st.sampled_from(["a", "b", "c", "d", "e", None]),
        "day": st.integers(min_value=0, max_value=200),
        "hour": st.integers(min_value=0, max_value=23),
        "status": st.sampled_from(["completed", "completed", "refunded", "cancelled"]),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    orders=st.lists(SAME_DAY_ORDER, min_size=1, max_size=40),
    n=st.sampled_from([1, 7, 20, 31, 45, 90, 120]),
    grain=st.sampled_from(["week", "month", "quarter", "trailing-30", "trailing-90"]),
)
def test_customer_counts_and_rates_match_the_definitions(
    tmp_path_factory: pytest.TempPathFactory, orders: list[dict], n: int, grain: str
) -> None:
    # The SQL counts distinct customers as first orders in a window (previous order before
    # it) and churn as a difference of two such counts when N covers the period; thresholds
    # shorter than the period take flags per customer. Both must equal the set definitions,
    # including several orders on one day, guests and cancelled orders.
    rows = [
        {
            "order_id": f"x{i}",
            "customer_id": o["customer"],
            "ordered_at": pd.Timestamp("2024-01-01") + pd.Timedelta(days=o["day"], hours=o["hour"]),
            "revenue": 10.0,
            "status": o["status"],
            "channel": "email",
        }
        for i, o in enumerate(orders)
    ]
    if grain.startswith("trailing"):
        periods = trailing_periods(date(2024, 7, 19), int(grain.split("-")[1]), 4)
    else:
        periods = calendar_periods(date(2024, 2, 1), date(2024, 7, 19), grain)
    with Store(tmp_path_factory.mktemp("d") / "d.duckdb") as s:
        load_frames(s, {"orders": frame("orders", rows)}, source_name="d")
        names = ["customers", "new_customers", "returning_customers", "retention_rate"]
        got = kpi_series(s, periods, names=[*names, "churn_rate"], inactivity_days=n)
    want = _by_definition(rows, periods, n)
    for row in got.itertuples():
        expected = want[row.metric, row.period_index]
        if math.isnan(expected):
            assert math.isnan(row.value), (row.metric, row.period_index)
        else:
            assert row.value == pytest.approx(expected), (row.metric, row.period_index, grain, n)
