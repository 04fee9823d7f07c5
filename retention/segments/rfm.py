"""The RFM grid and the named RFM segments' summary (scores: ``retention.segments.attributes``)."""

from __future__ import annotations

import pandas as pd

from retention.models.rfm_sql import Queryable
from retention.segments.attributes import CUSTOMER_ATTRIBUTES_SQL, RFM_SEGMENT_ORDER, RFM_SEGMENTS

__all__ = ["RFM_GRID_SQL", "RFM_SEGMENTS_SQL", "rfm_grid", "rfm_segment_summary"]

RFM_GRID_SQL = (
    CUSTOMER_ATTRIBUTES_SQL
    + """
SELECT r_score, f_score, count(*) AS customers, coalesce(sum(revenue), 0) AS revenue
FROM customer_attributes
GROUP BY ALL
ORDER BY r_score DESC, f_score
"""
)
"""Customers and revenue per (R, F) cell; cells with nobody are absent."""

RFM_SEGMENTS_SQL = (
    CUSTOMER_ATTRIBUTES_SQL
    + """
SELECT rfm_segment AS segment,
       count(*) AS customers,
       count(*) / sum(count(*)) OVER () AS share,
       coalesce(sum(revenue), 0) AS revenue,
       coalesce(sum(revenue), 0) / nullif(sum(sum(revenue)) OVER (), 0) AS revenue_share,
       avg(revenue) AS revenue_per_customer,
       avg(predicted_cltv) AS predicted_cltv_per_customer,
       count(predicted_cltv) AS scored_customers
FROM customer_attributes
GROUP BY ALL
ORDER BY segment
"""
)
"""One row per named RFM segment with customers; the page adds the empty ones."""


def rfm_grid(db: Queryable) -> pd.DataFrame:
    """Customers and revenue per (R, F) cell, R descending; empty cells are absent."""
    return db.query(RFM_GRID_SQL)


def rfm_segment_summary(db: Queryable) -> pd.DataFrame:
    """The 11 named segments in RFM_SEGMENT_ORDER (zeros for empty ones), with their meaning."""
    raw = db.query(RFM_SEGMENTS_SQL).set_index("segment")
    out = raw.reindex(list(RFM_SEGMENT_ORDER))
    for column in ("customers", "scored_customers"):
        out[column] = out[column].fillna(0).astype("int64")
    for column in ("share", "revenue", "revenue_share"):
        out[column] = out[column].astype("float64").fillna(0.0)
    out["meaning"] = [meaning for *_, meaning in RFM_SEGMENTS]
    return out.reset_index()
