"""Lift of a recorded target-list export: what the contacted group bought that the holdout did not.

For an export (``exports`` + ``export_members``, see ``retention.targets``) the orders after the
export's data (days ``data_last_day + 1`` to ``end``, both inclusive; counted orders of known
customers from ``order_facts``) are summed per member, zeros included, and compared between
``target`` (contacted) and ``holdout`` (not contacted). The holdout was drawn at random, so the
difference estimates the campaign's effect.

Two measures, with a two-sided interval at ``confidence``:

- **Repeat-purchase rate**: share of the group's customers with at least one counted order in
  the window. Every member bought before the export, so a purchase in the window is a repeat
  purchase. Lift = p_t - p_h with Newcomb's hybrid score interval (Newcomb 1998, method 10:
  Wilson intervals of each share combined), from
  ``statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")``; p-value from
  the score test (Miettinen-Nurminen 1985) of
  ``statsmodels.stats.proportion.test_proportions_2indep(method="score")``.
- **Revenue per customer**: the group's revenue in the window / its customers (non-buyers count
  as 0). Lift = m_t - m_h with Welch's interval, which needs only n, mean and sample variance
  per group (computed in DuckDB, so no per-customer rows reach pandas):

      se = sqrt(s_t²/n_t + s_h²/n_h)
      df = se⁴ / ((s_t²/n_t)² / (n_t - 1) + (s_h²/n_h)² / (n_h - 1))      (Welch-Satterthwaite)
      CI = (m_t - m_h) ± t_{1-α/2, df} · se

  the same interval as ``statsmodels.stats.weightstats.CompareMeans.tconfint_diff
  (usevar="unequal")``; the p-value is ``scipy.stats.ttest_ind_from_stats(equal_var=False)``.
  Revenue is skewed, so with few buyers the interval leans on the central limit theorem; the
  warnings say when the groups are too small to trust it.

Relative lift = (target - holdout) / holdout · 100, empty when the holdout's value is 0.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from retention.models.rfm_sql import Queryable
from retention.targets import get_export

__all__ = [
    "MIN_BUYERS",
    "MIN_CUSTOMERS",
    "GroupOutcome",
    "Lift",
    "LiftEstimate",
    "export_lift",
    "welch_interval",
]

MIN_CUSTOMERS = 30
"""Below this many customers in a group, the intervals are flagged as unreliable."""

MIN_BUYERS = 5
"""Below this many buyers in a group, the intervals are flagged as unreliable."""


@dataclass(frozen=True)
class GroupOutcome:
    """What one group (target or holdout) did after the export."""

    group: str
    customers: int
    buyers: int
    orders: int
    revenue: float
    repeat_purchase_rate: float | None
    revenue_per_customer: float | None
    revenue_sd: float | None


@dataclass(frozen=True)
class LiftEstimate:
    """target - holdout for one measure, with its interval and p-value (None: not computable)."""

    metric: str
    label: str
    target: float | None
    holdout: float | None
    difference: float | None
    low: float | None
    high: float | None
    relative_pct: float | None
    p_value: float | None
    method: str


@dataclass(frozen=True)
class Lift:
    """The lift of one export over the days ``start`` to ``end`` (both inclusive)."""

    export_id: int
    segment_name: str
    created_at: datetime
    data_last_day: date | None
    start: date | None
    end: date | None
    days: int
    confidence: float
    target: GroupOutcome
    holdout: GroupOutcome
    repeat_purchase_rate: LiftEstimate
    revenue_per_customer: LiftEstimate
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (dates as ISO text)."""
        out = asdict(self)
        for key in ("created_at", "data_last_day", "start", "end"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        out["warnings"] = list(self.warnings)
        return out


_OUTCOME_SQL = """
WITH members AS (
    SELECT customer_id, "group" FROM export_members WHERE export_id = $export_id
),
later AS (
    SELECT customer_id, count(*) AS orders, sum(revenue)::DOUBLE AS revenue
    FROM order_facts
    WHERE customer_id IS NOT NULL AND order_date > $after AND order_date <= $end
    GROUP BY customer_id
),
per_customer AS (
    SELECT m."group",
           coalesce(l.orders, 0) AS orders,
           coalesce(l.revenue, 0.0) AS revenue
    FROM members AS m
    LEFT JOIN later AS l USING (customer_id)
)
SELECT "group",
       count(*) AS customers,
       count(*) FILTER (WHERE orders > 0) AS buyers,
       sum(orders) AS orders,
       sum(revenue) AS revenue,
       avg(revenue) AS mean,
       var_samp(revenue) AS variance
FROM per_customer
GROUP BY "group"
ORDER BY "group"
"""

_LAST_DAY_SQL = "SELECT max(order_date) FROM order_facts WHERE customer_id IS NOT NULL"


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _outcome(group: str, row: pd.Series | None) -> tuple[GroupOutcome, float | None]:
    if row is None or int(row["customers"]) == 0:
        return GroupOutcome(group, 0, 0, 0, 0.0, None, None, None), None
    n = int(row["customers"])
    variance = _number(row["variance"])
    return (
        GroupOutcome(
            group=group,
            customers=n,
            buyers=int(row["buyers"]),
            orders=int(row["orders"]),
            revenue=float(row["revenue"]),
            repeat_purchase_rate=int(row["buyers"]) / n,
            revenue_per_customer=float(row["mean"]),
            revenue_sd=math.sqrt(variance) if variance is not None else None,
        ),
        variance,
    )


def _relative(diff: float | None, base: float | None) -> float | None:
    if diff is None or base is None or base == 0:
        return None
    return diff / base * 100


def _not_measured(
    metric: str, label: str, target: float | None, holdout: float | None, method: str
) -> LiftEstimate:
    return LiftEstimate(metric, label, target, holdout, None, None, None, None, None, method)


def _rate_lift(t: GroupOutcome, h: GroupOutcome, alpha: float) -> LiftEstimate:
    method = "Newcomb hybrid score interval; score test (Miettinen-Nurminen)"
    label = "Repeat-purchase rate"
    if t.customers == 0 or h.customers == 0:
        return _not_measured("repeat_purchase_rate", label, t.repeat_purchase_rate,
                             h.repeat_purchase_rate, method)  # fmt: skip
    diff = t.buyers / t.customers - h.buyers / h.customers
    # 0/0 inside statsmodels (no buyers anywhere, or all buyers) gives NaN: reported as None.
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        low, high = confint_proportions_2indep(
            t.buyers, t.customers, h.buyers, h.customers, method="newcomb", alpha=alpha
        )
        test = test_proportions_2indep(
            t.buyers, t.customers, h.buyers, h.customers, method="score", alternative="two-sided"
        )
    return LiftEstimate(
        metric="repeat_purchase_rate",
        label=label,
        target=t.repeat_purchase_rate,
        holdout=h.repeat_purchase_rate,
        difference=diff,
        low=_number(low),
        high=_number(high),
        relative_pct=_relative(diff, h.repeat_purchase_rate),
        p_value=_number(test.pvalue),
        method=method,
    )


def welch_interval(
    mean_t: float, var_t: float, n_t: int, mean_h: float, var_h: float, n_h: int, alpha: float
) -> tuple[float, float, float, float | None]:
    """(low, high, df, p-value) of mean_t - mean_h by Welch's unequal-variance t (see module).

    Both variances 0 (no variation at all): NaN interval and df, p-value None."""
    diff = mean_t - mean_h
    a, b = var_t / n_t, var_h / n_h
    se = math.sqrt(a + b)
    if se == 0:  # no variation in either group (say, no buyers at all): no interval
        return math.nan, math.nan, math.nan, None
    df = (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_h - 1))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    p = stats.ttest_ind_from_stats(
        mean_t, math.sqrt(var_t), n_t, mean_h, math.sqrt(var_h), n_h, equal_var=False
    ).pvalue
    return diff - half, diff + half, df, _number(p)


