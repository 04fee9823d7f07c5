"""Overview KPIs: one registry record each (definitions from DESIGN.md, "Definitions").

Every statement follows ``registry.PRELUDE`` and returns ``period_index, value`` for each
period [period_start, period_end). ``fo`` holds counted orders (completed or refunded; guests
included unless customers are filtered), ``fc`` the filtered customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from retention.filters import DATE_FILTER_SQL, Filters
from retention.metrics.periods import GRAINS, Grain, Period, trailing_periods
from retention.metrics.registry import PRELUDE, REGISTRY, Metric, bind, compute, register
from retention.metrics.tables import TableRequest, register_table

if TYPE_CHECKING:
    from retention.store import Store

__all__ = [
    "ACTIVITY_COUNTS_SQL",
    "WINDOW_CUSTOMERS_SQL",
    "KPI_NAMES",
    "DEFAULT_INACTIVITY_DAYS",
    "kpi_series",
    "revenue_new_vs_returning",
    "data_last_day",
]

DEFAULT_INACTIVITY_DAYS = 180
"""Fallback churn threshold; pages use the data-driven default from the churn module."""

_ORDERS_IN_PERIOD = """
, in_period AS (
    SELECT period_index, {value} AS value
    FROM po
    GROUP BY period_index
)
SELECT p.period_index, CASE WHEN i.period_index IS NULL THEN {empty} ELSE i.value END AS value
FROM periods AS p
LEFT JOIN in_period AS i USING (period_index)
ORDER BY p.period_index
"""
"""Aggregated per period first, then joined to the periods: joining the periods to the orders
with a LEFT JOIN builds the hash table on the orders (3x slower at 1M orders). ``empty`` is
the value of a period without orders."""


def _orders_in_period(value: str, empty: str = "0") -> str:
    return _ORDERS_IN_PERIOD.format(value=value, empty=empty)


FIRST_IN_PERIOD = "NOT po.is_guest AND coalesce(po.previous_order_date < po.period_start, true)"
"""A customer's first order in the period: one per customer who ordered in it (PRELUDE)."""

CUSTOMERS = register(
    Metric(
        name="customers",
        label="Customers",
        definition="Distinct customers with at least one counted order in the period. "
        "Guest orders are not customers.",
        formula="count(distinct customer_id) over counted orders in the period",
        unit="count",
        sql=_orders_in_period(f"count(po.order_id) FILTER (WHERE {FIRST_IN_PERIOD})"),
    )
)

NEW_CUSTOMERS = register(
    Metric(
        name="new_customers",
        label="New customers",
        definition="Customers whose first counted order falls in the period.",
        formula="count(distinct customer_id) where order_number = 1",
        unit="count",
        sql=_orders_in_period("count(po.order_id) FILTER (WHERE po.order_number = 1)"),
    )
)

RETURNING_CUSTOMERS = register(
    Metric(
        name="returning_customers",
        label="Returning customers",
        definition="Customers with a counted order in the period whose first order was "
        "earlier. New + returning = customers.",
        formula="count(distinct customer_id) where first_order_at < period start",
        unit="count",
        sql=_orders_in_period(
            "count(po.order_id) FILTER (WHERE po.previous_order_date < po.period_start)"
        ),
    )
)

ORDERS = register(
    Metric(
        name="orders",
        label="Orders",
        definition="Counted orders in the period: completed or refunded; cancelled orders "
        "are out. Guest orders count.",
        formula="count(order_id) over counted orders",
        unit="count",
        sql=_orders_in_period("count(po.order_id)"),
    )
)

REVENUE = register(
    Metric(
        name="revenue",
        label="Revenue",
        definition="Revenue of counted orders, net of discounts and refunds, before tax and "
        "shipping.",
        formula="sum(revenue) over counted orders",
        unit="money",
        sql=_orders_in_period("coalesce(sum(po.revenue), 0)"),
    )
)

