"""Conversion and average order value (AOV): funnel, conversion by channel and device, AOV.

Definitions (DESIGN.md, "Definitions"):

- AOV = revenue / counted orders (completed or refunded; guest orders included).
- Conversion = counted orders / sessions over the same days (and channels, when split by one).
- Orders by channel use the ORDER's channel (``order_facts.channel``), which matches the
  traffic channels. Orders have no device, so by device only the last observed step is known:
  the *checkout rate* = checkouts / sessions. Orders are never allocated to devices.
- New vs returning orders: ``order_number = 1`` vs ``> 1``; guest orders are their own group.

Filters: the date range selects days (``traffic_daily.date``, ``order_facts.ordered_at``). The
sidebar's channel and country filters select customers by ACQUISITION channel and country;
sessions have neither, so every traffic-based number (sessions, funnel, conversion, checkout
rate) is undefined under them: the registered metrics return NULL and
:func:`conversion_table` raises. The page computes them with the date range only and says so.
AOV numbers honour every filter.

Traffic steps that are missing on some rows (optional columns left empty) are reported as
unknown (NULL) for the whole group rather than summed over the rows that have them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from retention.filters import Filters
from retention.metrics.periods import GRAINS, Grain
from retention.metrics.registry import PRELUDE, Metric, bind, register
from retention.metrics.tables import TableRequest, register_table

if TYPE_CHECKING:
    from retention.store import Store

__all__ = [
    "FUNNEL_STEPS",
    "ALL_DEVICES",
    "TRAFFIC_METRICS",
    "AOV_METRICS",
    "date_filters",
    "traffic_days",
    "traffic_filters",
    "conversion_table",
    "conversion_sql",
    "device_checkout_rates",
    "funnel",
    "funnel_sql",
    "aov_table",
    "aov_sql",
    "aov_by_channel",
    "aov_by_channel_sql",
    "AovDistribution",
    "aov_distribution",
    "aov_histogram_sql",
]

FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("sessions", "Sessions"),
    ("product_views", "Product views"),
    ("add_to_carts", "Add to cart"),
    ("checkouts", "Checkout"),
    ("orders", "Orders"),
)
"""Funnel columns and their labels, in funnel order."""

ALL_DEVICES = "(all devices)"
"""Device label of the per-channel total rows in :func:`conversion_table`."""

_TRAFFIC_NOTE = "Import daily traffic (traffic_daily) on the Data page."

# --- registered metrics -----------------------------------------------------------------------

_TRAFFIC_IN_PERIOD = """
, traffic AS (
    SELECT p.period_index,
           sum(t.sessions) AS sessions,
           CASE WHEN count(t.product_views) = count(*) THEN sum(t.product_views) END
               AS product_views,
           CASE WHEN count(t.add_to_carts) = count(*) THEN sum(t.add_to_carts) END
               AS add_to_carts,
           CASE WHEN count(t.checkouts) = count(*) THEN sum(t.checkouts) END AS checkouts
    FROM periods AS p
    JOIN traffic_daily AS t ON t.date >= p.period_start AND t.date < p.period_end
    GROUP BY ALL
)
SELECT p.period_index,
       CASE WHEN NOT $narrows_customers THEN {value} END AS value