def _revenue_lift(
    t: GroupOutcome, var_t: float | None, h: GroupOutcome, var_h: float | None, alpha: float
) -> LiftEstimate:
    method = "Welch t interval (unequal variances)"
    label = "Revenue per customer"
    if t.revenue_per_customer is None or h.revenue_per_customer is None:
        return _not_measured("revenue_per_customer", label, t.revenue_per_customer,
                             h.revenue_per_customer, method)  # fmt: skip
    diff = t.revenue_per_customer - h.revenue_per_customer
    low = high = p = None
    if var_t is not None and var_h is not None:  # both groups have 2+ customers
        low, high, _df, p = welch_interval(
            t.revenue_per_customer, var_t, t.customers,
            h.revenue_per_customer, var_h, h.customers, alpha,
        )  # fmt: skip
    return LiftEstimate(
        metric="revenue_per_customer",
        label=label,
        target=t.revenue_per_customer,
        holdout=h.revenue_per_customer,
        difference=diff,
        low=_number(low),
        high=_number(high),
        relative_pct=_relative(diff, h.revenue_per_customer),
        p_value=p,
        method=method,
    )


def _warnings(
    lift_days: int, after: date | None, last_day: date | None, t: GroupOutcome, h: GroupOutcome
) -> list[str]:
    out: list[str] = []
    waiting = after is not None and lift_days > 0 and (last_day is None or last_day <= after)
    if waiting and after is not None:
        out.append(
            f"The file has no orders after the export's data ({after.isoformat()}) yet; "
            "import newer orders to measure the lift."
        )
    if after is None:
        out.append(
            "The export was made from a file without orders, so there is nothing to compare."
        )
    elif lift_days <= 0:
        out.append(
            f"No days have passed since the export (its data ends on {after.isoformat()}); "
            "import newer orders to measure the lift."
        )
    for g in (t, h):
        if g.customers == 0:
            out.append(
                f"The {g.group} group is empty, so the lift cannot be measured"
                + (" (the export had no holdout)." if g.group == "holdout" else ".")
            )
            continue
        if g.customers < MIN_CUSTOMERS:
            out.append(
                f"The {g.group} group has only {g.customers} customers; with fewer than "
                f"{MIN_CUSTOMERS} the intervals are unreliable."
            )
        if lift_days > 0 and not waiting and g.buyers < MIN_BUYERS:
            out.append(
                f"The {g.group} group has only {g.buyers} buyers since the export; with fewer "
                f"than {MIN_BUYERS} the intervals are unreliable."
            )
    return out