AOV = register(
    Metric(
        name="aov",
        label="Average order value",
        definition="Revenue per counted order (guest orders included).",
        formula="sum(revenue) / count(order_id)",
        unit="money",
        sql=_orders_in_period("sum(po.revenue) / nullif(count(po.order_id), 0)", empty="NULL"),
    )
)

_ACQUIRED_BY_END = """
, acquired_by_day AS (
    SELECT CAST(first_order_at AS DATE) AS day, count(*) AS customers
    FROM fc
    GROUP BY ALL
),
acquired_by_end AS (
    SELECT p.period_index, sum(a.customers) AS customers
    FROM periods AS p
    JOIN acquired_by_day AS a ON a.day < p.period_end
    GROUP BY ALL
)"""
"""Customers acquired before each period's end. Customers are counted per day of their first
order first, so the range join runs over days, not customers (periods end at midnight, so
``day < period_end`` is ``first_order_at < period_end``)."""

_REVENUE_BY_END = """,
revenue_by_day AS (
    SELECT order_date AS day, sum(revenue) AS revenue
    FROM fo
    WHERE NOT is_guest
    GROUP BY ALL
),
revenue_by_end AS (
    SELECT p.period_index, sum(r.revenue) AS revenue
    FROM periods AS p
    JOIN revenue_by_day AS r ON r.day < p.period_end
    GROUP BY ALL
)"""
"""Customers' counted revenue before each period's end, summed per day first."""

REPEAT_PURCHASE_RATE = register(
    Metric(
        name="repeat_purchase_rate",
        label="Repeat purchase rate",
        definition="Of all customers acquired by the end of the period, the share who had "
        "placed two or more counted orders by then.",
        formula="count(second_order_at < end) / count(first_order_at < end)",
        unit="share",
        sql=_ACQUIRED_BY_END
        + """,
repeated_by_day AS (
    SELECT CAST(second_order_at AS DATE) AS day, count(*) AS customers
    FROM fc
    WHERE second_order_at IS NOT NULL
    GROUP BY ALL
),
repeated_by_end AS (
    SELECT p.period_index, sum(r.customers) AS customers
    FROM periods AS p
    JOIN repeated_by_day AS r ON r.day < p.period_end
    GROUP BY ALL
)
SELECT p.period_index,
       coalesce(r.customers, 0) / nullif(a.customers, 0) AS value
FROM periods AS p
LEFT JOIN acquired_by_end AS a USING (period_index)
LEFT JOIN repeated_by_end AS r USING (period_index)
ORDER BY p.period_index
""",
    )
)

RETENTION_RATE = register(
    Metric(
        name="retention_rate",
        label="Retention rate",
        definition="Of the customers who ordered in the previous period of equal length, the "
        "share who ordered again in this period.",
        formula="|ordered in previous ∩ ordered in period| / |ordered in previous|",
        unit="share",
        sql="""
, window_days AS (
    SELECT period_index,
           CAST(period_start - (period_end - period_start) AS DATE) AS previous_start,
           CAST(period_start AS DATE) AS start,
           CAST(unnest(generate_series(period_start - (period_end - period_start),
                                       period_end - INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE)
               AS day
    FROM periods
),
counts AS (
    SELECT w.period_index,
           count(*) FILTER (WHERE w.day < w.start
                            AND coalesce(fo.previous_order_date < w.previous_start, true))
               AS in_previous,
           count(*) FILTER (WHERE w.day >= w.start
                            AND coalesce(fo.previous_order_date < w.start, true))
               AS in_current,
           count(*) FILTER (WHERE coalesce(fo.previous_order_date < w.previous_start, true))
               AS in_either
    FROM fo
    JOIN window_days AS w ON fo.order_date = w.day
    WHERE NOT fo.is_guest
    GROUP BY w.period_index
)
SELECT p.period_index,
       (c.in_previous + c.in_current - c.in_either) / nullif(c.in_previous, 0) AS value
FROM periods AS p
LEFT JOIN counts AS c USING (period_index)
ORDER BY p.period_index
""",
    )
)