FROM periods AS p
LEFT JOIN traffic AS t USING (period_index)
ORDER BY p.period_index
"""


def _traffic_metric(name: str, label: str, definition: str, formula: str, value: str) -> Metric:
    unit = "count" if name == "sessions" else "share"
    return register(
        Metric(
            name=name,
            label=label,
            definition=definition + " Needs daily traffic; not available with channel or "
            "country filters, since sessions have neither.",
            formula=formula,
            unit=unit,
            requires=("traffic_daily",),
            note_when_missing=_TRAFFIC_NOTE,
            sql=_TRAFFIC_IN_PERIOD.format(value=value),
        )
    )


SESSIONS = _traffic_metric(
    "sessions",
    "Sessions",
    "Sessions started in the period, all channels and devices.",
    "sum(sessions)",
    "t.sessions",
)
ADD_TO_CART_RATE = _traffic_metric(
    "add_to_cart_rate",
    "Add-to-cart rate",
    "Share of sessions that added a product to the cart.",
    "sum(add_to_carts) / sum(sessions)",
    "t.add_to_carts / nullif(t.sessions, 0)",
)
CART_TO_CHECKOUT_RATE = _traffic_metric(
    "cart_to_checkout_rate",
    "Cart-to-checkout rate",
    "Of the sessions that added to cart, the share that reached checkout.",
    "sum(checkouts) / sum(add_to_carts)",
    "t.checkouts / nullif(t.add_to_carts, 0)",
)
CHECKOUT_RATE = _traffic_metric(
    "checkout_rate",
    "Checkout rate",
    "Share of sessions that reached checkout: the last funnel step known per device, "
    "since orders carry no device.",
    "sum(checkouts) / sum(sessions)",
    "t.checkouts / nullif(t.sessions, 0)",
)

_AOV_OF = """
, aov AS (
    SELECT period_index,
           sum(fo.revenue) FILTER (WHERE {where})
               / nullif(count(fo.order_id) FILTER (WHERE {where}), 0) AS value
    FROM po AS fo
    GROUP BY period_index
)
SELECT p.period_index, a.value
FROM periods AS p
LEFT JOIN aov AS a USING (period_index)
ORDER BY p.period_index
"""

NEW_CUSTOMER_AOV = register(
    Metric(
        name="new_customer_aov",
        label="New-customer AOV",
        definition="Revenue per first order: average value of customers' first counted "
        "orders in the period (guest orders excluded).",
        formula="sum(revenue) / count(orders) where order_number = 1",
        unit="money",
        sql=_AOV_OF.format(where="NOT fo.is_guest AND fo.order_number = 1"),
    )
)

RETURNING_CUSTOMER_AOV = register(
    Metric(
        name="returning_customer_aov",
        label="Returning-customer AOV",
        definition="Revenue per repeat order: average value of customers' second and later "
        "counted orders in the period (guest orders excluded).",
        formula="sum(revenue) / count(orders) where order_number > 1",
        unit="money",
        sql=_AOV_OF.format(where="NOT fo.is_guest AND fo.order_number > 1"),
    )
)

GUEST_AOV = register(
    Metric(
        name="guest_aov",
        label="Guest AOV",
        definition="Revenue per guest order (an order without a customer id) in the period.",
        formula="sum(revenue) / count(orders) where customer_id is null",
        unit="money",
        sql=_AOV_OF.format(where="fo.is_guest"),
    )
)

TRAFFIC_METRICS: tuple[str, ...] = (
    "sessions",
    "add_to_cart_rate",
    "cart_to_checkout_rate",
    "checkout_rate",
)
AOV_METRICS: tuple[str, ...] = ("new_customer_aov", "returning_customer_aov", "guest_aov")

# --- shared helpers ---------------------------------------------------------------------------


def date_filters(filters: Filters) -> Filters:
    """The filters with only the date range kept: what traffic-based numbers can honour."""
    return Filters(start=filters.start, end=filters.end)


def _check_grain(grain: str) -> None:
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")


def _refuse_customer_filters(filters: Filters) -> None:
    if filters.narrows_customers:
        raise ValueError(
            "conversion cannot be filtered by acquisition channel or country: sessions have "
            "neither, and conversion splits by the ORDER's channel; drop the channel and "
            "country filters (the date range applies)"
        )


def _params(filters: Filters, **extra: Any) -> dict[str, Any]:
    """Named values for the statements below: filters, date bounds, empty period lists."""
    return {
        **filters.named_params(),
        "start": filters.start,
        "end": filters.end + timedelta(days=1) if filters.end else None,
        "period_index": [],
        "period_start": [],
        "period_end": [],
        **extra,
    }


def _run(store: Store, sql: str, values: dict[str, Any]) -> pd.DataFrame:
    return store.query(sql, bind(sql, values))


def traffic_days(store: Store, filters: Filters = Filters()) -> tuple[date, date] | None:
    """First and last day with traffic inside the date filter, or None without traffic."""
    sql = """
