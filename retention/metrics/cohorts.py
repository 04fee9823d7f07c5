"""Cohorts: customer retention, revenue retention, LTV curves and orders per customer.

Definitions (DESIGN.md, "Definitions"):

- Cohort = the calendar period (week, month, quarter) of a customer's first counted order.
- Period index k = calendar periods between the cohort's period and the order's period
  (k = 0 is the cohort's own period).
- Customer retention at k = customers of the cohort with a counted order in period k / cohort
  size (so 1 at k = 0). Revenue retention at k = cohort revenue in k / cohort revenue in k = 0.
  LTV curve = cumulative cohort revenue through k / cohort size. Orders per customer at k =
  cohort orders in k / cohort size (and cumulative).
- A cell (cohort, k) exists once period k has started by the data's last day (the last order
  day of the whole file); it is *complete* once period k has ended by then. Weighted averages
  over cohorts use complete cells only, so a partial last period never drags a curve down.

Filters: the date range selects COHORTS (cohort period start within [start, end]); every order
of those customers counts, whenever it was placed. Acquisition channel and country select
customers as everywhere (:data:`retention.filters.CUSTOMER_FILTER_SQL`). A cohort query can
also be *split by* or *filtered to* one customer dimension (:data:`DIMENSIONS`).

The whole cohorts x periods grid is one statement, :data:`COHORT_SQL`; :data:`COHORT_KPIS`
are registered metrics for the headline numbers (monthly cohorts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from retention.filters import CUSTOMER_FILTER_SQL, Filters
from retention.metrics.periods import GRAINS, Grain
from retention.metrics.registry import Metric, bind, register
from retention.metrics.tables import TableRequest, register_table

if TYPE_CHECKING:
    from retention.store import Store

__all__ = [
    "DIMENSIONS",
    "NO_SPLIT",
    "ALL_CUSTOMERS",
    "VALUES",
    "CohortValue",
    "DEFAULT_MIN_COHORT_SIZE",
    "COHORT_SQL",
    "COHORT_KPIS",
    "CohortQuery",
    "cohort_cells",
    "flag_small",
    "average_curves",
    "dimension_values",
    "dimension_values_sql",
    "cohort_retention_table",
]

NO_SPLIT = "none"
ALL_CUSTOMERS = "All customers"
DIMENSIONS: dict[str, str] = {
    NO_SPLIT: "None",
    "acquisition_channel": "Acquisition channel",
    "country": "Country",
    "first_category": "First-order category",
    "first_order_coupon": "First-order coupon",
}
"""Customer dimensions a cohort query can be split by or filtered to (value -> label)."""

DEFAULT_MIN_COHORT_SIZE = 30
"""Cohorts with fewer customers are flagged as small (their rates swing by chance)."""


@dataclass(frozen=True)
class CohortValue:
    """One value the cohort views can show for each (cohort, period index) cell."""

    column: str
    label: str
    unit: str  # "share" | "money" | "ratio"
    definition: str


VALUES: dict[str, CohortValue] = {
    v.column: v
    for v in (
        CohortValue(
            "retention_rate",
            "Customer retention",
            "share",
            "Share of the cohort's customers with at least one counted order in period k "
            "(k = periods since the first order's period; k = 0 is always 100%).",
        ),
        CohortValue(
            "revenue_retention",
            "Revenue retention",
            "share",
            "Cohort revenue in period k divided by the cohort's revenue in period 0 "
            "(can exceed 100% when returning customers spend more).",
        ),
        CohortValue(
            "cumulative_revenue_per_customer",
            "Cumulative revenue per customer (LTV)",
            "money",
            "Revenue of the cohort's counted orders from period 0 through period k, divided "
            "by the cohort size: the historical LTV curve.",
        ),
        CohortValue(
            "orders_per_customer",
            "Orders per customer",
            "ratio",
            "Counted orders the cohort placed in period k, divided by the cohort size.",
        ),
    )
}
"""The cohort values a page can show, keyed by their column in :func:`cohort_cells`."""


_SUMMARY_COUPON = "{alias}.first_coupon_code IS NOT NULL"
_ACTIVITY_COUPON = "{alias}.first_order_coupon"


def _dimension_sql(param: str, alias: str, coupon: str = _SUMMARY_COUPON) -> str:
    """The value of the dimension named by parameter ``$param`` for customer_summary row
    ``alias`` (or a cohort_activity row, with ``coupon`` its first-order-coupon condition): a
    static CASE over the allow-list :data:`DIMENSIONS` (no identifier is built from input)."""
    coupon = coupon.format(alias=alias)
    return (
        f"CASE ${param}"
        f" WHEN 'acquisition_channel' THEN coalesce({alias}.first_channel, $unknown)"
        f" WHEN 'country' THEN coalesce({alias}.country, $unknown)"
        f" WHEN 'first_category' THEN coalesce({alias}.first_category, $unknown)"
        f" WHEN 'first_order_coupon' THEN CASE WHEN {coupon}"
        " THEN 'With coupon' ELSE 'No coupon' END"
        f" ELSE '{ALL_CUSTOMERS}' END"
    )


def _cohort_filter_sql(alias: str, coupon: str = _SUMMARY_COUPON) -> str:
    """The "filter to" condition on a row aliased ``alias`` (``coupon``: see _dimension_sql)."""
    return (
        "(len($filter_values) = 0 OR list_contains($filter_values, "
        + _dimension_sql("filter_by", alias, coupon)
        + "))"
    )


_SHIFT = (
    "CAST(CASE $grain WHEN 'week' THEN {start} + to_days(7 * ({k}))"
    " WHEN 'month' THEN {start} + to_months({k}) ELSE {start} + to_months(3 * ({k})) END AS DATE)"
)

COHORT_SQL = (
    """WITH bounds AS (
    SELECT CAST(max(ordered_at) AS DATE) AS last_day FROM order_facts
),
activity AS (
    SELECT a.cohort_start,
           """
    + _dimension_sql("split_by", "a", _ACTIVITY_COUPON)
    + """ AS segment,
           a.period_index,
           count(*) AS active_customers,
           sum(a.orders) AS orders,
           sum(a.revenue) AS revenue
    FROM cohort_activity AS a
    WHERE a.grain = $grain
      AND """
    + CUSTOMER_FILTER_SQL.format(alias="a")
    + "\n      AND "
    + _cohort_filter_sql("a", _ACTIVITY_COUPON)
    + """
      AND ($start IS NULL OR a.cohort_start >= $start) AND ($end IS NULL OR a.cohort_start < $end)
    GROUP BY ALL
),
sizes AS (
    -- every member orders in its cohort's own period, so period 0 counts the cohort
    SELECT cohort_start, segment, active_customers AS cohort_size
    FROM activity
    WHERE period_index = 0
),
grid AS (
    SELECT s.cohort_start, s.segment, s.cohort_size,
           unnest(generate_series(0, date_diff($grain, s.cohort_start,
                  CAST(date_trunc($grain, b.last_day) AS DATE)))) AS period_index
    FROM sizes AS s
    CROSS JOIN bounds AS b
),
cells AS (
    SELECT g.cohort_start, g.segment, g.period_index, g.cohort_size,
           """
    + _SHIFT.format(start="g.cohort_start", k="g.period_index")
    + """ AS period_start,
           """
    + _SHIFT.format(start="g.cohort_start", k="g.period_index + 1")
    + """ AS period_end,
           coalesce(a.active_customers, 0) AS active_customers,
           coalesce(a.orders, 0) AS orders,
           coalesce(a.revenue, 0) AS revenue
    FROM grid AS g
    LEFT JOIN activity AS a USING (cohort_start, segment, period_index)
)
SELECT x.cohort_start AS cohort,
       x.segment,
       x.period_index,
       x.period_start,
       x.period_end <= b.last_day + 1 AS complete,
       x.cohort_size,
       x.active_customers,
       x.active_customers / x.cohort_size AS retention_rate,
       x.revenue,
       x.revenue / nullif(first_value(x.revenue) OVER w, 0) AS revenue_retention,
       sum(x.revenue) OVER w AS cumulative_revenue,
       sum(x.revenue) OVER w / x.cohort_size AS cumulative_revenue_per_customer,
       x.orders,
       x.orders / x.cohort_size AS orders_per_customer,
       sum(x.orders) OVER w / x.cohort_size AS cumulative_orders_per_customer