_N = "to_days(CAST($inactivity_days AS INTEGER))"

_DAYS = "CAST($inactivity_days AS INTEGER)"

WINDOW_CUSTOMERS_SQL = """,
widths AS (SELECT DISTINCT width FROM windows),
gaps AS (
    SELECT order_date AS day,
           least(coalesce(CAST(days_since_previous AS INTEGER), 2147483647),
                 (SELECT max(width) FROM widths)) AS gap,
           count(*) AS orders
    FROM fo
    WHERE NOT is_guest
    GROUP BY ALL
),
events AS (
    SELECT x.width, g.day - least(g.gap, x.width) + 1 AS day, g.orders AS delta
    FROM gaps AS g CROSS JOIN widths AS x
    UNION ALL
    SELECT x.width, g.day + 1, -g.orders
    FROM gaps AS g CROSS JOIN widths AS x
),
running AS (
    SELECT width, day, sum(sum(delta)) OVER (PARTITION BY width ORDER BY day) AS customers
    FROM events
    GROUP BY width, day
),
window_customers AS (
    SELECT w.period_index, w.kind, coalesce(r.customers, 0) AS customers
    FROM windows AS w
    ASOF LEFT JOIN running AS r ON w.width = r.width AND w.first_day >= r.day
)"""
"""Distinct customers with a counted order in each window of ``width`` days from
``first_day``, for a ``windows`` CTE (period_index, kind, first_day DATE, width INTEGER) that
the statement defines before this one.

Counted without grouping by customer: an order on day d whose customer's previous order was g
days earlier is the customer's first in the windows that start on days d − min(g, W) + 1 … d
(W the width), so it adds +1 at the first of those days and −1 after the last, and the running
sum of these events over days is the count for every window start at once. The orders are
first grouped by (day, gap), so after one pass over them the work is over days, not orders."""

ACTIVITY_COUNTS_SQL = (
    f"""
, windows AS (
    SELECT period_index, 'start' AS kind, CAST(period_start - {_N} AS DATE) AS first_day,
           {_DAYS} AS width
    FROM periods
    WHERE period_end - period_start <= {_N}
    UNION ALL
    SELECT period_index, 'either', CAST(period_start - {_N} AS DATE),
           {_DAYS} + CAST(date_diff('day', period_start, period_end) AS INTEGER)
    FROM periods
    WHERE period_end - period_start <= {_N}
    UNION ALL
    SELECT period_index, 'end', CAST(period_end - {_N} AS DATE), {_DAYS}
    FROM periods
    WHERE period_end - period_start <= {_N}
)"""
    + WINDOW_CUSTOMERS_SQL
    + f""",
window_counts AS (
    SELECT period_index,
           sum(customers) FILTER (WHERE kind = 'start') AS active_at_start,
           sum(customers) FILTER (WHERE kind = 'either')
             - sum(customers) FILTER (WHERE kind = 'end') AS churned_by_end
    FROM window_customers
    GROUP BY period_index
),
short_days AS (
    SELECT period_index, CAST(period_start AS DATE) AS start,
           CAST(period_end - {_N} AS DATE) AS end_window,
           CAST(unnest(generate_series(period_start - {_N}, period_end - INTERVAL 1 DAY,
                                       INTERVAL 1 DAY)) AS DATE) AS day
    FROM periods
    WHERE period_end - period_start > {_N}
),
flag_counts AS (
    SELECT period_index,
           count(*) FILTER (WHERE active_at_start) AS active_at_start,
           count(*) FILTER (WHERE active_at_start AND NOT active_at_end) AS churned_by_end
    FROM (
        SELECT d.period_index, fo.customer_id,
               bool_or(d.day < d.start) AS active_at_start,
               bool_or(d.day >= d.end_window) AS active_at_end
        FROM fo
        JOIN short_days AS d ON fo.order_date = d.day
        WHERE NOT fo.is_guest
        GROUP BY ALL
    )
    GROUP BY period_index
),
activity AS (SELECT * FROM window_counts UNION ALL SELECT * FROM flag_counts)
"""
)
"""Per period: customers active at its start (an order in the N days before it) and, of
those, the ones not active at its end (no order in the N days before the end).

When N is at least the period's length, end − N ≤ start, so "active at the start or at the
end" is "an order in [start − N, end)" and churned = customers with an order in
[start − N, end) − customers with an order in [end − N, end), both from
:data:`WINDOW_CUSTOMERS_SQL`. Thresholds shorter than the period leave a gap between the two
windows and take flags per customer (orders matched to the window's days). Shared by
``churn_rate`` and the Churn page's counts, so the two cannot disagree."""

