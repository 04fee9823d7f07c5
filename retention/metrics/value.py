"""Customer value: historical and predicted CLTV from the stored model run, with intervals.

Everything here reads what ``retention.models.runs.fit_scores`` stored; nothing refits.

- **Historical CLTV** = a customer's revenue to date (counted orders, net of refunds).
- **Predicted CLTV** = Σ over the months of the horizon of expected orders in the month ×
  expected spend per order × margin × (1 + annual rate)^(−month/12) (``retention.models.cltv``).
- **Intervals** come from parameter draws. A total over any set of customers gets an exact
  interval because ``score_cells`` keeps, per (cohort month, channel, country) cell, the sum
  of predicted CLTV for every draw: the filtered total per draw is a sum of cells, and its
  quantiles are the interval. Filters therefore act on whole cells: channel and country as
  everywhere, the date range as "first order in the months of the range".
- **CAC** = marketing spend of a channel / customers it acquired, over the same date range.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from retention.filters import CUSTOMER_FILTER_SQL, Filters
from retention.metrics.registry import bind
from retention.metrics.tables import TableRequest, register_table

if TYPE_CHECKING:
    from retention.store import Store

__all__ = [
    "DIMENSIONS",
    "NoModelRunError",
    "Dimension",
    "cac_by_channel",
    "cltv_distribution",
    "customer_scores_table",
    "latest_scores_run_id",
    "model_params_table",
    "top_customers",
    "value_by",
    "value_totals",
]

Dimension = Literal["cohort_quarter", "cohort_month", "first_channel", "country"]
DIMENSIONS: dict[str, str] = {
    "cohort_quarter": "Cohort (quarter)",
    "cohort_month": "Cohort (month)",
    "first_channel": "Acquisition channel",
    "country": "Country",
}
_GROUP_SQL: dict[str, str] = {
    "cohort_quarter": "date_trunc('quarter', c.cohort_month)",
    "cohort_month": "c.cohort_month",
    "first_channel": "c.first_channel",
    "country": "c.country",
}

CELL_FILTER_SQL = (
    "(len($channels) = 0 OR list_contains($channels, c.first_channel))"
    " AND (len($countries) = 0 OR list_contains($countries, c.country))"
    + " AND ($start IS NULL OR c.cohort_month >= date_trunc('month', CAST($start AS DATE)))"
    + " AND ($end IS NULL OR c.cohort_month < CAST($end AS DATE))"
)
"""Filters on score_cells: channel and country, and cohort months overlapping the range."""

CUSTOMER_SCOPE_SQL = (
    CUSTOMER_FILTER_SQL.format(alias="cs")
    + " AND ($start IS NULL OR cs.cohort_month >= date_trunc('month', CAST($start AS DATE)))"
    + " AND ($end IS NULL OR cs.cohort_month < CAST($end AS DATE))"
)
"""The same customers, for per-customer rows of customer_summary aliased ``cs``."""


def latest_scores_run_id(store: Store) -> int | None:
    """The run whose scores are stored (only the newest scores run keeps them)."""
    value = store.scalar("SELECT max(run_id) FROM customer_scores")
    return None if value is None else int(value)


def _params(filters: Filters, run_id: int, interval: float) -> dict[str, Any]:
    return {
        **filters.named_params(),
        "run_id": run_id,
        "lo": (1 - interval) / 2,
        "hi": (1 + interval) / 2,
    }


def _value_sql(group: str | None) -> str:
    key = _GROUP_SQL[group] if group else "'all'"
    return f"""
