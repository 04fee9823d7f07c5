"""Churn: the inactivity threshold, churn per period, customers at risk, time to next order.

Definitions (DESIGN.md, "Definitions"):

- **Churned** = no counted order for N days (``inactivity_days``). The default N is the 90th
  percentile (``percentile``) of the gaps between consecutive counted orders of the same
  customer (``order_facts.days_since_previous``, calendar days), rounded up to a whole day:
  90% of repeat orders come within N days of the previous one.
- **Active at d** = a counted order in [d − N, d) (as in the registry's ``churn_rate``).
- **Churned customers at d**: customers with a counted order before d and none in [d − N, d).
- **At risk at d**: active at d but no order in [d − A, d), with A = ⌊N / 2⌋: past halfway to
  churned. Every customer is exactly one of active-not-at-risk, at risk, churned.
- **Churn rate per period**: the registry metric ``churn_rate`` over whole calendar periods
  that have ended by the data's last day (a period still running cannot be judged yet).
- **Time to second order** (Kaplan–Meier): for each customer acquired in the date range, days
  from the first counted order to the second; event = 1 if the second order came by the end
  of the observation (the filter's end or the data's last day), otherwise censored at the days
  from the first order to that end (event = 0). Customers who have not reordered are censored,
  never dropped. The database returns only (group, duration, events, censored) counts.

Filters: channel and country select customers (acquisition channel and country). The date
range selects the orders whose gaps make the threshold and the median, the customers acquired
for the survival curves (first order inside it) and the periods; "now" is its end day.

References: Kaplan & Meier (1958); Greenwood (1926); Mantel (1966).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from retention.filters import Filters
from retention.metrics.kpis import (
    ACTIVITY_COUNTS_SQL,
    DEFAULT_INACTIVITY_DAYS,
    WINDOW_CUSTOMERS_SQL,
    data_last_day,
)
from retention.metrics.periods import GRAINS, Grain, Period, calendar_periods
from retention.metrics.registry import PRELUDE, REGISTRY, Metric, bind, compute, register
from retention.metrics.tables import TableRequest, register_table
from retention.models.survival import CURVE_COLUMNS, kaplan_meier_by_group

if TYPE_CHECKING:
    from retention.store import Store

__all__ = [
    "DEFAULT_PERCENTILE",
    "SPLITS",
    "Split",
    "ChurnWindow",
    "churn_window",
    "gap_quantile",
    "default_inactivity_days",
    "at_risk_days",
    "as_of_period",
    "status_counts",
    "churn_periods",
    "churn_table",
    "churn_counts_sql",
    "survival_counts",
    "survival_counts_sql",
    "survival_table",
    "GapHistogram",
    "gap_histogram",
    "gap_histogram_sql",
]

DEFAULT_PERCENTILE = 0.9
Split = Literal["none", "channel", "cohort"]
SPLITS: tuple[Split, ...] = ("none", "channel", "cohort")
ALL_GROUP = "All customers"

# --- registered metrics -----------------------------------------------------------------------

_A_DAYS = "CAST($inactivity_days AS INTEGER) // 2"
_STATUS = (
    """
, windows AS (
    SELECT period_index, 'recent' AS kind, CAST(period_end - to_days({width}) AS DATE) AS first_day,
           {width} AS width
    FROM periods
    UNION ALL
    SELECT period_index, 'within', CAST(period_end - to_days({within}) AS DATE), {within}
    FROM periods
)"""
    + WINDOW_CUSTOMERS_SQL
    + """,