SELECT min(t.date), max(t.date) FROM traffic_daily AS t
WHERE ($start IS NULL OR t.date >= $start) AND ($end IS NULL OR t.date < $end)
"""
    row = store.query(sql, bind(sql, _params(filters)))
    first, last = row.iloc[0, 0], row.iloc[0, 1]
    if first is None or pd.isna(first):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def traffic_filters(store: Store, filters: Filters = Filters()) -> Filters | None:
    """The date range of ``filters`` narrowed to the days with traffic (channel and country
    dropped), so orders and sessions are counted over the same days; None without traffic."""
    days = traffic_days(store, date_filters(filters))
    return None if days is None else Filters(start=days[0], end=days[1])


# --- conversion table -------------------------------------------------------------------------

_STEP_SUMS = """sum(sessions) AS sessions,
           CASE WHEN count(product_views) = count(*) THEN sum(product_views) END
               AS product_views,
           CASE WHEN count(add_to_carts) = count(*) THEN sum(add_to_carts) END AS add_to_carts,
           CASE WHEN count(checkouts) = count(*) THEN sum(checkouts) END AS checkouts"""

CONVERSION_SQL = (
    """
, traffic AS (
    SELECT CAST(date_trunc($grain, t.date) AS DATE) AS period_start, t.channel, t.device,
           """
    + _STEP_SUMS
    + """
    FROM traffic_daily AS t
    WHERE ($start IS NULL OR t.date >= $start) AND ($end IS NULL OR t.date < $end)
    GROUP BY ALL
),
by_channel AS (
    SELECT period_start, channel,
           """
    + _STEP_SUMS
    + """
    FROM traffic
    GROUP BY ALL
),
orders AS (
    SELECT CAST(date_trunc($grain, fo.ordered_at) AS DATE) AS period_start,
           coalesce(fo.channel, $unknown) AS channel, count(*) AS orders
    FROM fo
    WHERE ($start IS NULL OR fo.ordered_at >= $start) AND ($end IS NULL OR fo.ordered_at < $end)
    GROUP BY ALL
)
SELECT period_start, channel, $all_devices AS device,
       c.sessions, c.product_views, c.add_to_carts, c.checkouts,
       coalesce(o.orders, 0) AS orders,
       coalesce(o.orders, 0) / nullif(c.sessions, 0) AS conversion_rate,
       c.checkouts / nullif(c.sessions, 0) AS checkout_rate
FROM by_channel AS c
FULL JOIN orders AS o USING (period_start, channel)
UNION ALL
SELECT period_start, channel, device, sessions, product_views, add_to_carts, checkouts,
       NULL AS orders, NULL AS conversion_rate, checkouts / nullif(sessions, 0) AS checkout_rate