FROM cells AS x
CROSS JOIN bounds AS b
WINDOW w AS (PARTITION BY x.cohort_start, x.segment ORDER BY x.period_index
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY x.segment, x.cohort_start, x.period_index
"""
)
"""Every (cohort, segment, period index) cell that has started by the data's last day.

Named parameters: ``$grain`` (week | month | quarter), ``$split_by`` and ``$filter_by`` (keys
of :data:`DIMENSIONS`), ``$filter_values`` (list; empty = all), and the filters' ``$start``,
``$end`` (cohort period start in [start, end)), ``$channels``, ``$countries``, ``$unknown``."""


@dataclass(frozen=True)
class CohortQuery:
    """What the cohort grid is asked for; hashable, so pages can cache on it."""

    grain: Grain = "month"
    filters: Filters = Filters()
    split_by: str = NO_SPLIT
    filter_by: str = NO_SPLIT
    filter_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ValueError(f"unknown period {self.grain!r}; use one of {', '.join(GRAINS)}")
        for name in ("split_by", "filter_by"):
            if getattr(self, name) not in DIMENSIONS:
                raise ValueError(
                    f"unknown {name} {getattr(self, name)!r}; use one of {', '.join(DIMENSIONS)}"
                )
        if self.filter_by == NO_SPLIT and self.filter_values:
            raise ValueError("filter_values need a filter_by dimension")
        object.__setattr__(self, "filter_values", tuple(sorted(set(self.filter_values))))

    def params(self) -> dict[str, Any]:
        return {
            **self.filters.named_params(),
            "grain": self.grain,
            "split_by": self.split_by,
            "filter_by": self.filter_by,
            "filter_values": list(self.filter_values),
        }


_INT_COLUMNS = ("period_index", "cohort_size", "active_customers", "orders")
_FLOAT_COLUMNS = (
    "retention_rate",
    "revenue",
    "revenue_retention",
    "cumulative_revenue",
    "cumulative_revenue_per_customer",
    "orders_per_customer",
    "cumulative_orders_per_customer",
)


def cohort_cells(store: Store, query: CohortQuery = CohortQuery()) -> pd.DataFrame:
    """One row per (segment, cohort, period index), ordered so.

    Columns: cohort (date), segment, period_index, period_start, complete, cohort_size,
    active_customers, retention_rate = active / size, revenue, revenue_retention = revenue_k /
    revenue_0, cumulative_revenue, cumulative_revenue_per_customer = cumsum(revenue) / size,
    orders, orders_per_customer = orders / size, cumulative_orders_per_customer.
    """
    out = store.query(COHORT_SQL, bind(COHORT_SQL, query.params()))
    for column in ("cohort", "period_start"):
        out[column] = pd.to_datetime(out[column]).dt.date
    for column in _INT_COLUMNS:
        out[column] = out[column].astype("int64")
    for column in _FLOAT_COLUMNS:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    out["complete"] = out["complete"].astype(bool)
    out["segment"] = out["segment"].astype(str)
    return out.reset_index(drop=True)


def flag_small(cells: pd.DataFrame, min_size: int = DEFAULT_MIN_COHORT_SIZE) -> pd.Series:
    """True for rows whose cohort has fewer than ``min_size`` customers."""
    return cells["cohort_size"] < min_size


def average_curves(
    cells: pd.DataFrame,
    min_size: int = DEFAULT_MIN_COHORT_SIZE,
    exclude_small: bool = False,
) -> pd.DataFrame:
    """Cohort-size-weighted average curve per segment, over complete cells only.

    At each period index k, over the cohorts whose period k is complete (and, with
    ``exclude_small``, that have at least ``min_size`` customers):
    retention = sum(active) / sum(size); revenue retention = sum(revenue_k) / sum(revenue_0);
    cumulative revenue per customer = sum(cumulative revenue) / sum(size); orders per customer
    = sum(orders) / sum(size) (cumulative likewise). Columns: segment, period_index, cohorts,
    customers, then those values.
    """
    use = cells[cells["complete"]]
    if exclude_small:
        use = use[~flag_small(use, min_size)]
    columns = ["segment", "period_index", "cohorts", "customers", *_AVERAGED]
    if use.empty:
        return pd.DataFrame({c: [] for c in columns})
    base = use.assign(
        revenue_0=use.groupby(["segment", "cohort"])["revenue"].transform("first"),
        cumulative_orders=use["cumulative_orders_per_customer"] * use["cohort_size"],
    )
    g = base.groupby(["segment", "period_index"], sort=True)
    sums = g[["cohort_size", "active_customers", "revenue", "revenue_0", "orders"]].sum()
    sums["cumulative_revenue"] = g["cumulative_revenue"].sum()
    sums["cumulative_orders"] = g["cumulative_orders"].sum()
    size = sums["cohort_size"]
    out = pd.DataFrame(
        {
            "cohorts": g.size(),
            "customers": size,
            "retention_rate": sums["active_customers"] / size,
            "revenue_retention": sums["revenue"] / sums["revenue_0"].where(sums["revenue_0"] != 0),
            "cumulative_revenue_per_customer": sums["cumulative_revenue"] / size,
            "orders_per_customer": sums["orders"] / size,
            "cumulative_orders_per_customer": sums["cumulative_orders"] / size,
        }
    )
    return out.reset_index()[columns]


_AVERAGED = (
    "retention_rate",
    "revenue_retention",
    "cumulative_revenue_per_customer",
    "orders_per_customer",
    "cumulative_orders_per_customer",
)


def dimension_values_sql() -> str:
    """Distinct values of the dimension ``$dimension`` among the filtered customers."""
    return (
        "SELECT DISTINCT "
        + _dimension_sql("dimension", "c")
        + " AS value\nFROM customer_summary AS c\nWHERE "
        + CUSTOMER_FILTER_SQL.format(alias="c")
        + "\nORDER BY value"
    )


def dimension_values(store: Store, dimension: str, filters: Filters = Filters()) -> list[str]:
    """The values a "filter to" choice offers for ``dimension`` (sorted)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}")
    if dimension == NO_SPLIT:
        return []
    sql = dimension_values_sql()
    values = {**filters.named_params(), "dimension": dimension}
    return [str(v) for v in store.query(sql, bind(sql, values))["value"]]