acquired AS (
    SELECT p.period_index, count(fc.customer_id) AS customers
    FROM periods AS p
    LEFT JOIN (SELECT CAST(first_order_at AS DATE) AS day, customer_id FROM fc) AS fc
        ON fc.day < p.period_end
    GROUP BY p.period_index
),
counts AS (
    SELECT period_index,
           sum(customers) FILTER (WHERE kind = 'recent') AS recent,
           sum(customers) FILTER (WHERE kind = 'within') AS within
    FROM window_customers
    GROUP BY period_index
)
SELECT p.period_index, {value} AS value
FROM periods AS p
JOIN acquired AS a USING (period_index)
JOIN counts AS c USING (period_index)
ORDER BY p.period_index
"""
)
"""Counts of customers by when they last ordered before the period's end, from customers with
an order in two windows that end there (``WINDOW_CUSTOMERS_SQL``): ``recent`` is the last
``width`` days, ``within`` the last ``within`` days; ``a.customers`` is everyone acquired
before the end. No customer's orders are grouped."""
_N = "CAST($inactivity_days AS INTEGER)"

CHURNED_CUSTOMERS = register(
    Metric(
        name="churned_customers",
        label="Churned customers",
        definition="Customers whose last counted order is N or more days before the end of "
        "the period (N = the inactivity threshold).",
        formula="count(customers with last order < end − N days)",
        unit="count",
        higher_is_better=False,
        defaults={"inactivity_days": DEFAULT_INACTIVITY_DAYS},
        # acquired before the end − those with an order in the last N days
        sql=_STATUS.format(width=_N, within=_N, value="a.customers - c.recent"),
    )
)

CUSTOMERS_AT_RISK = register(
    Metric(
        name="customers_at_risk",
        label="At risk now",
        definition="Customers still active but overdue: their last counted order is between "
        "N/2 and N days before the end of the period, so they are past halfway to churned.",
        formula="count(customers with end − N ≤ last order < end − ⌊N/2⌋ days)",
        unit="count",
        higher_is_better=False,
        defaults={"inactivity_days": DEFAULT_INACTIVITY_DAYS},
        # an order in the last N days − an order in the last ⌊N/2⌋ days
        sql=_STATUS.format(width=_A_DAYS, within=_N, value="c.within - c.recent"),
    )
)

MEDIAN_DAYS_BETWEEN_ORDERS = register(
    Metric(
        name="median_days_between_orders",
        label="Median days between orders",
        definition="Half of repeat orders in the period came within this many days of the "
        "same customer's previous counted order.",
        formula="median(days_since_previous) over repeat orders in the period",
        unit="days",
        higher_is_better=False,
        sql="""
, gaps AS (
    SELECT period_index, quantile_cont(days_since_previous, 0.5) AS value
    FROM po
    WHERE order_number > 1
    GROUP BY period_index
)
SELECT p.period_index, g.value
FROM periods AS p
LEFT JOIN gaps AS g USING (period_index)
ORDER BY p.period_index
""",
    )
)

# --- the threshold ----------------------------------------------------------------------------


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


@dataclass(frozen=True)
class ChurnWindow:
    """The days the page looks at: first and last day (inclusive) and "now" = ``last_day``."""

    first_day: date
    last_day: date

    @property
    def period(self) -> Period:
        return Period(0, _midnight(self.first_day), _midnight(self.last_day) + timedelta(days=1))


def churn_window(store: Store, filters: Filters = Filters()) -> ChurnWindow | None:
    """The filter's dates, defaulting to the data's first and last order day; None when
    there are no orders."""
    last = data_last_day(store)
    if last is None:
        return None
    first = pd.Timestamp(store.scalar("SELECT CAST(min(ordered_at) AS DATE) FROM orders"))
    return ChurnWindow(filters.start or first.date(), filters.end or last)


def as_of_period(day: date) -> list[Period]:
    """One period ending after ``day``: metrics "as of" the end of that day."""
    return [Period(0, _midnight(day), _midnight(day) + timedelta(days=1))]


def gap_quantile(
    store: Store, filters: Filters = Filters(), percentile: float = DEFAULT_PERCENTILE
) -> float | None:
    """quantile_cont of ``days_since_previous`` over repeat orders in the date range (None
    without repeat orders)."""
    if not 0 < percentile < 1:
        raise ValueError(f"percentile must be between 0 and 1 (exclusive), got {percentile}")
    window = churn_window(store, filters)
    if window is None:
        return None
    value = compute(
        store,
        _GAP_QUANTILE,
        [window.period],
        filters,
        percentile=percentile,
    )["value"].iloc[0]
    return None if pd.isna(value) else float(value)


