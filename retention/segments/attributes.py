"""The customer attributes segments are built from: the allow-list, and one SQL that computes
them all, one row per customer.

Rules may name only attributes listed in :data:`ATTRIBUTES`; their SQL identifiers come from
here, never from user input (DESIGN.md, "Rules that keep it safe").

RFM scores (1–5, 5 best) are quintiles by rank, as of the last order day in the file:

    score = least(5, 1 + floor(5 · percent_rank()))

ordered so that higher is better (recency: fewer days since the last order; frequency: more
orders; monetary: more revenue). Customers with equal values get equal scores (rank ties), so
when 60% of customers have one order they all get F = 1 and the scores above start higher.
The named segments come from (R, F) as in the widely used RFM segment map (Putler/Kohavi
style): see :data:`RFM_SEGMENTS`; every one of the 25 (R, F) pairs has exactly one name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTES_BUILD_SQL",
    "CUSTOMER_ATTRIBUTES_SQL",
    "refresh_attributes",
    "RFM_SEGMENT_ORDER",
    "RFM_SEGMENTS",
    "Attribute",
    "AttributeKind",
    "attribute",
    "rfm_segment",
]

AttributeKind = Literal["number", "category", "bool", "date"]


@dataclass(frozen=True)
class Attribute:
    """A customer attribute a rule can test: its column in CUSTOMER_ATTRIBUTES_SQL."""

    name: str
    label: str
    kind: AttributeKind
    description: str
    unit: str = ""


ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("recency_days", "Days since last order", "number",
                  "Days from the customer's last counted order to the last order day in the "
                  "file.", "days"),
        Attribute("orders", "Orders", "number", "Counted orders (completed or refunded)."),
        Attribute("revenue", "Revenue to date", "number",
                  "Revenue of counted orders, net of refunds (historical CLTV).", "money"),
        Attribute("aov", "Average order value", "number", "Revenue / orders.", "money"),
        Attribute("r_score", "R score", "number", "Recency quintile, 5 = most recent."),
        Attribute("f_score", "F score", "number", "Frequency quintile, 5 = most orders."),
        Attribute("m_score", "M score", "number", "Monetary quintile, 5 = most revenue."),
        Attribute("rfm_segment", "RFM segment", "category",
                  "Named segment from the R and F scores (Champions, Loyal, At Risk ...)."),
        Attribute("predicted_cltv", "Predicted CLTV", "number",
                  "Predicted CLTV over the model horizon (latest model run).", "money"),
        Attribute("p_alive", "P(alive)", "number",
                  "Probability the customer is still active (BG/NBD), 0 to 1."),
        Attribute("churn_risk", "Churn risk", "number",
                  "Chance of no order in the churn-risk horizon, 0 to 1 (empty for customers "
                  "with no order in the last 365 days)."),
        Attribute("cohort_month", "Cohort (month of first order)", "date",
                  "First day of the month of the first counted order."),
        Attribute("country", "Country", "category", "Country from the customers file."),
        Attribute("first_channel", "Acquisition channel", "category",
                  "Channel of the customer's first order (or their acquisition channel)."),
        Attribute("first_category", "First-order category", "category",
                  "Category with most revenue in the first order."),
        Attribute("loyalty_member", "Loyalty member", "bool", "Member of the loyalty programme."),
        Attribute("coupon_user", "Coupon user", "bool", "Used a coupon on a counted order."),
        Attribute("accepts_marketing", "Accepts marketing", "bool",
                  "Consented to marketing email."),
    )
}  # fmt: skip


def attribute(name: str) -> Attribute:
    """The attribute called ``name``; the error lists the allowed names."""
    try:
        return ATTRIBUTES[name]
    except KeyError:
        raise KeyError(
            f"unknown attribute {name!r}; segments can use: {', '.join(ATTRIBUTES)}"
        ) from None


RFM_SEGMENTS: tuple[tuple[str, tuple[int, ...], tuple[int, ...], str], ...] = (
    # name, R scores, F scores, what it means
    ("Champions", (5,), (4, 5), "Bought recently, buy often."),
    ("Loyal", (3, 4), (4, 5), "Buy often; not the most recent."),
    ("Potential Loyalist", (4, 5), (2, 3), "Recent, with a few orders."),
    ("New", (5,), (1,), "Bought for the first time very recently."),
    ("Promising", (4,), (1,), "Recent first-time buyers."),
    ("Need Attention", (3,), (3,), "Middling recency and frequency."),
    ("About to Sleep", (3,), (1, 2), "Slipping away after few orders."),
    ("At Risk", (1, 2), (3, 4), "Used to buy often, not for a long time."),
    ("Can't Lose", (1, 2), (5,), "Were among the best customers, gone quiet."),
    ("Hibernating", (1, 2), (1, 2), "Few orders, long ago."),
    ("Lost", (1,), (1,), "One order, the longest ago."),
)
"""(R, F) → segment. Lost is checked before Hibernating, so R = 1, F = 1 is Lost."""

RFM_SEGMENT_ORDER: tuple[str, ...] = tuple(name for name, *_ in RFM_SEGMENTS)


def rfm_segment(r: int, f: int) -> str:
    """The segment name of an (R, F) pair (the same rule as the SQL)."""
    if (r, f) == (1, 1):
        return "Lost"
    for name, rs, fs, _ in RFM_SEGMENTS:
        if r in rs and f in fs:
            return name
    raise ValueError(f"R and F scores must be 1 to 5, got R = {r}, F = {f}")


def _segment_case() -> str:
    lines = ["CASE WHEN r_score = 1 AND f_score = 1 THEN 'Lost'"]
    for name, rs, fs, _ in RFM_SEGMENTS:
        if name == "Lost":
            continue
        r_in = ", ".join(str(v) for v in rs)
        f_in = ", ".join(str(v) for v in fs)
        quoted = name.replace("'", "''")
        lines.append(f"     WHEN r_score IN ({r_in}) AND f_score IN ({f_in}) THEN '{quoted}'")
    lines.append("END")
    return "\n".join(lines)


ATTRIBUTES_BUILD_SQL = f"""
CREATE OR REPLACE TABLE segment_attributes AS
WITH last_day AS (
    SELECT max(order_date) AS day FROM order_facts WHERE customer_id IS NOT NULL
),
coupons AS (
    SELECT customer_id, bool_or(coupon_code IS NOT NULL) AS coupon_user
    FROM order_facts
    WHERE customer_id IS NOT NULL
    GROUP BY customer_id
),
base AS (
    SELECT cs.customer_id,
           cs.email,
           c.name,
           cs.country,
           cs.first_channel,
           cs.first_category,
           cs.cohort_month,
           cs.first_order_at,
           cs.last_order_at,
           cs.orders,
           cs.revenue::DOUBLE AS revenue,
           cs.revenue::DOUBLE / nullif(cs.orders, 0) AS aov,
           date_diff('day', CAST(cs.last_order_at AS DATE), last_day.day) AS recency_days,
           coalesce(cs.loyalty_member, false) AS loyalty_member,
           coalesce(cp.coupon_user, false) AS coupon_user,
           coalesce(cs.accepts_marketing, false) AS accepts_marketing
    FROM customer_summary AS cs
    CROSS JOIN last_day
    LEFT JOIN customers AS c USING (customer_id)
    LEFT JOIN coupons AS cp USING (customer_id)
),
scored AS (
    SELECT *,
           least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY recency_days DESC)))::INTEGER
               AS r_score,
           least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY orders)))::INTEGER AS f_score,
           least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY revenue)))::INTEGER AS m_score
    FROM base
),
customer_attributes AS (
    SELECT *,
           {_segment_case()} AS rfm_segment
    FROM scored
)
SELECT * FROM customer_attributes
"""  # noqa: S608 (the CASE is built from the constant RFM_SEGMENTS)
"""Rebuilds ``segment_attributes``: one row per customer with every column of
:data:`ATTRIBUTES` except the model scores, plus email, name and first/last order. Run by
:func:`refresh_attributes` at every load, so the builder, the preview, the members and the
exports read a table instead of ranking every customer three times and grouping every order
per query (seconds at 10M orders)."""

_BASE_COLUMNS = (
    "customer_id, email, name, country, first_channel, first_category, cohort_month, "
    "first_order_at, last_order_at, orders, revenue, aov, recency_days, loyalty_member, "
    "coupon_user, accepts_marketing"
)

CUSTOMER_ATTRIBUTES_SQL = f"""
WITH last_day AS (
    SELECT max(order_date) AS day FROM order_facts WHERE customer_id IS NOT NULL
),
latest_scores AS (
    SELECT * FROM customer_scores
    WHERE run_id = (SELECT max(run_id) FROM customer_scores)
),
customer_attributes AS (
    SELECT {", ".join("a." + c for c in _BASE_COLUMNS.split(", "))},
           s.predicted_cltv, s.predicted_cltv_low, s.predicted_cltv_high, s.p_alive,
           s.churn_risk, a.r_score, a.f_score, a.m_score, a.rfm_segment
    FROM segment_attributes AS a
    LEFT JOIN latest_scores AS s USING (customer_id)
)
"""  # noqa: S608 (constant column names)
"""A WITH clause ending in ``customer_attributes``: ``segment_attributes`` with the scores of
the latest model run (joined when read, so a new run needs no rebuild); ``last_day`` is the
last order day of registered customers. Append a SELECT, or more CTEs after a comma."""


def refresh_attributes(tx: Any) -> None:
    """Rebuild ``segment_attributes`` inside the caller's transaction; a no-op while the file
    predates it (an older file being migrated step by step)."""
    present = tx.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'segment_attributes'"
    )
    if present:
        tx.execute(ATTRIBUTES_BUILD_SQL)