def export_lift(
    db: Queryable, export_id: int, *, end: date | None = None, confidence: float = 0.95
) -> Lift:
    """The lift of export ``export_id`` from the day after its data to ``end`` (inclusive).

    ``end`` defaults to the last order day in the file. ExportNotFoundError when the export
    does not exist; ValueError for a confidence outside (0, 1)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    alpha = 1 - confidence
    record = get_export(db, export_id)
    after = record.data_last_day
    last = db.query(_LAST_DAY_SQL).iloc[0, 0]
    last_day = None if last is None or pd.isna(last) else pd.Timestamp(last).date()
    if end is None:
        end = last_day
    start = after + timedelta(days=1) if after is not None else None
    days = (end - after).days if after is not None and end is not None else 0
    rows = db.query(
        _OUTCOME_SQL,
        {"export_id": record.export_id, "after": after, "end": end if days > 0 else after},
    )
    by_group = {str(r["group"]): r for _, r in rows.iterrows()}
    t, var_t = _outcome("target", by_group.get("target"))
    h, var_h = _outcome("holdout", by_group.get("holdout"))
    return Lift(
        export_id=record.export_id,
        segment_name=record.segment_name,
        created_at=record.created_at,
        data_last_day=after,
        start=start,
        end=end,
        days=max(days, 0),
        confidence=confidence,
        target=t,
        holdout=h,
        repeat_purchase_rate=_rate_lift(t, h, alpha),
        revenue_per_customer=_revenue_lift(t, var_t, h, var_h, alpha),
        warnings=tuple(_warnings(days, after, last_day, t, h)),
    )