_GAP_QUANTILE = Metric(
    name="_gap_quantile",
    label="Gap percentile",
    definition="A percentile of days between consecutive counted orders of a customer.",
    formula="quantile_cont(days_since_previous, $percentile)",
    unit="days",
    sql="""
SELECT p.period_index, quantile_cont(fo.days_since_previous, $percentile) AS value
FROM periods AS p
LEFT JOIN fo ON fo.order_number > 1
            AND fo.ordered_at >= p.period_start AND fo.ordered_at < p.period_end
GROUP BY p.period_index
ORDER BY p.period_index
""",
)
"""Not registered (a parameter, not a KPI); computed through the same machinery."""


def default_inactivity_days(
    store: Store, filters: Filters = Filters(), percentile: float = DEFAULT_PERCENTILE
) -> int | None:
    """⌈percentile of gaps between orders⌉ in whole days, at least 1; None without repeats."""
    q = gap_quantile(store, filters, percentile)
    return None if q is None else max(1, math.ceil(q))


def at_risk_days(inactivity_days: int) -> int:
    """A = ⌊N / 2⌋: with no order for A days (and fewer than N) a customer is at risk."""
    return inactivity_days // 2


def status_counts(
    store: Store, inactivity_days: int, filters: Filters = Filters()
) -> dict[str, float] | None:
    """KPI values as of the window's last day: churned, at risk, median gap (None: no data)."""
    window = churn_window(store, filters)
    if window is None:
        return None
    now = as_of_period(window.last_day)
    out = {}
    for name in ("churned_customers", "customers_at_risk"):
        values = compute(store, REGISTRY[name], now, filters, inactivity_days=inactivity_days)
        out[name] = float(values["value"].iloc[0])
    median = compute(store, REGISTRY["median_days_between_orders"], [window.period], filters)
    out["median_days_between_orders"] = float(median["value"].iloc[0])
    return out


# --- churn per period -------------------------------------------------------------------------

CHURN_COUNTS_SQL = (
    ACTIVITY_COUNTS_SQL
    + """SELECT p.period_index,
       coalesce(a.active_at_start, 0) AS active_at_start,
       coalesce(a.churned_by_end, 0) AS churned_by_end
FROM periods AS p
LEFT JOIN activity AS a USING (period_index)
ORDER BY p.period_index
"""
)
"""The numerator and denominator of the registry's ``churn_rate`` (same flags)."""

CHURN_COLUMNS = (
    "period_start",
    "period_end",
    "active_at_start",
    "churned_by_end",
    "churn_rate",
    "inactivity_days",
)


def churn_counts_sql() -> str:
    return f"{PRELUDE}\n{CHURN_COUNTS_SQL.strip()}"


def churn_periods(window: ChurnWindow, grain: Grain) -> list[Period]:
    """Calendar periods in the window that have ended by its last day, latest first."""
    end = _midnight(window.last_day) + timedelta(days=1)
    whole = [p for p in calendar_periods(window.first_day, window.last_day, grain) if p.end <= end]
    return [Period(i, p.start, p.end) for i, p in enumerate(whole)]