WITH cells AS (
    SELECT {key} AS grp, c.*
    FROM score_cells AS c
    WHERE c.run_id = $run_id AND {CELL_FILTER_SQL}
),
point AS (
    SELECT grp, sum(customers)::BIGINT AS customers,
           sum(historical_revenue) AS historical_revenue,
           sum(expected_orders) AS expected_orders,
           sum(predicted_cltv) AS predicted_cltv
    FROM cells GROUP BY grp
),
draws AS (
    SELECT grp, i, sum(cltv) AS cltv, sum(orders) AS orders
    FROM (
        SELECT grp,
               unnest(generate_series(1, len(predicted_cltv_draws))) AS i,
               unnest(predicted_cltv_draws) AS cltv,
               unnest(expected_orders_draws) AS orders
        FROM cells
    )
    GROUP BY grp, i
),
bounds AS (
    SELECT grp,
           quantile_cont(cltv, $lo) AS predicted_cltv_low,
           quantile_cont(cltv, $hi) AS predicted_cltv_high,
           quantile_cont(orders, $lo) AS expected_orders_low,
           quantile_cont(orders, $hi) AS expected_orders_high
    FROM draws GROUP BY grp
)
SELECT p.grp AS "group", p.customers, p.historical_revenue,
       p.expected_orders, b.expected_orders_low, b.expected_orders_high,
       p.predicted_cltv, b.predicted_cltv_low, b.predicted_cltv_high
FROM point AS p LEFT JOIN bounds AS b USING (grp)
ORDER BY p.grp
"""  # noqa: S608 (group expressions come from _GROUP_SQL)


_CUSTOMER_GROUP_SQL: dict[str, str] = {
    "cohort_quarter": "date_trunc('quarter', cs.cohort_month)",
    "cohort_month": "cs.cohort_month",
    "first_channel": "coalesce(cs.first_channel, $unknown)",
    "country": "coalesce(cs.country, $unknown)",
}


def _segment_value_sql(group: str | None) -> str:
    """The value columns from per-customer scores, for a segment filter: score cells cannot
    tell segment members apart, so the estimates are sums over the members and the intervals
    are NULL (the Segments page compares segments with intervals)."""
    key = _CUSTOMER_GROUP_SQL[group] if group else "'all'"
    return f"""
SELECT {key} AS "group",
       count(*)::BIGINT AS customers,
       sum(cs.revenue::DOUBLE) AS historical_revenue,
       sum(s.expected_orders) AS expected_orders,
       CAST(NULL AS DOUBLE) AS expected_orders_low,
       CAST(NULL AS DOUBLE) AS expected_orders_high,
       sum(s.predicted_cltv) AS predicted_cltv,
       CAST(NULL AS DOUBLE) AS predicted_cltv_low,
       CAST(NULL AS DOUBLE) AS predicted_cltv_high
FROM customer_scores AS s
JOIN customer_summary AS cs USING (customer_id)
WHERE s.run_id = $run_id AND {CUSTOMER_SCOPE_SQL}
GROUP BY ALL
ORDER BY 1
"""  # noqa: S608 (group expressions and filters are constants)


def value_totals(
    store: Store, run_id: int, filters: Filters, interval: float = 0.8
) -> dict[str, float]:
    """Totals over the filtered customers: customers, historical revenue, expected orders and
    predicted CLTV with their intervals (empty dict when no customer matches)."""
    sql = _segment_value_sql(None) if filters.segment else _value_sql(None)
    frame = store.query(sql, bind(sql, _params(filters, run_id, interval)))
    if frame.empty:
        return {}
    row = frame.iloc[0].drop(labels=["group"])
    return {k: float(v) for k, v in row.items()}


def value_by(
    store: Store, run_id: int, dimension: Dimension, filters: Filters, interval: float = 0.8
) -> pd.DataFrame:
    """Per value of ``dimension``: the columns of :func:`value_totals`, plus per-customer
    means (``*_per_customer``) with their intervals."""
    if dimension not in _GROUP_SQL:
        raise ValueError(f"dimension must be one of {', '.join(_GROUP_SQL)}, not {dimension!r}")
    sql = _segment_value_sql(dimension) if filters.segment else _value_sql(dimension)
    frame = store.query(sql, bind(sql, _params(filters, run_id, interval)))
    n = frame["customers"].where(frame["customers"] > 0)
    for column in ("historical_revenue", "predicted_cltv", "predicted_cltv_low",
                   "predicted_cltv_high"):  # fmt: skip
        frame[f"{column}_per_customer"] = frame[column] / n
    return frame


DISTRIBUTION_SQL = f"""
WITH scoped AS (
    SELECT s.predicted_cltv AS value
    FROM customer_scores AS s
    JOIN customer_summary AS cs USING (customer_id)
    WHERE s.run_id = $run_id AND {CUSTOMER_SCOPE_SQL}
),
edges AS (SELECT quantile_cont(value, 0.99) AS top FROM scoped)
SELECT least(floor(value / (top / $bins)), $bins - 1)::INTEGER AS bin,
       any_value(top / $bins) AS width,
       count(*) AS customers
