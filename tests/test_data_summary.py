"""Headline counts: typed-out values on the tiny shop; the filters' semantics."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from retention.data_summary import filter_options, headline_counts
from retention.filters import UNKNOWN, Filters
from retention.store import Store


def test_headline_counts_unfiltered(tiny_store: Store) -> None:
    c = headline_counts(tiny_store)
    assert c.customers == 2  # a and b; c has only a cancelled order; guests are not customers
    assert c.orders == 5  # o1 o2 o3(refunded) o5 o7(guest); o4 and o6 are cancelled
    assert c.guest_orders == 1
    assert c.revenue == pytest.approx(215.0)  # 100 + 50 + 20 + 30 + 15
    assert c.aov == pytest.approx(43.0)  # 215 / 5
    assert c.first_order_at == datetime(2024, 1, 3, 10, 0)
    assert c.last_order_at == datetime(2024, 3, 10, 8, 0)


def test_channel_filter_selects_customers_by_acquisition_channel(tiny_store: Store) -> None:
    c = headline_counts(tiny_store, Filters(channels=("email",)))
    # a was acquired by email (customers table), so all of a's counted orders count,
    # including o2 and o3 placed through organic; the guest order drops out.
    assert (c.customers, c.orders, c.guest_orders) == (1, 3, 0)
    assert c.revenue == pytest.approx(170.0)


def test_country_filter(tiny_store: Store) -> None:
    c = headline_counts(tiny_store, Filters(countries=("US",)))
    assert (c.customers, c.orders, c.revenue) == (1, 1, pytest.approx(30.0))


def test_date_range_is_inclusive_of_whole_days(tiny_store: Store) -> None:
    feb = headline_counts(tiny_store, Filters(start=date(2024, 2, 1), end=date(2024, 2, 29)))
    assert (feb.orders, feb.customers, feb.revenue) == (2, 2, pytest.approx(80.0))  # o2, o5
    to_march_1 = headline_counts(tiny_store, Filters(end=date(2024, 3, 1)))
    assert to_march_1.orders == 4  # o3 at 09:00 on March 1 is inside


def test_filter_options(tiny_store: Store) -> None:
    o = filter_options(tiny_store)
    assert (o.first_day, o.last_day) == (date(2024, 1, 3), date(2024, 3, 10))
    assert o.channels == ("email", "social")
    assert o.countries == ("DE", "US")


def test_unknown_country_is_selectable(store: Store) -> None:
    from retention.ingest.load import load_frames
    from tests.conftest import frame

    load_frames(
        store,
        {
            "orders": frame(
                "orders",
                [{"order_id": "1", "customer_id": "x", "ordered_at": "2024-01-01", "revenue": 5.0}],
            )
        },
        source_name="t",
    )
    assert filter_options(store).countries == (UNKNOWN,)
    assert headline_counts(store, Filters(countries=(UNKNOWN,))).orders == 1


def test_empty_store(store: Store) -> None:
    c = headline_counts(store)
    assert (c.customers, c.orders, c.revenue, c.aov, c.first_order_at) == (0, 0, 0.0, None, None)
    assert filter_options(store).first_day is None


def test_headline_customers_are_distinct_ids_for_any_date_range(tmp_path: Path) -> None:
    # Customers are counted as first orders in the range (ADR 0010); on the sample shop, with
    # ranges that cut through customers' histories, that equals count(DISTINCT customer_id).
    from retention.sample import build_sample_db

    path = build_sample_db(tmp_path / "s.duckdb", 800)
    with Store(path) as s:
        for start, end in [
            (None, None),
            (date(2025, 3, 1), None),
            (None, date(2025, 6, 30)),
            (date(2024, 11, 15), date(2025, 2, 3)),
            (date(2026, 1, 1), date(2026, 1, 1)),
        ]:
            flt = Filters(start=start, end=end)
            params = flt.named_params()
            want = s.scalar(
                "SELECT count(DISTINCT customer_id) FROM order_facts "
                "WHERE ($start IS NULL OR ordered_at >= $start) "
                "AND ($end IS NULL OR ordered_at < $end)",
                {"start": params["start"], "end": params["end"]},
            )
            assert headline_counts(s, flt).customers == want, (start, end)