def churn_table(
    store: Store,
    inactivity_days: int,
    filters: Filters = Filters(),
    grain: Grain = "month",
) -> pd.DataFrame:
    """One row per whole calendar period that starts at least ``inactivity_days`` after the
    first order in the file, oldest first: period_start, period_end (exclusive),
    active_at_start, churned_by_end, churn_rate (registry ``churn_rate``; NaN with nobody
    active), inactivity_days."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    if inactivity_days < 1:
        raise ValueError(f"inactivity_days must be at least 1, got {inactivity_days}")
    window = churn_window(store, filters)
    periods = churn_periods(window, grain) if window else []
    # A period needs N days of history before it: earlier, "active at the start" would only
    # count the few customers the shop had yet, and the rate would mislead.
    history_from = store.scalar("SELECT min(ordered_at) FROM order_facts")
    if history_from is not None:
        enough = pd.Timestamp(history_from).normalize() + pd.Timedelta(days=inactivity_days)
        periods = [p for p in periods if pd.Timestamp(p.start) >= enough]
        periods = [Period(i, p.start, p.end) for i, p in enumerate(periods)]
    if not periods:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CHURN_COLUMNS})
    sql = churn_counts_sql()
    values: dict[str, Any] = {
        **filters.named_params(),
        "period_index": [p.index for p in periods],
        "period_start": [p.start for p in periods],
        "period_end": [p.end for p in periods],
        "inactivity_days": inactivity_days,
    }
    counts = store.query(sql, bind(sql, values))
    frame = pd.DataFrame(
        {
            "period_index": [p.index for p in periods],
            "period_start": [p.start.date() for p in periods],
            "period_end": [p.end.date() for p in periods],
        }
    )
    out = frame.merge(counts, on="period_index")
    out["active_at_start"] = out["active_at_start"].astype("int64")
    out["churned_by_end"] = out["churned_by_end"].astype("int64")
    # The registry's churn_rate is churned / active over the same flags (CHURN_COUNTS_SQL);
    # dividing the counts here saves running the same range join a second time.
    active = out["active_at_start"].astype("float64")
    out["churn_rate"] = (out["churned_by_end"] / active).where(active > 0)
    out["inactivity_days"] = inactivity_days
    return out.sort_values("period_start", ascending=True)[list(CHURN_COLUMNS)].reset_index(
        drop=True
    )


# --- time to second order (Kaplan–Meier input) ------------------------------------------------

SURVIVAL_COUNTS_SQL = """
, spells AS (
    SELECT CASE $split
               WHEN 'channel' THEN coalesce(fc.first_channel, $unknown)
               WHEN 'cohort' THEN strftime(fc.cohort_quarter, '%Y') || '-Q'
                                  || CAST(quarter(fc.cohort_quarter) AS VARCHAR)
               ELSE $all_group
           END AS "group",
           fc.second_order_at IS NOT NULL AND fc.second_order_at < $as_of_end AS reordered,
           CASE WHEN fc.second_order_at IS NOT NULL AND fc.second_order_at < $as_of_end
                THEN date_diff('day', CAST(fc.first_order_at AS DATE),
                               CAST(fc.second_order_at AS DATE))
                ELSE date_diff('day', CAST(fc.first_order_at AS DATE), CAST($as_of_day AS DATE))
           END AS duration
    FROM fc
    WHERE fc.first_order_at >= $first_start AND fc.first_order_at < $as_of_end
)
SELECT "group", duration,
       count(*) FILTER (WHERE reordered) AS events,
       count(*) FILTER (WHERE NOT reordered) AS censored
FROM spells
GROUP BY ALL
ORDER BY "group", duration
"""


def survival_counts_sql() -> str:
    return f"{PRELUDE}\n{SURVIVAL_COUNTS_SQL.strip()}"


def survival_counts(
    store: Store, filters: Filters = Filters(), split: Split = "none"
) -> pd.DataFrame:
    """(group, duration, events, censored) counts of days from first to second order, for
    customers whose first order is in the window; see the module docstring."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    window = churn_window(store, filters)
    if window is None:
        return pd.DataFrame(
            {
                "group": pd.Series(dtype="str"),
                **{c: pd.Series(dtype="int64") for c in ("duration", "events", "censored")},
            }
        )
    period = window.period
    sql = survival_counts_sql()
    values = {
        **filters.named_params(),
        "period_index": [],
        "period_start": [],
        "period_end": [],
        "split": split,
        "all_group": ALL_GROUP,
        "first_start": period.start,
        "as_of_end": period.end,
        "as_of_day": window.last_day,
    }
    out = store.query(sql, bind(sql, values))
    for c in ("duration", "events", "censored"):
        out[c] = out[c].astype("int64")
    out["group"] = out["group"].astype("str")
    return out


