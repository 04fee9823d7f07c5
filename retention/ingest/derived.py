"""Derived tables, rebuilt inside the transaction of every load.

``customer_summary`` has one row per customer with at least one counted order (completed or
refunded; DESIGN.md "Definitions"). Guest orders (no customer_id) are not customers. Ties on
the first order's timestamp are broken by order_id so the result never depends on row order.
The first and second orders are found by numbering each customer's orders once (one window)
rather than with one ordered aggregate per column, each of which sorts the orders again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retention.store import Transaction

__all__ = [
    "CUSTOMER_SUMMARY_SQL",
    "ORDER_FACTS_SQL",
    "COHORT_ACTIVITY_SQL",
    "SPEND_DAILY_SQL",
    "refresh_derived",
]

CUSTOMER_SUMMARY_SQL = """
CREATE OR REPLACE TABLE customer_summary AS
WITH counted AS (
    SELECT order_id, customer_id, ordered_at, revenue, discount_amount, status, channel,
           coupon_code,
           row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS n
    FROM orders
    WHERE customer_id IS NOT NULL AND status IN ('completed', 'refunded')
),
per_customer AS (
    SELECT customer_id,
           min(ordered_at) AS first_order_at,
           max(ordered_at) AS last_order_at,
           count(*) AS orders,
           sum(revenue) AS revenue,
           sum(discount_amount) AS discount_amount,
           count(*) FILTER (WHERE status = 'refunded') AS refunded_orders,
           any_value(order_id) FILTER (WHERE n = 1) AS first_order_id,
           any_value(ordered_at) FILTER (WHERE n = 2) AS second_order_at,
           any_value(revenue) FILTER (WHERE n = 1) AS first_order_revenue,
           any_value(coupon_code) FILTER (WHERE n = 1) AS first_coupon_code,
           any_value(channel) FILTER (WHERE n = 1) AS first_order_channel
    FROM counted
    GROUP BY customer_id
),
cancelled AS (
    SELECT customer_id, count(*) AS cancelled_orders
    FROM orders
    WHERE customer_id IS NOT NULL AND status = 'cancelled'
    GROUP BY customer_id
),
first_category AS (
    SELECT i.order_id,
           first(i.category ORDER BY i.line_revenue DESC, i.category) AS category
    FROM order_items AS i
    SEMI JOIN per_customer AS p ON p.first_order_id = i.order_id
    WHERE i.category IS NOT NULL
    GROUP BY i.order_id
)
SELECT p.customer_id,
       p.first_order_at,
       p.last_order_at,
       p.second_order_at,
       p.orders,
       p.revenue,
       p.discount_amount,
       p.refunded_orders,
       coalesce(x.cancelled_orders, 0) AS cancelled_orders,
       p.first_order_revenue,
       p.first_coupon_code,
       coalesce(c.acquisition_channel, p.first_order_channel) AS first_channel,
       f.category AS first_category,
       c.country,
       c.email,
       coalesce(c.accepts_marketing, false) AS accepts_marketing,
       coalesce(c.loyalty_member, false) AS loyalty_member,
       CAST(date_trunc('week', p.first_order_at) AS DATE) AS cohort_week,
       CAST(date_trunc('month', p.first_order_at) AS DATE) AS cohort_month,
       CAST(date_trunc('quarter', p.first_order_at) AS DATE) AS cohort_quarter
FROM per_customer AS p
LEFT JOIN cancelled AS x USING (customer_id)
LEFT JOIN customers AS c USING (customer_id)
LEFT JOIN first_category AS f ON f.order_id = p.first_order_id
"""


ORDER_FACTS_SQL = """
CREATE OR REPLACE TABLE order_facts AS
SELECT o.order_id,
       o.customer_id,
       o.ordered_at,
       CAST(o.ordered_at AS DATE) AS order_date,
       o.revenue,
       o.discount_amount,
       o.status,
       o.channel,
       o.coupon_code,
       o.currency,
       o.customer_id IS NULL AS is_guest,
       CASE WHEN o.customer_id IS NOT NULL THEN row_number() OVER w END AS order_number,
       CASE WHEN o.customer_id IS NOT NULL THEN
           date_diff('day', CAST(lag(o.ordered_at) OVER w AS DATE), CAST(o.ordered_at AS DATE))
       END AS days_since_previous,
       cs.first_order_at,
       cs.first_channel,
       cs.country,
       cs.first_category,
       cs.first_coupon_code IS NOT NULL AS first_order_coupon,
       cs.cohort_week,
       cs.cohort_month,
       cs.cohort_quarter