CHURN_RATE = register(
    Metric(
        name="churn_rate",
        label="Churn rate",
        definition="Of the customers active at the start of the period (an order in the "
        "inactivity window before it), the share with no order in the inactivity window before "
        "the period's end.",
        formula="|active at start ∧ inactive at end| / |active at start|; active at d = an "
        "order in [d − N days, d)",
        unit="share",
        higher_is_better=False,
        defaults={"inactivity_days": DEFAULT_INACTIVITY_DAYS},
        sql=ACTIVITY_COUNTS_SQL
        + """SELECT p.period_index, a.churned_by_end / nullif(a.active_at_start, 0) AS value
FROM periods AS p
LEFT JOIN activity AS a USING (period_index)
ORDER BY p.period_index
""",
    )
)

CONVERSION_RATE = register(
    Metric(
        name="conversion_rate",
        label="Conversion rate",
        definition="Counted orders per session over the same days. Needs daily traffic; not "
        "available with channel or country filters, since sessions have neither.",
        formula="count(orders) / sum(sessions)",
        unit="share",
        requires=("orders", "traffic_daily"),
        note_when_missing="Import daily traffic (traffic_daily) on the Data page.",
        sql="""
, sessions AS (
    SELECT d.period_index, sum(t.sessions) AS sessions
    FROM period_days AS d
    JOIN traffic_daily AS t ON t.date = d.day
    GROUP BY ALL
),
orders AS (
    SELECT period_index, count(order_id) AS orders
    FROM po
    GROUP BY ALL
)
SELECT p.period_index,
       CASE WHEN NOT $narrows_customers THEN o.orders / nullif(s.sessions, 0) END AS value
FROM periods AS p
LEFT JOIN sessions AS s USING (period_index)
LEFT JOIN orders AS o USING (period_index)
ORDER BY p.period_index
""",
    )
)

HISTORICAL_CLTV = register(
    Metric(
        name="historical_cltv",
        label="Historical CLTV",
        definition="Average revenue per customer to date: counted revenue of all customers "
        "acquired by the end of the period, divided by their number.",
        formula="sum(customer revenue up to end) / count(customers with first order < end)",
        unit="money",
        sql=_ACQUIRED_BY_END
        + _REVENUE_BY_END
        + """
SELECT p.period_index, r.revenue / nullif(a.customers, 0) AS value
FROM periods AS p
LEFT JOIN revenue_by_end AS r USING (period_index)
LEFT JOIN acquired_by_end AS a USING (period_index)
ORDER BY p.period_index
""",
    )
)

_SPEND = """
, spend AS (
    SELECT d.period_index, sum(s.spend) AS spend
    FROM period_days AS d
    JOIN spend_daily AS s ON s.date = d.day
    WHERE len($channels) = 0 OR list_contains($channels, s.channel)
    GROUP BY ALL
),
acquired AS (
    SELECT d.period_index, count(*) AS new_customers
    FROM fc
    JOIN period_days AS d ON CAST(fc.first_order_at AS DATE) = d.day
    GROUP BY ALL
)"""

