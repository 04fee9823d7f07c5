"""Benchmark: each page's queries on a sample shop of about 1M orders, against the plain-pandas
computation of the same numbers, in the same run.

    .venv/bin/python bench/run_pages.py [--orders 1000000] [--repeat 5] [--out FILE.md]

Ours reads the DuckDB file (the app's path: derived tables, aggregation in DuckDB). The pandas
peer starts from the shop's DataFrames already in memory (loading them is not timed), as in a
notebook. Before timing, each pair's results are compared, so a ratio is never between two
different answers. "cold" is the first call after opening the file; "warm" the median of the
repeats. The floor is a bare DuckDB scan of the rows the computation needs (a count-distinct of
the customers and a sum over the same rows), the least any query over them costs; "ours /
scan" is how far above it the page is. Prints a Markdown table and writes it to --out.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import describe  # noqa: E402  (bench/machine.py, next to this script)

from retention.filters import Filters  # noqa: E402
from retention.metrics import trailing_periods  # noqa: E402
from retention.metrics.churn import churn_table, status_counts, survival_table  # noqa: E402
from retention.metrics.cohorts import COHORT_KPIS, CohortQuery, cohort_cells  # noqa: E402
from retention.metrics.conversion import aov_table, funnel  # noqa: E402
from retention.metrics.kpis import (  # noqa: E402
    KPI_NAMES,
    kpi_series,
    revenue_new_vs_returning,
)
from retention.metrics.periods import Period  # noqa: E402
from retention.metrics.registry import REGISTRY, compute  # noqa: E402
from retention.sample import SampleShop, build_sample_db, generate_sample  # noqa: E402
from retention.store import Store  # noqa: E402
from tests.oracles import pandas_kpis  # noqa: E402

ORDERS_PER_CUSTOMER = 2.87  # the sample shop's average (retention/sample.py)
INACTIVITY_DAYS = 180
# The floor: a bare scan of the rows a computation reads (counted orders; daily traffic).
ORDERS_SCAN = (
    "SELECT count(DISTINCT customer_id), sum(revenue) FROM order_facts "
    "WHERE status IN ('completed', 'refunded')"
)
# The funnel reads the daily traffic and counts the counted orders of the same days.
FUNNEL_SCAN = (
    "SELECT (SELECT count(DISTINCT date) FROM traffic_daily), "
    "(SELECT sum(sessions) FROM traffic_daily), "
    "(SELECT count(DISTINCT customer_id) FROM order_facts "
    "WHERE status IN ('completed', 'refunded')), "
    "(SELECT sum(revenue) FROM order_facts WHERE status IN ('completed', 'refunded'))"
)


@dataclass
class Timing:
    name: str
    ours_cold: float
    ours: list[float]
    peer: list[float]
    peer_name: str
    scan: list[float]

    def row(self) -> str:
        o = statistics.median(self.ours)
        f = statistics.median(self.scan)
        if self.peer:
            p = statistics.median(self.peer)
            peer = (
                f"{self.peer_name} {p * 1e3:,.0f} ({min(self.peer) * 1e3:,.0f}–"
                f"{max(self.peer) * 1e3:,.0f}) | {p / o:,.1f}x"
            )
        else:
            peer = f"{self.peer_name} | —"
        return (
            f"| {self.name} | {f * 1e3:,.0f} | {self.ours_cold * 1e3:,.0f} | {o * 1e3:,.0f} "
            f"({min(self.ours) * 1e3:,.0f}–{max(self.ours) * 1e3:,.0f}) | {o / f:,.1f}x "
            f"| {peer} |"
        )


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def machine() -> str:
    return describe("pandas", "duckdb")


def pandas_revenue_split(shop: SampleShop) -> pd.DataFrame:
    """Monthly revenue from first orders, repeat orders and guest orders, in pandas."""
    o = shop.orders[shop.orders["status"].isin(["completed", "refunded"])]
    o = o.sort_values(["ordered_at", "order_id"])
    n = o.groupby("customer_id").cumcount() + 1
    kind = np.where(o["customer_id"].isna(), "guest", np.where(n == 1, "new", "returning"))
    month = o["ordered_at"].dt.to_period("M").dt.to_timestamp()
    return (
        o.assign(period_start=month, customer_type=kind)
        .groupby(["period_start", "customer_type"])
        .agg(orders=("order_id", "size"), revenue=("revenue", "sum"))
        .reset_index()
    )


def counted_orders(shop: SampleShop) -> pd.DataFrame:
    o = shop.orders
    return o[o["status"].isin(["completed", "refunded"])]


def pandas_cohorts_tutorial(shop: SampleShop) -> pd.DataFrame:
    """The cohort matrix as the common tutorial writes it: periods as pandas Periods,
    transform('min') for the cohort, nunique per cell."""
    o = counted_orders(shop).dropna(subset=["customer_id"]).copy()
    o["order_month"] = o["ordered_at"].dt.to_period("M")
    o["cohort"] = o.groupby("customer_id")["order_month"].transform("min")
    o["period_index"] = (o["order_month"] - o["cohort"]).apply(lambda d: d.n)
    cells = o.groupby(["cohort", "period_index"])["customer_id"].nunique().reset_index()
    cells["cohort"] = cells["cohort"].dt.to_timestamp()
    return cells.rename(columns={"customer_id": "active_customers"})


def pandas_cohorts_tuned(shop: SampleShop) -> pd.DataFrame:
    """The same matrix, tuned: integer month codes, categorical ids, drop_duplicates + size."""
    o = counted_orders(shop)
    o = o[o["customer_id"].notna()]
    ids = pd.Categorical(o["customer_id"]).codes
    month = o["ordered_at"].dt.year.to_numpy() * 12 + o["ordered_at"].dt.month.to_numpy()
    first = pd.Series(month).groupby(ids).transform("min").to_numpy()
    cells = pd.DataFrame({"id": ids, "cohort": first, "k": month - first}).drop_duplicates()
    out = cells.groupby(["cohort", "k"]).size().reset_index(name="active_customers")
    out["cohort"] = pd.to_datetime(
        {"year": (out["cohort"] - 1) // 12, "month": (out["cohort"] - 1) % 12 + 1, "day": 1}
    )
    return out.rename(columns={"k": "period_index"})


def pandas_churn(
    shop: SampleShop, inactivity_days: int, months: list[pd.Timestamp]
) -> pd.DataFrame:
    """Churn per month with sets of active customers, one pass per month."""
    o = counted_orders(shop).dropna(subset=["customer_id"])
    n = pd.Timedelta(days=inactivity_days)
    rows = []
    for start in months:
        end = start + pd.offsets.MonthBegin(1)
        at = o["ordered_at"]
        a = set(o.loc[(at >= start - n) & (at < start), "customer_id"])
        b = set(o.loc[(at >= end - n) & (at < end), "customer_id"])
        rows.append({"period_start": start, "churn_rate": len(a - b) / len(a) if a else np.nan})
    return pd.DataFrame(rows)


def pandas_survival(shop: SampleShop) -> pd.DataFrame:
    """Days from first to second order per customer (censored at the last day), then
    Kaplan-Meier with statsmodels on one row per customer, as a notebook would."""
    from statsmodels.duration.survfunc import SurvfuncRight

    o = counted_orders(shop).dropna(subset=["customer_id"]).sort_values(["ordered_at", "order_id"])
    day = o["ordered_at"].dt.normalize()
    last = day.max()
    g = day.groupby(o["customer_id"])
    first = g.nth(0).set_axis(g.nth(0).index.map(o["customer_id"]))
    second = g.nth(1).set_axis(g.nth(1).index.map(o["customer_id"]))
    second = second.reindex(first.index)
    event = second.notna()
    duration = ((second.where(event, last)) - first).dt.days
    fit = SurvfuncRight(duration.to_numpy(float), event.to_numpy(int))
    return pd.DataFrame({"days": fit.surv_times.astype(int), "survival": fit.surv_prob})


def pandas_funnel(shop: SampleShop) -> pd.DataFrame:
    t = shop.traffic_daily
    steps = ["sessions", "product_views", "add_to_carts", "checkouts"]
    counts = [int(t[c].sum()) for c in steps] + [len(counted_orders(shop))]
    return pd.DataFrame({"step": [*steps, "orders"], "count": counts})


def pandas_aov(shop: SampleShop) -> pd.DataFrame:
    o = counted_orders(shop)
    month = o["ordered_at"].dt.to_period("M").dt.to_timestamp()
    g = o.groupby(month)["revenue"]
    return pd.DataFrame(
        {
            "period_start": g.sum().index,
            "orders": g.size().to_numpy(),
            "revenue": g.sum().to_numpy(),
        }
    )


def check_same(
    name: str, ours: pd.DataFrame, peer: pd.DataFrame, keys: list[str], how: str = "outer"
) -> None:
    merged = ours.merge(peer, on=keys, suffixes=("_ours", "_peer"), how=how)
    if merged.empty:
        raise SystemExit(f"{name}: nothing to compare")
    for col in [c[: -len("_ours")] for c in merged.columns if c.endswith("_ours")]:
        a = pd.to_numeric(merged[f"{col}_ours"], errors="coerce").to_numpy(float)
        b = pd.to_numeric(merged[f"{col}_peer"], errors="coerce").to_numpy(float)
        if not np.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True):
            raise SystemExit(f"{name}: ours and the pandas peer disagree on {col}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pages.md")
    args = parser.parse_args()

    customers = int(args.orders / ORDERS_PER_CUSTOMER)
    cache = ROOT / "bench" / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / f"shop-{customers}.duckdb"
    t = time.perf_counter()
    shop = generate_sample(customers)
    generated = time.perf_counter() - t
    if not db.exists():
        build_sample_db(db, customers)
    with Store(db):  # writable once: a cached file from an older version is migrated
        pass
    store = Store(db, read_only=True)
    orders = len(shop.orders)
    print(
        f"sample shop: {customers:,} customers, {orders:,} orders (generated in {generated:.1f} s)"
    )

    last_day = date(2026, 10, 31)
    periods = trailing_periods(last_day, 90, 8)
    filters = Filters()
    timings: list[Timing] = []

    def pair(
        name: str,
        ours: Callable[[], pd.DataFrame],
        peer: Callable[[], pd.DataFrame],
        keys: list[str],
        peer_name: str = "pandas",
        how: str = "outer",
        scan: str = ORDERS_SCAN,
    ) -> None:
        t0 = time.perf_counter()
        first = ours()
        cold = time.perf_counter() - t0
        check_same(name, first, peer(), keys, how)
        timings.append(
            Timing(
                name,
                cold,
                timed(ours, args.repeat),
                timed(peer, args.repeat),
                peer_name,
                timed(lambda: store.query(scan), args.repeat),
            )
        )
        print(timings[-1].row())

    def alone(name: str, ours: Callable[[], Any], note: str, scan: str = ORDERS_SCAN) -> None:
        """A page query without a pandas peer of its own (``note`` says what covers it)."""
        t0 = time.perf_counter()
        ours()
        cold = time.perf_counter() - t0
        timings.append(
            Timing(
                name,
                cold,
                timed(ours, args.repeat),
                [],
                note,
                timed(lambda: store.query(scan), args.repeat),
            )
        )
        print(timings[-1].row())

    pair(
        "Overview: 14 KPIs x 8 periods",
        lambda: kpi_series(store, periods, filters, inactivity_days=INACTIVITY_DAYS)[
            ["metric", "period_index", "value"]
        ],
        lambda: pandas_kpis(shop, filters, periods, INACTIVITY_DAYS),
        ["metric", "period_index"],
    )
    for name in KPI_NAMES:
        alone(
            f"Overview KPI: {REGISTRY[name].label} (8 periods)",
            lambda name=name: compute(
                store, REGISTRY[name], periods, filters, inactivity_days=INACTIVITY_DAYS
            ),
            "one query of the row above",
        )
    pair(
        "Overview: revenue new vs returning by month",
        lambda: revenue_new_vs_returning(store, filters, "month").assign(
            period_start=lambda d: pd.to_datetime(d["period_start"])
        ),
        lambda: pandas_revenue_split(shop),
        ["period_start", "customer_type"],
    )

    pair(
        "Cohorts: monthly retention matrix",
        lambda: (
            cohort_cells(store, CohortQuery(grain="month"))
            .assign(cohort=lambda d: pd.to_datetime(d["cohort"]))
            .query("active_customers > 0")[["cohort", "period_index", "active_customers"]]
        ),
        lambda: pandas_cohorts_tutorial(shop),
        ["cohort", "period_index"],
        "pandas (tutorial)",
    )
    pair(
        "Cohorts: monthly retention matrix",
        lambda: (
            cohort_cells(store, CohortQuery(grain="month"))
            .assign(cohort=lambda d: pd.to_datetime(d["cohort"]))
            .query("active_customers > 0")[["cohort", "period_index", "active_customers"]]
        ),
        lambda: pandas_cohorts_tuned(shop),
        ["cohort", "period_index"],
        "pandas (tuned)",
    )
    everything = [Period(0, datetime(2000, 1, 1), datetime(2100, 1, 1))]
    alone(
        "Cohorts: headline tiles (month-1/3 retention, 6/12-month LTV)",
        lambda: [compute(store, REGISTRY[n], everything, filters) for n in COHORT_KPIS],
        "checked against the page's averages in tests/metrics/test_cohorts.py",
    )
    churn_ours = churn_table(store, INACTIVITY_DAYS, grain="month")
    months = [pd.Timestamp(d) for d in churn_ours["period_start"]]
    pair(
        "Churn: churn rate per month",
        lambda: churn_table(store, INACTIVITY_DAYS, grain="month").assign(
            period_start=lambda d: pd.to_datetime(d["period_start"])
        )[["period_start", "churn_rate"]],
        lambda: pandas_churn(shop, INACTIVITY_DAYS, months),
        ["period_start"],
    )
    alone(
        "Churn: tiles (churned, at risk, median gap)",
        lambda: status_counts(store, INACTIVITY_DAYS),
        "checked against pandas in tests/metrics/test_churn.py",
    )
    pair(
        "Churn: Kaplan-Meier time to second order",
        lambda: survival_table(store)[["days", "survival"]].drop_duplicates("days", keep="last"),
        lambda: pandas_survival(shop),
        ["days"],
        "pandas + statsmodels",
        how="inner",  # statsmodels lists event times only; ours also censoring-only times
    )
    pair(
        "Conversion: funnel",
        lambda: funnel(store)[["step", "count"]],
        lambda: pandas_funnel(shop),
        ["step"],
        scan=FUNNEL_SCAN,
    )
    pair(
        "AOV: per month",
        lambda: aov_table(store, filters, "month")[["period_start", "orders", "revenue"]].assign(
            period_start=lambda d: pd.to_datetime(d["period_start"])
        ),
        lambda: pandas_aov(shop),
        ["period_start"],
    )

    header = (
        f"Sample shop of {orders:,} orders ({customers:,} customers); {args.repeat} repeats.\n"
        f"Machine: {machine()}.\n\n"
        "| computation | DuckDB scan ms | ours cold ms | ours warm ms (min–max) | ours / scan "
        "| peer ms (min–max) | peer / ours |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    table = header + "\n" + "\n".join(t.row() for t in timings) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print("\n" + table)
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