FROM traffic
ORDER BY period_start, channel, device
"""
)

CONVERSION_COLUMNS = (
    "period_start",
    "channel",
    "device",
    "sessions",
    "product_views",
    "add_to_carts",
    "checkouts",
    "orders",
    "conversion_rate",
    "checkout_rate",
)


def conversion_sql() -> str:
    return f"{PRELUDE}\n{CONVERSION_SQL.strip()}"


def conversion_table(
    store: Store, filters: Filters = Filters(), grain: Grain = "month"
) -> pd.DataFrame:
    """One row per calendar period x channel x device, plus a per-channel total row.

    Rows with ``device = ALL_DEVICES`` total the channel over devices and carry ``orders``
    (counted orders whose ORDER channel is that channel) and ``conversion_rate = orders /
    sessions``. Per-device rows leave ``orders`` and ``conversion_rate`` empty (orders have no
    device) and give ``checkout_rate = checkouts / sessions``. Orders in channels without
    traffic appear with empty sessions; orders without a channel under ``(unknown)``.
    Raises ValueError with channel or country filters (see the module docstring).
    """
    _check_grain(grain)
    _refuse_customer_filters(filters)
    out = _run(store, conversion_sql(), _params(filters, grain=grain, all_devices=ALL_DEVICES))
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    for column in ("sessions", "product_views", "add_to_carts", "checkouts", "orders"):
        out[column] = out[column].astype("Int64")
    for column in ("conversion_rate", "checkout_rate"):
        out[column] = pd.to_numeric(out[column]).astype("float64")
    return out[list(CONVERSION_COLUMNS)].reset_index(drop=True)


def device_checkout_rates(table: pd.DataFrame) -> pd.DataFrame:
    """From :func:`conversion_table`: period_start, device, sessions, checkouts, checkout_rate
    (= sum(checkouts) / sum(sessions) over channels). Aggregated rows only, never orders."""
    rows = table[table["device"] != ALL_DEVICES]
    rows = rows.dropna(subset=["sessions"])
    grouped = rows.groupby(["period_start", "device"], as_index=False).agg(
        sessions=("sessions", "sum"),
        checkouts=("checkouts", lambda s: s.sum() if s.notna().all() else pd.NA),
    )
    sessions = grouped["sessions"].astype("float64")
    checkouts = pd.to_numeric(grouped["checkouts"]).astype("float64")
    grouped["checkout_rate"] = (checkouts / sessions.where(sessions > 0)).astype("float64")
    return grouped.sort_values(["period_start", "device"]).reset_index(drop=True)


@register_table(
    "conversion",
    "Traffic funnel and conversion per calendar period x channel x device. Rows with device "
    f"'{ALL_DEVICES}' total a channel and carry orders (by the order's channel) and "
    "conversion_rate = orders / sessions; device rows give checkout_rate = checkouts / "
    "sessions, since orders have no device. The date range applies; channel and country "
    "filters are refused.",
)
def conversion_cli_table(store: Store, request: TableRequest) -> pd.DataFrame:
    return conversion_table(store, request.filters, request.period)


# --- funnel -----------------------------------------------------------------------------------

FUNNEL_SQL = (
    """
, traffic AS (
    SELECT """
    + _STEP_SUMS
    + """
    FROM traffic_daily
    WHERE ($start IS NULL OR date >= $start) AND ($end IS NULL OR date < $end)
)
SELECT t.sessions, t.product_views, t.add_to_carts, t.checkouts,
       (SELECT count(*) FROM fo
        WHERE ($start IS NULL OR fo.ordered_at >= $start)
          AND ($end IS NULL OR fo.ordered_at < $end)) AS orders
FROM traffic AS t
"""
)


def funnel_sql() -> str:
    return f"{PRELUDE}\n{FUNNEL_SQL.strip()}"


def funnel(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per step (FUNNEL_STEPS order): step, label, count, rate_from_previous
    (= step / previous step) and rate_from_sessions (= step / sessions), over the days of the
    date filter. Orders are all counted orders of those days. Empty without traffic.
    Raises ValueError with channel or country filters."""
    _refuse_customer_filters(filters)
    row = _run(store, funnel_sql(), _params(filters)).iloc[0]
    if pd.isna(row["sessions"]):
        return pd.DataFrame(
            columns=["step", "label", "count", "rate_from_previous", "rate_from_sessions"]
        )
    counts = [None if pd.isna(row[s]) else int(row[s]) for s, _ in FUNNEL_STEPS]
    sessions = counts[0]
    records = []
    for i, (step, label) in enumerate(FUNNEL_STEPS):
        value, previous = counts[i], counts[i - 1] if i else None
        records.append(
            {
                "step": step,
                "label": label,
                "count": value,
                "rate_from_previous": _ratio(value, previous) if i else 1.0,
                "rate_from_sessions": _ratio(value, sessions),
            }
        )
    out = pd.DataFrame.from_records(records)
    out["count"] = out["count"].astype("Int64")
    for column in ("rate_from_previous", "rate_from_sessions"):
        out[column] = out[column].astype("float64")
    return out