# --- registered metrics (headline numbers, monthly cohorts) -----------------------------------

_MONTHLY_KPI = (
    """
, bounds AS (SELECT CAST(max(ordered_at) AS DATE) + 1 AS data_end FROM order_facts),
activity AS (
    SELECT a.cohort_start, a.period_index, a.revenue
    FROM cohort_activity AS a
    WHERE a.grain = 'month'
      AND """
    + CUSTOMER_FILTER_SQL.format(alias="a")
    + "\n      AND "
    + _cohort_filter_sql("a", _ACTIVITY_COUPON)
    + """
),
sizes AS (
    -- every customer orders in the month of the first order, so period 0 counts the cohort
    SELECT cohort_start, count(*) AS cohort_size FROM activity WHERE period_index = 0
    GROUP BY cohort_start
),
eligible AS (
    SELECT p.period_index, s.cohort_start, s.cohort_size
    FROM periods AS p
    JOIN sizes AS s ON s.cohort_start >= p.period_start AND s.cohort_start < p.period_end
    WHERE CAST(s.cohort_start + to_months({last_month} + 1) AS DATE)
              <= (SELECT data_end FROM bounds)
      AND s.cohort_size >= $min_cohort_size
),
cells AS (
    SELECT cohort_start, {measure} AS measure
    FROM activity
    WHERE period_index {months}
    GROUP BY cohort_start
)
SELECT p.period_index,
       coalesce(sum(c.measure), 0) / nullif(sum(e.cohort_size), 0) AS value
FROM periods AS p
LEFT JOIN eligible AS e USING (period_index)
LEFT JOIN cells AS c ON c.cohort_start = e.cohort_start
GROUP BY p.period_index
ORDER BY p.period_index
"""
)
"""Over ``cohort_activity`` (one row per customer and active month): month-k retention is a
count of rows at period k and k-month LTV a sum of their revenue, with no join of the orders
to the customers."""
_KPI_DEFAULTS = {"filter_by": NO_SPLIT, "filter_values": [], "min_cohort_size": 0}
_KPI_SCOPE = (
    " Over the monthly cohorts that start in the period and whose month {m} is complete by "
    "the data's last day, weighted by cohort size."
)