def survival_table(
    store: Store, filters: Filters = Filters(), split: Split = "none"
) -> pd.DataFrame:
    """Kaplan–Meier of days from first to second order per group: :data:`CURVE_COLUMNS`."""
    return kaplan_meier_by_group(survival_counts(store, filters, split))


# --- time between orders histogram ------------------------------------------------------------

_BIN_CHOICES = (1, 2, 5, 7, 10, 14, 15, 30, 60, 90, 180, 365)

GAP_HISTOGRAM_SQL = """
SELECT CAST(floor(fo.days_since_previous / $bin_days) * $bin_days AS INTEGER) AS bin_start,
       count(*) AS orders
FROM fo
WHERE fo.order_number > 1 AND fo.ordered_at >= $first_start AND fo.ordered_at < $as_of_end
GROUP BY ALL
ORDER BY bin_start
"""


@dataclass(frozen=True)
class GapHistogram:
    """Repeat orders per bin of days since the previous order; ``bins``: bin_start, orders."""

    bins: pd.DataFrame
    bin_days: int
    median_days: float | None
    repeat_orders: int


def gap_histogram_sql() -> str:
    return f"{PRELUDE}\n{GAP_HISTOGRAM_SQL.strip()}"


def _bin_days(max_gap: float, target_bins: int = 60) -> int:
    for width in _BIN_CHOICES:
        if max_gap / width <= target_bins:
            return width
    return _BIN_CHOICES[-1]


def gap_histogram(store: Store, filters: Filters = Filters()) -> GapHistogram:
    """Histogram of ``days_since_previous`` over repeat orders in the window, binned in SQL
    with a round bin width (about 60 bins at most)."""
    window = churn_window(store, filters)
    empty = pd.DataFrame({"bin_start": pd.Series(dtype="int64"), "orders": []})
    if window is None:
        return GapHistogram(empty, 1, None, 0)
    top = gap_quantile(store, filters, 0.999)
    if top is None:
        return GapHistogram(empty, 1, None, 0)
    width = _bin_days(top)
    period = window.period
    sql = gap_histogram_sql()
    values = {
        **filters.named_params(),
        "period_index": [],
        "period_start": [],
        "period_end": [],
        "bin_days": width,
        "first_start": period.start,
        "as_of_end": period.end,
    }
    bins = store.query(sql, bind(sql, values))
    bins["orders"] = bins["orders"].astype("int64")
    median = gap_quantile(store, filters, 0.5)
    return GapHistogram(bins, width, median, int(bins["orders"].sum()))


# --- CLI tables -------------------------------------------------------------------------------


def _threshold(store: Store, request: TableRequest) -> int:
    given = request.params.get("inactivity_days")
    if given is not None:
        return int(given)
    percentile = float(request.params.get("percentile", DEFAULT_PERCENTILE))
    return default_inactivity_days(store, request.filters, percentile) or DEFAULT_INACTIVITY_DAYS


@register_table(
    "churn",
    "Churn per whole calendar period: customers active at its start (an order in the N days "
    "before), those of them with no order in the N days before its end, the churn rate and "
    "the threshold N (default: the 90th percentile of days between orders, rounded up).",
)
def churn_cli_table(store: Store, request: TableRequest) -> pd.DataFrame:
    return churn_table(store, _threshold(store, request), request.filters, request.period)


@register_table(
    "survival",
    "Kaplan–Meier curve of days from first to second order (not yet reordered = censored): "
    "group, days, at risk, events, censored, survival and its 95% log-log band. "
    "params: split = none | channel | cohort.",
)
def survival_cli_table(store: Store, request: TableRequest) -> pd.DataFrame:
    split = str(request.params.get("split", "none"))
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    table = survival_table(store, request.filters, split)  # type: ignore[arg-type]
    return table[list(CURVE_COLUMNS)]