def _ratio(num: int | None, den: int | None) -> float:
    if num is None or not den:
        return math.nan
    return num / den


# --- AOV --------------------------------------------------------------------------------------

AOV_SQL = """
SELECT CAST(date_trunc($grain, fo.ordered_at) AS DATE) AS period_start,
       count(*) AS orders,
       sum(fo.revenue) AS revenue,
       sum(fo.revenue) / count(*) AS aov,
       count(*) FILTER (WHERE NOT fo.is_guest AND fo.order_number = 1) AS new_orders,
       sum(fo.revenue) FILTER (WHERE NOT fo.is_guest AND fo.order_number = 1)
           / nullif(count(*) FILTER (WHERE NOT fo.is_guest AND fo.order_number = 1), 0)
           AS new_aov,
       count(*) FILTER (WHERE NOT fo.is_guest AND fo.order_number > 1) AS returning_orders,
       sum(fo.revenue) FILTER (WHERE NOT fo.is_guest AND fo.order_number > 1)
           / nullif(count(*) FILTER (WHERE NOT fo.is_guest AND fo.order_number > 1), 0)
           AS returning_aov,
       count(*) FILTER (WHERE fo.is_guest) AS guest_orders,
       sum(fo.revenue) FILTER (WHERE fo.is_guest)
           / nullif(count(*) FILTER (WHERE fo.is_guest), 0) AS guest_aov
FROM fo
WHERE ($start IS NULL OR fo.ordered_at >= $start) AND ($end IS NULL OR fo.ordered_at < $end)
GROUP BY ALL
ORDER BY period_start
"""

AOV_COLUMNS = (
    "period_start",
    "orders",
    "revenue",
    "aov",
    "new_orders",
    "new_aov",
    "returning_orders",
    "returning_aov",
    "guest_orders",
    "guest_aov",
)


def aov_sql() -> str:
    return f"{PRELUDE}\n{AOV_SQL.strip()}"


def aov_table(store: Store, filters: Filters = Filters(), grain: Grain = "month") -> pd.DataFrame:
    """One row per calendar period with counted orders: orders, revenue, aov = revenue /
    orders, and the split into new (order_number = 1), returning (> 1) and guest orders, each
    with its orders and AOV. new + returning + guest orders = orders. All filters apply."""
    _check_grain(grain)
    out = _run(store, aov_sql(), _params(filters, grain=grain))
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    for column in ("orders", "new_orders", "returning_orders", "guest_orders"):
        out[column] = out[column].astype("int64")
    for column in ("revenue", "aov", "new_aov", "returning_aov", "guest_aov"):
        out[column] = pd.to_numeric(out[column]).astype("float64")
    return out[list(AOV_COLUMNS)].reset_index(drop=True)


@register_table(
    "aov",
    "Average order value per calendar period: orders, revenue, aov = revenue / orders, split "
    "into new (first orders), returning (later orders) and guest orders. All filters apply.",
)
def aov_cli_table(store: Store, request: TableRequest) -> pd.DataFrame:
    return aov_table(store, request.filters, request.period)


AOV_BY_CHANNEL_SQL = """
SELECT coalesce(fo.channel, $unknown) AS channel,
       count(*) AS orders,
       sum(fo.revenue) AS revenue,
       sum(fo.revenue) / count(*) AS aov
FROM fo
WHERE ($start IS NULL OR fo.ordered_at >= $start) AND ($end IS NULL OR fo.ordered_at < $end)
GROUP BY ALL
ORDER BY aov DESC, channel
"""