FROM orders AS o
LEFT JOIN customer_summary AS cs USING (customer_id)
WHERE o.status IN ('completed', 'refunded')
WINDOW w AS (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id)
"""
"""One row per counted order (guests included, with NULL customer columns), carrying the
customer's cohort keys and acquisition attributes, its rank among the customer's orders
(``order_number``, 1 = first) and the days since the customer's previous order. Pages aggregate
this instead of joining orders to customers on every query."""


COHORT_ACTIVITY_SQL = "CREATE OR REPLACE TABLE cohort_activity AS\n" + "\nUNION ALL\n".join(
    f"""SELECT customer_id,
       '{g}' AS grain,
       CAST(date_trunc('{g}', first_order_at) AS DATE) AS cohort_start,
       CAST(date_diff('{g}', CAST(date_trunc('{g}', first_order_at) AS DATE),
                      CAST(date_trunc('{g}', ordered_at) AS DATE)) AS BIGINT) AS period_index,
       CAST(count(*) AS BIGINT) AS orders,
       CAST(sum(revenue) AS DECIMAL(18, 4)) AS revenue,
       any_value(first_channel) AS first_channel,
       any_value(country) AS country,
       any_value(first_category) AS first_category,
       any_value(first_order_coupon) AS first_order_coupon
FROM order_facts
WHERE customer_id IS NOT NULL
GROUP BY customer_id, cohort_start, period_index"""  # noqa: S608 - g is one of three literals
    for g in ("week", "month", "quarter")
)
"""One row per customer, cohort grain and period in which the customer ordered, with the
customer's attributes. A cohort matrix is then a plain count per (cohort, period) over this
table: no count(DISTINCT customer_id) over the orders and no join to the customers, which at
millions of orders is where the time went (bench/results/pages.md)."""


SPEND_DAILY_SQL = """
CREATE OR REPLACE TABLE spend_daily AS
WITH kind AS (
    SELECT channel, bool_and(day(date) = 1) AND count(DISTINCT date) = count(*) AS monthly
    FROM marketing_spend
    GROUP BY channel
)
SELECT CAST(d.day AS DATE) AS date, s.channel,
       s.spend / (date_diff('day', s.date, CAST(s.date + INTERVAL 1 MONTH AS DATE))) AS spend
FROM marketing_spend AS s
JOIN kind AS k USING (channel)
CROSS JOIN LATERAL (
    SELECT unnest(generate_series(s.date, CAST(s.date + INTERVAL 1 MONTH AS DATE)
                                  - INTERVAL 1 DAY, INTERVAL 1 DAY)) AS day
) AS d
WHERE k.monthly
UNION ALL
SELECT s.date, s.channel, s.spend
FROM marketing_spend AS s
JOIN kind AS k USING (channel)
WHERE NOT k.monthly
"""
"""Spend per day and channel. A channel whose rows all fall on the first of a month is
monthly spend: each month's amount is spread evenly over its days, so spend can be matched to
any window of days (CAC over the last 30 days, say). Other channels' rows are daily as given."""


def refresh_derived(tx: Transaction) -> None:
    """Rebuild every derived table from the canonical ones, inside the caller's transaction."""
    tx.execute(CUSTOMER_SUMMARY_SQL)
    tx.execute(ORDER_FACTS_SQL)
    tx.execute(COHORT_ACTIVITY_SQL)
    tx.execute(SPEND_DAILY_SQL)
    # Segments read the derived tables: their attributes first, then every saved segment.
    from retention.segments.attributes import refresh_attributes
    from retention.segments.saved import refresh_members

    refresh_attributes(tx)
    refresh_members(tx)