FROM scoped, edges
WHERE top > 0
GROUP BY bin
ORDER BY bin
"""  # noqa: S608 (filter SQL is a constant)


def cltv_distribution(store: Store, run_id: int, filters: Filters, bins: int = 40) -> pd.DataFrame:
    """Histogram of predicted CLTV per customer: bin start, end and customers; the last bin
    holds everything above the 99th percentile (so one whale does not flatten the chart)."""
    params = {**filters.named_params(), "run_id": run_id, "bins": bins}
    frame = store.query(DISTRIBUTION_SQL, bind(DISTRIBUTION_SQL, params))
    frame["start"] = frame["bin"] * frame["width"]
    frame["end"] = frame["start"] + frame["width"]
    return frame[["bin", "start", "end", "customers"]]


TOP_CUSTOMERS_SQL = f"""
SELECT s.customer_id, cs.email, cs.country, cs.first_channel,
       cs.orders, cs.revenue::DOUBLE AS historical_revenue,
       s.p_alive, s.expected_orders, s.predicted_cltv, s.predicted_cltv_low,
       s.predicted_cltv_high, s.churn_risk, cs.last_order_at
FROM customer_scores AS s
JOIN customer_summary AS cs USING (customer_id)
WHERE s.run_id = $run_id AND {CUSTOMER_SCOPE_SQL}
ORDER BY s.predicted_cltv DESC, s.customer_id
LIMIT $limit
"""  # noqa: S608 (filter SQL is a constant)


def top_customers(store: Store, run_id: int, filters: Filters, limit: int = 50) -> pd.DataFrame:
    """The customers with the highest predicted CLTV (VIPs), with their interval and risk."""
    params = {**filters.named_params(), "run_id": run_id, "limit": limit}
    return store.query(TOP_CUSTOMERS_SQL, bind(TOP_CUSTOMERS_SQL, params))


CAC_SQL = """
WITH acquired AS (
    SELECT coalesce(cs.first_channel, $unknown) AS channel, count(*) AS new_customers
    FROM customer_summary AS cs
    WHERE ($start IS NULL OR cs.cohort_month >= date_trunc('month', CAST($start AS DATE)))
      AND ($end IS NULL OR cs.cohort_month < CAST($end AS DATE))
      AND (len($countries) = 0 OR list_contains($countries, coalesce(cs.country, $unknown)))
    GROUP BY channel
),
spent AS (
    SELECT channel, sum(spend)::DOUBLE AS spend
    FROM spend_daily
    WHERE ($start IS NULL OR date >= date_trunc('month', CAST($start AS DATE)))
      AND ($end IS NULL OR date < date_trunc('month', CAST($end AS DATE)) + INTERVAL 1 MONTH)
    GROUP BY channel
)
SELECT s.channel, s.spend, coalesce(a.new_customers, 0) AS new_customers,
       s.spend / nullif(a.new_customers, 0) AS cac