def aov_by_channel_sql() -> str:
    return f"{PRELUDE}\n{AOV_BY_CHANNEL_SQL.strip()}"


def aov_by_channel(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """channel (the order's), orders, revenue, aov = revenue / orders; highest AOV first."""
    out = _run(store, aov_by_channel_sql(), _params(filters))
    out["orders"] = out["orders"].astype("int64")
    for column in ("revenue", "aov"):
        out[column] = pd.to_numeric(out[column]).astype("float64")
    return out


AOV_STATS_SQL = """
SELECT count(*) AS orders,
       min(fo.revenue) AS low,
       quantile_cont(fo.revenue, 0.99) AS p99,
       median(fo.revenue) AS median,
       avg(fo.revenue) AS mean
FROM fo
WHERE ($start IS NULL OR fo.ordered_at >= $start) AND ($end IS NULL OR fo.ordered_at < $end)
"""

AOV_HISTOGRAM_SQL = """
, binned AS (
    SELECT least(CAST(floor((fo.revenue - $low) / $width) AS BIGINT), $bins) AS bin
    FROM fo
    WHERE ($start IS NULL OR fo.ordered_at >= $start)
      AND ($end IS NULL OR fo.ordered_at < $end)
)
SELECT bin, count(*) AS orders
FROM binned
GROUP BY bin
ORDER BY bin
"""


def aov_histogram_sql() -> str:
    return f"{PRELUDE}\n{AOV_HISTOGRAM_SQL.strip()}"


@dataclass(frozen=True)
class AovDistribution:
    """Order values binned in DuckDB. ``bins``: bin_start, bin_end, orders, overflow (the last
    bin holds every order at or above ``overflow_from``, about the 99th percentile)."""

    bins: pd.DataFrame
    orders: int
    median: float
    mean: float
    overflow_from: float
    width: float


def _nice_width(span: float, bins: int) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that covers ``span`` in ``bins`` bins."""
    if span <= 0:
        return 1.0
    raw = span / bins
    base = 10 ** math.floor(math.log10(raw))
    return next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)


def aov_distribution(store: Store, filters: Filters = Filters(), bins: int = 40) -> AovDistribution:
    """Histogram of counted order values: ``bins`` equal bins of a round width from the lowest
    value (or 0) up to the 99th percentile, and one overflow bin for the top ~1%. All filters
    apply. Only the bin counts leave DuckDB."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    stats = _run(store, f"{PRELUDE}\n{AOV_STATS_SQL.strip()}", _params(filters)).iloc[0]
    n = int(stats["orders"])
    empty = pd.DataFrame(columns=["bin_start", "bin_end", "orders", "overflow"])
    if n == 0:
        return AovDistribution(empty, 0, math.nan, math.nan, math.nan, math.nan)
    low = min(0.0, math.floor(float(stats["low"])))
    width = _nice_width(float(stats["p99"]) - low, bins)
    top = low + width * bins
    counts = _run(store, aov_histogram_sql(), _params(filters, low=low, width=width, bins=bins))
    edges = pd.DataFrame({"bin": range(bins + 1)})
    out = edges.merge(counts, on="bin", how="left").fillna({"orders": 0})
    out["bin_start"] = low + out["bin"] * width
    out["bin_end"] = (out["bin_start"] + width).where(out["bin"] < bins, math.inf)
    out["orders"] = out["orders"].astype("int64")
    out["overflow"] = out["bin"] == bins
    if out["orders"].iloc[-1] == 0:
        out = out.iloc[:-1]
    return AovDistribution(
        bins=out[["bin_start", "bin_end", "orders", "overflow"]].reset_index(drop=True),
        orders=n,
        median=float(stats["median"]),
        mean=float(stats["mean"]),
        overflow_from=top,
        width=width,
    )
