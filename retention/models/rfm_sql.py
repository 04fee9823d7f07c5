"""The RFM summary of ``retention.models.rfm_summary``, computed in DuckDB from ``order_facts``.

Same conventions as the pandas reference (one transaction per customer and calendar day, value
summed; ``calibration_end`` inclusive; T measured to the start of ``calibration_end``; x counts
repeat days; monetary_value is the mean over the repeat days, 0 when x = 0), so the two agree
to the last digit (tests/models/test_rfm_sql.py). Only counted orders (completed or refunded)
of known customers are read; revenue is net of refunds as everywhere else. The aggregation
happens in DuckDB and only one row per customer comes back.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, Protocol

import pandas as pd

from retention.models.rfm_summary import SUMMARY_COLUMNS, UNITS

__all__ = ["RFM_SQL", "Queryable", "rfm_summary", "transactions_after"]


class Queryable(Protocol):
    """A Store or a Transaction: anything that runs a SELECT with bound parameters."""

    def query(self, sql: str, params: Any = None) -> pd.DataFrame: ...


RFM_SQL = """
WITH daily AS (
    SELECT customer_id, order_date AS day, sum(revenue)::DOUBLE AS value
    FROM order_facts
    WHERE customer_id IS NOT NULL
      AND order_date <= $calibration_end
      AND ($first_day IS NULL OR order_date >= $first_day)
    GROUP BY customer_id, order_date
),
per_customer AS (
    SELECT customer_id,
           min(day) AS first_day,
           max(day) AS last_day,
           count(*) AS days,
           sum(value) AS total,
           arg_min(value, day) AS first_value
    FROM daily
    GROUP BY customer_id
)
SELECT customer_id,
       (days - 1)::BIGINT AS frequency,
       date_diff('day', first_day, last_day) / $unit_days AS recency,
       date_diff('day', first_day, $calibration_end) / $unit_days AS "T",
       CASE WHEN days > 1 THEN (total - first_value) / (days - 1) ELSE 0.0 END
           AS monetary_value
FROM per_customer
ORDER BY customer_id
"""


def rfm_summary(
    db: Queryable,
    calibration_end: date,
    *,
    unit: Literal["week", "day"] = "week",
    first_day: date | None = None,
) -> pd.DataFrame:
    """One row per customer with an order in [first_day, calibration_end]: columns
    ``SUMMARY_COLUMNS`` (customer_id, frequency, recency, T, monetary_value) in ``unit``."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if first_day is not None and first_day > calibration_end:
        raise ValueError(f"first_day {first_day} is after calibration_end {calibration_end}")
    frame = db.query(
        RFM_SQL,
        {
            "calibration_end": calibration_end,
            "first_day": first_day,
            "unit_days": UNITS[unit],
        },
    )
    frame["frequency"] = frame["frequency"].astype("int64")
    for column in ("recency", "T", "monetary_value"):
        frame[column] = frame[column].astype("float64")
    return frame[list(SUMMARY_COLUMNS)].reset_index(drop=True)


TRANSACTIONS_AFTER_SQL = """
SELECT customer_id,
       count(DISTINCT order_date)::BIGINT AS transactions,
       coalesce(sum(revenue), 0)::DOUBLE AS revenue
FROM order_facts
WHERE customer_id IS NOT NULL AND order_date > $start AND order_date <= $end
GROUP BY customer_id
ORDER BY customer_id
"""


def transactions_after(db: Queryable, start: date, end: date) -> pd.DataFrame:
    """Per customer: purchase days and revenue in (start, end] (the holdout period).

    Customers with no order there are absent (their count is 0)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    frame = db.query(TRANSACTIONS_AFTER_SQL, {"start": start, "end": end})
    return frame