FROM spent AS s LEFT JOIN acquired AS a USING (channel)
WHERE len($channels) = 0 OR list_contains($channels, s.channel)
ORDER BY s.channel
"""


def cac_by_channel(
    store: Store, run_id: int, filters: Filters, interval: float = 0.8
) -> pd.DataFrame:
    """Per channel with spend: CAC next to predicted CLTV per acquired customer (with its
    interval) and their ratio. Both sides count whole months, those the date range touches
    (as the score cells do), so CAC and CLTV are about the same customers. Spend is not
    split by country, so a country filter narrows the customers but not the spend; the page
    says so. Empty without spend data."""
    cac = store.query(CAC_SQL, bind(CAC_SQL, filters.named_params()))
    if cac.empty:
        return cac
    value = value_by(store, run_id, "first_channel", filters, interval)
    value = value.rename(columns={"group": "channel"})[
        [
            "channel",
            "historical_revenue_per_customer",
            "predicted_cltv_per_customer",
            "predicted_cltv_low_per_customer",
            "predicted_cltv_high_per_customer",
        ]
    ]
    out = cac.merge(value, on="channel", how="left")
    out["ltv_to_cac"] = out["predicted_cltv_per_customer"] / out["cac"]
    out["ltv_to_cac_low"] = out["predicted_cltv_low_per_customer"] / out["cac"]
    out["ltv_to_cac_high"] = out["predicted_cltv_high_per_customer"] / out["cac"]
    return out


# --- CLI tables ---------------------------------------------------------------------------

SCORES_SQL = f"""
SELECT s.customer_id, cs.orders, cs.revenue::DOUBLE AS historical_revenue,
       s.p_alive, s.p_alive_low, s.p_alive_high,
       s.expected_orders, s.expected_orders_low, s.expected_orders_high,
       s.expected_spend, s.predicted_cltv, s.predicted_cltv_low, s.predicted_cltv_high,
       s.churn_risk
FROM customer_scores AS s
JOIN customer_summary AS cs USING (customer_id)
WHERE s.run_id = $run_id AND {CUSTOMER_SCOPE_SQL}
ORDER BY s.customer_id
"""  # noqa: S608 (filter SQL is a constant)


class NoModelRunError(LookupError):
    """No scores have been stored yet."""


def _require_run(store: Store) -> int:
    run_id = latest_scores_run_id(store)
    if run_id is None:
        raise NoModelRunError(
            "No model scores are stored in this file yet; run `python -m retention fit` "
            "(or refit on the Customer value page)."
        )
    return run_id


@register_table(
    "customer-scores",
    "Per customer from the latest model run: p_alive, expected_orders (over the horizon), "
    "expected_spend and predicted_cltv, each with _low/_high interval columns, churn_risk. "
    "Filters: channel, country, and --start/--end on the first order's month.",
)
def customer_scores_table(store: Store, request: TableRequest) -> pd.DataFrame:
    run_id = _require_run(store)
    params = {**request.filters.named_params(), "run_id": run_id}
    return store.query(SCORES_SQL, bind(SCORES_SQL, params))


@register_table(
    "model-params",
    "The latest model run's parameters: model, parameter, estimate and its 95% interval "
    "(from the inverse Hessian, on the log scale), log-likelihood, time unit.",
)
def model_params_table(store: Store, request: TableRequest) -> pd.DataFrame:
    from retention.models.runs import latest_run

    _require_run(store)
    run = latest_run(store, "scores")
    assert run is not None
    rows: list[dict[str, Any]] = []
    for model, record in (("BG/NBD", run.bgnbd), ("Gamma-Gamma", run.gamma_gamma or {})):
        params = record.get("params", {})
        cov = record.get("covariance_log_params") or []
        for i, (name, estimate) in enumerate(params.items()):
            var = cov[i][i] if i < len(cov) and cov[i][i] is not None else None
            se = None if var is None or var < 0 else var**0.5
            rows.append(
                {
                    "run_id": run.run_id,
                    "model": model,
                    "parameter": name,
                    "estimate": estimate,
                    "low_95": None if se is None else estimate * math.exp(-1.96 * se),
                    "high_95": None if se is None else estimate * math.exp(1.96 * se),
                    "log_likelihood": record.get("log_likelihood"),
                    "unit": record.get("unit", run.settings.unit) if model == "BG/NBD" else "",
                    "customers": record.get("customers"),
                    "calibration_end": run.calibration_end,
                }
            )
    return pd.DataFrame(rows)