CAC = register(
    Metric(
        name="cac",
        label="CAC",
        definition="Customer acquisition cost: marketing spend in the period per new customer "
        "(of the chosen channels). Monthly spend is spread evenly over its days. Needs "
        "marketing spend; not available with a country filter.",
        formula="sum(spend) / new customers",
        unit="money",
        higher_is_better=False,
        requires=("orders", "marketing_spend"),
        note_when_missing="Import marketing spend (marketing_spend) on the Data page.",
        sql=_SPEND
        + """
SELECT p.period_index,
       CASE WHEN len($countries) = 0 THEN s.spend / nullif(a.new_customers, 0) END AS value
FROM periods AS p
LEFT JOIN spend AS s USING (period_index)
LEFT JOIN acquired AS a USING (period_index)
ORDER BY p.period_index
""",
    )
)

LTV_CAC = register(
    Metric(
        name="ltv_cac",
        label="LTV:CAC",
        definition="Historical CLTV at the end of the period × gross margin, divided by the "
        "period's CAC. The margin is the one set for the models (Customer value page; 100% "
        "means revenue); above 3 is commonly read as healthy.",
        formula="historical CLTV × margin / CAC",
        defaults={"margin": 1.0},
        unit="ratio",
        requires=("orders", "marketing_spend"),
        note_when_missing="Import marketing spend (marketing_spend) on the Data page.",
        sql=_SPEND
        + _ACQUIRED_BY_END.replace("\n, ", ",\n", 1)
        + _REVENUE_BY_END
        + """
SELECT p.period_index,
       CASE WHEN len($countries) = 0 THEN
           (r.revenue * CAST($margin AS DOUBLE) / nullif(c.customers, 0))
               / nullif(s.spend / nullif(a.new_customers, 0), 0)
       END AS value
FROM periods AS p
LEFT JOIN spend AS s USING (period_index)
LEFT JOIN acquired AS a USING (period_index)
LEFT JOIN revenue_by_end AS r USING (period_index)
LEFT JOIN acquired_by_end AS c USING (period_index)
ORDER BY p.period_index
""",
    )
)

PAYBACK_MONTHS = register(
    Metric(
        name="payback_months",
        label="Payback",
        definition="Months after their first order until the gross margin of the customers "
        "acquired in the period covers their CAC (0 = on the first order); empty while not yet "
        "paid back. Margin = revenue × the margin set for the models (100% means revenue).",
        formula="min m such that Σ revenue × margin in months 0..m since first order "
        "/ new customers ≥ CAC",
        defaults={"margin": 1.0},
        unit="months",
        higher_is_better=False,
        requires=("orders", "marketing_spend"),
        note_when_missing="Import marketing spend (marketing_spend) on the Data page.",
        sql=_SPEND
        + """,
by_month AS (
    SELECT d.period_index,
           date_diff('month', fo.first_order_at, fo.ordered_at) AS month_index,
           sum(fo.revenue) AS revenue
    FROM fo
    JOIN period_days AS d ON CAST(fo.first_order_at AS DATE) = d.day
    WHERE NOT fo.is_guest
    GROUP BY ALL
),
cumulative AS (
    SELECT period_index, month_index,
           sum(revenue) OVER (PARTITION BY period_index ORDER BY month_index) AS cumulative
    FROM by_month
)
SELECT p.period_index,
       CASE WHEN len($countries) = 0 THEN (
           SELECT min(c.month_index) FROM cumulative AS c
           WHERE c.period_index = p.period_index
             AND c.cumulative * CAST($margin AS DOUBLE) / nullif(a.new_customers, 0)
                 >= s.spend / nullif(a.new_customers, 0)
       ) END AS value
FROM periods AS p
LEFT JOIN spend AS s USING (period_index)
LEFT JOIN acquired AS a USING (period_index)
ORDER BY p.period_index
""",
    )
)