def _retention_kpi(month: int) -> Metric:
    return register(
        Metric(
            name=f"cohort_retention_m{month}",
            label=f"Month-{month} retention",
            definition=f"Share of new customers who ordered again in the {_ordinal(month)} "
            f"calendar month after the month of their first order." + _KPI_SCOPE.format(m=month),
            formula=f"sum(customers active in month {month}) / sum(cohort size)",
            unit="share",
            grain="cohort",
            defaults=_KPI_DEFAULTS,
            sql=_MONTHLY_KPI.format(
                last_month=month,
                measure="count(*)",
                months=f"= {month}",
            ),
        )
    )


def _ltv_kpi(months: int) -> Metric:
    return register(
        Metric(
            name=f"cohort_ltv_m{months}",
            label=f"{months}-month LTV",
            definition=f"Revenue per new customer over the first {months} calendar months "
            f"(the month of the first order and the {months - 1} after it): the LTV curve at "
            f"month {months - 1}." + _KPI_SCOPE.format(m=months - 1),
            formula=f"sum(revenue in months 0–{months - 1}) / sum(cohort size)",
            unit="money",
            grain="cohort",
            defaults=_KPI_DEFAULTS,
            sql=_MONTHLY_KPI.format(
                last_month=months - 1,
                measure="sum(revenue)",
                months=f"BETWEEN 0 AND {months - 1}",
            ),
        )
    )


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


