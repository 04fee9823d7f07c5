"""Headline counts of the data and what the filters can choose from.

Definitions (DESIGN.md): a customer is a distinct customer_id with at least one counted order
(completed or refunded); counted orders exclude cancelled ones; revenue is the sum of counted
orders' revenue (net of discounts and refunds); guest orders count in orders and revenue but not
in customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import pandas as pd

from retention.filters import DATE_FILTER_SQL, ORDER_FILTER_SQL, UNKNOWN, Filters
from retention.metrics.registry import bind
from retention.schema import CANONICAL_TABLES, TABLES

if TYPE_CHECKING:
    from retention.store import Store

__all__ = [
    "HeadlineCounts",
    "headline_counts",
    "filter_options",
    "present_tables",
    "HEADLINE_SQL",
]

HEADLINE_SQL = (
    """
SELECT count(*) FILTER (
           WHERE NOT f.is_guest
             AND (f.days_since_previous IS NULL
                  OR f.order_date - CAST(f.days_since_previous AS INTEGER) < $start)
       ) AS customers,
       count(*) AS orders,
       count(*) FILTER (WHERE f.is_guest) AS guest_orders,
       coalesce(sum(f.revenue), 0) AS revenue,
       min(f.ordered_at) AS first_order_at,
       max(f.ordered_at) AS last_order_at,
       count(DISTINCT f.currency) AS currencies,
       min(f.currency) AS currency
FROM order_facts AS f
WHERE """
    + ORDER_FILTER_SQL.format(alias="f")
    + " AND "
    + DATE_FILTER_SQL.format(alias="f")
)
"""Counted orders (order_facts holds completed and refunded ones) under the filters.

Customers are counted as the orders that are their customer's first in the date range (no
previous order, or one before ``$start``; ADR 0010): the same number as count(DISTINCT
customer_id), without hashing millions of ids on every page's sidebar."""


@dataclass(frozen=True)
class HeadlineCounts:
    customers: int
    orders: int
    guest_orders: int
    revenue: float
    first_order_at: datetime | None
    last_order_at: datetime | None
    currencies: int = 0
    """Distinct currency codes among the orders (amounts are never converted)."""
    currency: str | None = None
    """The currency code when there is exactly one, else None."""

    @property
    def aov(self) -> float | None:
        """Average order value = revenue / counted orders."""
        return self.revenue / self.orders if self.orders else None


def headline_counts(store: Store, filters: Filters = Filters()) -> HeadlineCounts:
    """Customers, counted orders, guest orders, revenue, the order date range, currencies."""
    row = store.query(HEADLINE_SQL, bind(HEADLINE_SQL, filters.named_params())).iloc[0]

    def ts(value: object) -> datetime | None:
        return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()

    return HeadlineCounts(
        customers=int(row["customers"]),
        orders=int(row["orders"]),
        guest_orders=int(row["guest_orders"]),
        revenue=float(row["revenue"]),
        first_order_at=ts(row["first_order_at"]),
        last_order_at=ts(row["last_order_at"]),
        currencies=int(row["currencies"]),
        currency=row["currency"] if int(row["currencies"]) == 1 else None,
    )


@dataclass(frozen=True)
class FilterOptions:
    first_day: date | None
    last_day: date | None
    channels: tuple[str, ...]
    countries: tuple[str, ...]


def filter_options(store: Store) -> FilterOptions:
    """The date span of orders and the channels and countries customers have."""
    span = store.query(
        "SELECT CAST(min(ordered_at) AS DATE) AS lo, CAST(max(ordered_at) AS DATE) AS hi "
        "FROM orders"
    ).iloc[0]
    values = store.query(
        "SELECT 'channel' AS kind, coalesce(first_channel, ?) AS value FROM customer_summary "
        "UNION SELECT 'country', coalesce(country, ?) FROM customer_summary ORDER BY 1, 2",
        [UNKNOWN, UNKNOWN],
    )

    def day(value: object) -> date | None:
        return None if pd.isna(value) else pd.Timestamp(value).date()

    return FilterOptions(
        first_day=day(span["lo"]),
        last_day=day(span["hi"]),
        channels=tuple(values.loc[values["kind"] == "channel", "value"]),
        countries=tuple(values.loc[values["kind"] == "country", "value"]),
    )


def present_tables(store: Store) -> dict[str, int]:
    """Row count of each canonical table (0 when the optional table was never imported)."""
    counts = store.table_counts().set_index("table")["rows"]
    return {name: int(counts.get(name, 0)) for name in CANONICAL_TABLES if name in TABLES}