KPI_NAMES: tuple[str, ...] = (
    "customers",
    "new_customers",
    "returning_customers",
    "orders",
    "revenue",
    "aov",
    "repeat_purchase_rate",
    "retention_rate",
    "churn_rate",
    "conversion_rate",
    "historical_cltv",
    "cac",
    "ltv_cac",
    "payback_months",
)


def kpi_series(
    store: Store,
    periods: Sequence[Period],
    filters: Filters = Filters(),
    names: Sequence[str] = KPI_NAMES,
    **params: Any,
) -> pd.DataFrame:
    """Long frame: metric, period_index, period_start, period_end, value (one query per metric)."""
    frames = []
    bounds = pd.DataFrame(
        {
            "period_index": [p.index for p in periods],
            "period_start": [p.start for p in periods],
            "period_end": [p.end for p in periods],
        }
    )
    for name in names:
        values = compute(store, REGISTRY[name], periods, filters, **params)
        frames.append(values.assign(metric=name))
    out = pd.concat(frames, ignore_index=True).merge(bounds, on="period_index")
    return out[["metric", "period_index", "period_start", "period_end", "value"]]


REVENUE_SPLIT_SQL = (
    """
SELECT CAST(date_trunc($grain, fo.ordered_at) AS DATE) AS period_start,
       CASE WHEN fo.is_guest THEN 'guest'
            WHEN fo.order_number = 1 THEN 'new'
            ELSE 'returning' END AS customer_type,
       count(*) AS orders,
       sum(fo.revenue) AS revenue
FROM fo
WHERE """
    + DATE_FILTER_SQL.format(alias="fo")
    + """
GROUP BY ALL
ORDER BY 1, 2
"""
)


def revenue_new_vs_returning(
    store: Store, filters: Filters = Filters(), grain: Grain = "month"
) -> pd.DataFrame:
    """Revenue and orders per calendar period from first orders (new), repeat orders
    (returning) and guest orders; the date filter applies to order dates."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    sql = revenue_split_sql()
    params = {
        **filters.named_params(),
        "grain": grain,
        "period_index": [],
        "period_start": [],
        "period_end": [],
    }
    return store.query(sql, bind(sql, params))


def revenue_split_sql() -> str:
    return f"{PRELUDE}\n{REVENUE_SPLIT_SQL.strip()}"


@register_table(
    "kpis",
    "Overview KPIs for the latest period and the ones before it (LTV:CAC and payback use the "
    "margin of the model settings).",
)
def kpis_table(store: Store, request: TableRequest) -> pd.DataFrame:
    """Every KPI for trailing periods of ``params['days']`` days (default 30), latest first."""
    days = int(request.params.get("days", 30))
    count = int(request.params.get("count", 2))
    last_day = request.filters.end or data_last_day(store)
    if last_day is None:
        return pd.DataFrame(
            columns=["metric", "period_index", "period_start", "period_end", "value"]
        )
    periods = trailing_periods(last_day, days, count)
    extra = {k: v for k, v in request.params.items() if k in ("inactivity_days", "margin")}
    if "margin" not in extra:
        from retention.models.settings import load_settings

        extra["margin"] = load_settings(store).margin  # as on the Overview page
    out = kpi_series(store, periods, request.filters, **extra)
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    out["period_end"] = (pd.to_datetime(out["period_end"]) - pd.Timedelta(days=1)).dt.date
    out = out.rename(columns={"period_end": "period_last_day"})
    out.insert(1, "label", out["metric"].map(lambda n: REGISTRY[n].label))
    out.insert(2, "unit", out["metric"].map(lambda n: REGISTRY[n].unit))
    return out.sort_values(["period_index", "metric"]).reset_index(drop=True)


def data_last_day(store: Store) -> date | None:
    """The day of the latest order in the file (the natural 'today' of the data)."""
    value = store.scalar("SELECT CAST(max(ordered_at) AS DATE) FROM orders")
    return None if value is None else pd.Timestamp(value).date()