COHORT_RETENTION_M1 = _retention_kpi(1)
COHORT_RETENTION_M3 = _retention_kpi(3)
COHORT_LTV_M6 = _ltv_kpi(6)
COHORT_LTV_M12 = _ltv_kpi(12)
COHORT_KPIS: tuple[str, ...] = (
    "cohort_retention_m1",
    "cohort_retention_m3",
    "cohort_ltv_m6",
    "cohort_ltv_m12",
)

# --- the CLI table ----------------------------------------------------------------------------

TABLE_COLUMNS: tuple[str, ...] = (
    "cohort",
    "period_index",
    "period_start",
    "complete",
    "cohort_size",
    "small_cohort",
    "active_customers",
    "retention_rate",
    "revenue",
    "revenue_retention",
    "cumulative_revenue",
    "cumulative_revenue_per_customer",
    "orders",
    "orders_per_customer",
    "cumulative_orders_per_customer",
)


@register_table(
    "cohort-retention",
    "One row per cohort (period of the first order) and period index: cohort size, active "
    "customers, retention rate, revenue, revenue retention, cumulative revenue per customer, "
    "orders and orders per customer. Params: split_by (or the CLI's --split none|channel), "
    "filter_by, filter_values, min_cohort_size.",
)
def cohort_retention_table(store: Store, request: TableRequest) -> pd.DataFrame:
    """The cohort grid for the CLI; a ``segment`` column leads when split by a dimension."""
    params = request.params
    split_by = str(params.get("split_by", NO_SPLIT))
    if "split" in params:  # the CLI's --split: none | channel
        aliases = {"none": NO_SPLIT, "channel": "acquisition_channel"}
        if params["split"] not in aliases:
            raise ValueError(
                f"cohort-retention cannot split by {params['split']!r}; use none or channel"
            )
        split_by = aliases[params["split"]]
    values = params.get("filter_values", ())
    if isinstance(values, str):
        values = tuple(v for v in values.split(",") if v)
    query = CohortQuery(
        grain=request.period,
        filters=request.filters,
        split_by=split_by,
        filter_by=str(params.get("filter_by", NO_SPLIT)),
        filter_values=tuple(values),
    )
    cells = cohort_cells(store, query)
    cells["small_cohort"] = flag_small(
        cells, int(params.get("min_cohort_size", DEFAULT_MIN_COHORT_SIZE))
    )
    columns: Sequence[str] = TABLE_COLUMNS
    if query.split_by != NO_SPLIT:
        columns = ("segment", *TABLE_COLUMNS)
    return cells[list(columns)].reset_index(drop=True)
