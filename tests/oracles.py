"""Plain-pandas reference computations of the metrics (test oracles, and the pandas peers in
bench/). Written independently of the SQL, from the definitions in DESIGN.md."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from retention.filters import Filters
from retention.metrics.periods import Period
from retention.sample import SampleShop

__all__ = ["pandas_kpis"]


def pandas_kpis(
    shop: SampleShop, filters: Filters, periods: Sequence[Period], inactivity_days: int
) -> pd.DataFrame:
    """The KPI definitions of retention/metrics/kpis.py, written again in plain pandas:
    one pass per period, as an analyst would in a notebook."""
    o = shop.orders[shop.orders["status"].isin(["completed", "refunded"])].copy()
    o = o.sort_values(["ordered_at", "order_id"])
    cust = shop.customers.set_index("customer_id")
    known = o.dropna(subset=["customer_id"])
    first = known.groupby("customer_id")["ordered_at"].min()
    first_channel = known.drop_duplicates("customer_id").set_index("customer_id")["channel"]
    channel = cust["acquisition_channel"].reindex(first.index).fillna(first_channel)
    country = cust["country"].reindex(first.index)
    keep = pd.Series(True, index=first.index)
    if filters.channels:
        keep &= channel.isin(filters.channels)
    if filters.countries:
        keep &= country.isin(filters.countries)
    chosen = set(first.index[keep])
    if filters.narrows_customers:
        o = o[o["customer_id"].isin(chosen)]
    o["first"] = o["customer_id"].map(first)
    o["n"] = o.groupby("customer_id").cumcount() + 1
    cust_orders = o.dropna(subset=["customer_id"])
    second = cust_orders[cust_orders["n"] == 2].set_index("customer_id")["ordered_at"]
    firsts = first[first.index.isin(chosen)]
    t = shop.traffic_daily
    spend = shop.marketing_spend.copy()
    if filters.channels:
        spend = spend[spend["channel"].isin(filters.channels)]
    # monthly spend spread evenly over the days of its month
    spend_days = []
    for row in spend.itertuples():
        days = pd.date_range(row.date, row.date + pd.offsets.MonthEnd(0), freq="D")
        spend_days.append(pd.DataFrame({"date": days, "spend": row.spend / len(days)}))
    daily = pd.concat(spend_days)
    rows = []
    for p in periods:
        s, e = pd.Timestamp(p.start), pd.Timestamp(p.end)
        length = e - s
        inp = o[(o["ordered_at"] >= s) & (o["ordered_at"] < e)]
        kc = inp.dropna(subset=["customer_id"])
        prev = o[(o["ordered_at"] >= s - length) & (o["ordered_at"] < s)].dropna(
            subset=["customer_id"]
        )
        prev_c, cur_c = set(prev["customer_id"]), set(kc["customer_id"])
        acquired = firsts[firsts < e]
        n_days = pd.Timedelta(days=inactivity_days)
        act_start = set(
            cust_orders[
                (cust_orders["ordered_at"] >= s - n_days) & (cust_orders["ordered_at"] < s)
            ]["customer_id"]
        )
        act_end = set(
            cust_orders[
                (cust_orders["ordered_at"] >= e - n_days) & (cust_orders["ordered_at"] < e)
            ]["customer_id"]
        )
        sessions = t[(t["date"] >= s) & (t["date"] < e)]["sessions"].sum()
        new = firsts[(firsts >= s) & (firsts < e)]
        sp = daily[(daily["date"] >= s) & (daily["date"] < e)]["spend"].sum()
        cltv = cust_orders[cust_orders["ordered_at"] < e]["revenue"].sum() / len(acquired)
        cac = sp / len(new) if len(new) and sp else np.nan
        cohort = cust_orders[cust_orders["customer_id"].isin(new.index)].copy()
        months = (
            (cohort["ordered_at"].dt.year - cohort["first"].dt.year) * 12
            + cohort["ordered_at"].dt.month
            - cohort["first"].dt.month
        )
        cum = cohort.groupby(months)["revenue"].sum().sort_index().cumsum() / len(new)
        reached = cum[cum >= cac]
        values = {
            "customers": kc["customer_id"].nunique(),
            "new_customers": kc[kc["n"] == 1]["customer_id"].nunique(),
            "returning_customers": kc[kc["first"] < s]["customer_id"].nunique(),
            "orders": len(inp),
            "revenue": inp["revenue"].sum(),
            "aov": inp["revenue"].sum() / len(inp),
            "repeat_purchase_rate": (second.reindex(acquired.index) < e).sum() / len(acquired),
            "retention_rate": len(prev_c & cur_c) / len(prev_c),
            "churn_rate": len(act_start - act_end) / len(act_start),
            "conversion_rate": np.nan if filters.narrows_customers else len(inp) / sessions,
            "historical_cltv": cltv,
            "cac": np.nan if filters.countries else cac,
            "ltv_cac": np.nan if filters.countries else cltv / cac,
            "payback_months": np.nan if filters.countries or reached.empty else reached.index[0],
        }
        rows += [
            {"metric": k, "period_index": p.index, "value": float(v)} for k, v in values.items()
        ]
    return pd.DataFrame(rows)
