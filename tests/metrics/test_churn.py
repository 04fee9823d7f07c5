"""Churn metrics and tables: a hand-written shop with typed-out answers, pandas agreement on the
sample shop, invariants."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.filters import Filters
from retention.ingest.load import load_frames
from retention.metrics import churn
from retention.metrics.registry import REGISTRY, compute
from retention.metrics.tables import TableRequest, build_table
from retention.models.survival import kaplan_meier_by_group, logrank
from retention.sample import SampleShop, build_sample_db, generate_sample
from retention.store import Store
from tests.conftest import frame

# The hand shop. Gaps between a customer's orders: a 10 and 30 days, b 20, d 59 days.
# Last day of the data: 2024-03-31 (d's second order).
HAND_ORDERS = [
    ("a1", "a", "2024-01-01 12:00", "email"),
    ("a2", "a", "2024-01-11 12:00", "organic"),
    ("a3", "a", "2024-02-10 12:00", "organic"),
    ("b1", "b", "2024-01-05 12:00", "social"),
    ("b2", "b", "2024-01-25 12:00", "social"),
    ("c1", "c", "2024-01-20 12:00", "email"),
    ("d1", "d", "2024-02-01 12:00", "social"),
    ("d2", "d", "2024-03-31 12:00", "social"),
    ("e1", "e", "2024-03-10 12:00", "email"),
    ("x1", "c", "2024-03-20 12:00", "email"),  # cancelled: not a counted order
    ("g1", None, "2024-03-15 12:00", "organic"),  # guest: no customer
]


@pytest.fixture
def hand(store: Store) -> Store:
    rows = [
        {
            "order_id": oid,
            "customer_id": cid,
            "ordered_at": at,
            "revenue": 10.0,
            "channel": ch,
            "status": "cancelled" if oid == "x1" else "completed",
        }
        for oid, cid, at, ch in HAND_ORDERS
    ]
    load_frames(store, {"orders": frame("orders", rows)}, source_name="hand")
    return store


def test_default_threshold_is_the_90th_percentile_rounded_up(hand: Store) -> None:
    # Gaps 10, 20, 30, 59: quantile_cont(0.9) sits at position 0.9·3 = 2.7 between 30 and 59:
    # 30 + 0.7·29 = 50.3 days, rounded up to 51. The median is halfway 20..30 = 25.
    assert churn.gap_quantile(hand) == pytest.approx(50.3)
    assert churn.default_inactivity_days(hand) == 51
    assert churn.default_inactivity_days(hand, percentile=0.5) == 25
    with pytest.raises(ValueError, match="between 0 and 1"):
        churn.default_inactivity_days(hand, percentile=90)


def test_status_counts_by_hand(hand: Store) -> None:
    # N = 30, as of 2024-03-31 (end = 04-01 00:00): churned = last order before 03-02:
    # a (02-10), b (01-25), c (01-20; the cancelled 03-20 does not count) = 3.
    # At risk (A = 15): last order in [03-02, 03-17): e (03-10) = 1. d (03-31) is active.
    assert churn.status_counts(hand, 30) == {
        "churned_customers": 3.0,
        "customers_at_risk": 1.0,
        "median_days_between_orders": 25.0,
    }
    # N = 51 (A = 25): churned = last order before 02-10 00:00: b, c = 2; at risk = last order
    # in [02-10, 03-07): a (02-10 12:00) = 1; e (03-10) is inside the 25 days.
    counts = churn.status_counts(hand, 51)
    assert counts is not None
    assert (counts["churned_customers"], counts["customers_at_risk"]) == (2.0, 1.0)


def test_churn_table_by_hand(hand: Store) -> None:
    table = churn.churn_table(hand, 30)
    # The first order is on 2024-01-01, so a period needs to start on Jan 31 or later to have
    # 30 days of history before it: January is left out.
    assert table["period_start"].tolist() == [date(2024, 2, 1), date(2024, 3, 1)]
    # Feb: active at start = an order in [01-02, 02-01): a, b, c = 3; still active at end
    #      (order in [01-30, 03-01)) only a -> b and c churned: 2/3.
    # Mar: active at start = an order in [01-31, 03-01): a (02-10), d (02-01) = 2; at end
    #      (order in [03-02, 04-01)) only d -> a churned: 1/2. e (first order 03-10) is new.
    assert table["active_at_start"].tolist() == [3, 2]
    assert table["churned_by_end"].tolist() == [2, 1]
    assert table["churn_rate"].tolist() == pytest.approx([2 / 3, 1 / 2])
    assert table["inactivity_days"].tolist() == [30, 30]


def test_churn_table_leaves_out_the_running_period(hand: Store) -> None:
    # Up to 2024-03-15: March has not ended, so only February is judged (January lacks
    # 30 days of history).
    table = churn.churn_table(hand, 30, Filters(end=date(2024, 3, 15)))
    assert table["period_start"].tolist() == [date(2024, 2, 1)]


def test_survival_counts_by_hand(hand: Store) -> None:
    # First -> second order: a 10 days, b 20, d 59 (events); c has not reordered: censored at
    # 01-20 -> 03-31 = 71 days; e censored at 03-10 -> 03-31 = 21 days.
    c = churn.survival_counts(hand)
    assert c.to_dict("list") == {
        "group": ["All customers"] * 5,
        "duration": [10, 20, 21, 59, 71],
        "events": [1, 1, 0, 1, 0],
        "censored": [0, 0, 1, 0, 1],
    }
    # KM: S(10) = 4/5 = 0.8, S(20) = 0.8·3/4 = 0.6, S(59) = 0.6·1/2 = 0.3.
    table = churn.survival_table(hand)
    assert table["survival"].tolist() == pytest.approx([0.8, 0.6, 0.6, 0.3, 0.3])
    assert table["at_risk"].tolist() == [5, 4, 3, 2, 1]


def test_survival_by_channel_and_logrank_by_hand(hand: Store) -> None:
    c = churn.survival_counts(hand, split="channel")
    # acquisition channel = first order's channel: a, c, e email; b, d social.
    assert sorted(set(c["group"])) == ["email", "social"]
    # Event times 10 (email; 3 vs 2 at risk), 20 (social; 2 vs 2), 59 (social; 1 vs 1):
    # E_email = 1/5·3 + 1/4·2 + 1/2·1 = 1.6, O_email = 1; V = 0.24 + 0.25 + 0.25 = 0.74;
    # χ² = 0.6² / 0.74 = 0.486486.
    result = logrank(c)
    assert result is not None
    assert result.chisq == pytest.approx(0.36 / 0.74)
    assert result.expected[0] == pytest.approx(1.6)
    only_email = churn.survival_counts(hand, Filters(channels=("email",)), split="channel")
    assert set(only_email["group"]) == {"email"}
    cohorts = churn.survival_counts(hand, split="cohort")
    assert set(cohorts["group"]) == {"2024-Q1"}
    with pytest.raises(ValueError, match="channel"):
        churn.survival_counts(hand, split="country")  # type: ignore[arg-type]


def test_gap_histogram_by_hand(hand: Store) -> None:
    h = churn.gap_histogram(hand)
    # The largest gap (59) fits 60 bins of one day.
    assert h.bin_days == 1
    assert h.bins.to_dict("list") == {"bin_start": [10, 20, 30, 59], "orders": [1, 1, 1, 1]}
    assert (h.median_days, h.repeat_orders) == (25.0, 4)


def test_empty_store_and_no_repeats(store: Store) -> None:
    assert churn.default_inactivity_days(store) is None
    assert churn.status_counts(store, 30) is None
    assert churn.churn_table(store, 30).empty
    assert churn.survival_table(store).empty
    assert churn.gap_histogram(store).repeat_orders == 0
    rows = [{"order_id": "o1", "customer_id": "a", "ordered_at": "2024-01-01", "revenue": 5.0}]
    load_frames(store, {"orders": frame("orders", rows)}, source_name="one")
    assert churn.default_inactivity_days(store) is None
    assert churn.gap_histogram(store).repeat_orders == 0


def test_cli_tables(hand: Store) -> None:
    t = build_table(hand, "churn", TableRequest(params={"inactivity_days": 30}))
    assert t["churn_rate"].tolist() == pytest.approx([2 / 3, 1 / 2])
    default = build_table(hand, "churn", TableRequest())
    assert set(default["inactivity_days"]) == {51}
    s = build_table(hand, "survival", TableRequest(params={"split": "channel"}))
    assert list(s.columns) == [
        "group",
        "days",
        "at_risk",
        "events",
        "censored",
        "survival",
        "ci_lower",
        "ci_upper",
    ]
    with pytest.raises(ValueError, match="none, channel, cohort"):
        build_table(hand, "survival", TableRequest(params={"split": "x"}))


# --- agreement with plain pandas on the sample shop -------------------------------------------

CUSTOMERS, SEED = 1500, 5


@pytest.fixture(scope="module")
def shop() -> SampleShop:
    return generate_sample(CUSTOMERS, SEED)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("churn")) / "shop.duckdb"
    build_sample_db(path, CUSTOMERS, SEED)
    with Store(path) as s:
        yield s


@pytest.fixture(scope="module")
def counted(shop: SampleShop) -> pd.DataFrame:
    o = shop.orders
    o = o[o["status"].isin(["completed", "refunded"])].dropna(subset=["customer_id"])
    o = o.sort_values(["customer_id", "ordered_at", "order_id"]).copy()
    day = o["ordered_at"].dt.normalize()
    o["gap"] = (day - day.groupby(o["customer_id"]).shift()).dt.days
    return o


def test_threshold_agrees_with_pandas(counted: pd.DataFrame, sample: Store) -> None:
    gaps = counted["gap"].dropna().to_numpy()
    assert churn.gap_quantile(sample) == pytest.approx(np.quantile(gaps, 0.9))
    assert churn.default_inactivity_days(sample) == math.ceil(np.quantile(gaps, 0.9))


def test_status_counts_agree_with_pandas(
    shop: SampleShop, counted: pd.DataFrame, sample: Store
) -> None:
    n = 120
    last_day = shop.orders["ordered_at"].max().normalize()
    end = last_day + pd.Timedelta(days=1)
    last = counted.groupby("customer_id")["ordered_at"].max()
    churned = int((last < end - pd.Timedelta(days=n)).sum())
    at_risk = int(
        ((last >= end - pd.Timedelta(days=n)) & (last < end - pd.Timedelta(days=n // 2))).sum()
    )
    got = churn.status_counts(sample, n)
    assert got is not None
    assert (got["churned_customers"], got["customers_at_risk"]) == (churned, at_risk)
    assert got["median_days_between_orders"] == pytest.approx(counted["gap"].median())


def test_churn_table_agrees_with_pandas(counted: pd.DataFrame, sample: Store) -> None:
    n = 90
    table = churn.churn_table(sample, n, grain="quarter")
    window = pd.Timedelta(days=n)
    for row in table.itertuples():
        start, end = pd.Timestamp(row.period_start), pd.Timestamp(row.period_end)
        at = counted["ordered_at"]
        active_start = set(counted.loc[(at >= start - window) & (at < start), "customer_id"])
        active_end = set(counted.loc[(at >= end - window) & (at < end), "customer_id"])
        gone = active_start - active_end
        assert row.active_at_start == len(active_start), row.period_start
        assert row.churned_by_end == len(gone), row.period_start
        if active_start:
            assert row.churn_rate == pytest.approx(len(gone) / len(active_start))
    # The rate is the registry's churn_rate, so the Overview and this page agree.
    periods = churn.churn_periods(churn.churn_window(sample), "quarter")
    shown = {pd.Timestamp(d) for d in table["period_start"]}
    periods = [p for p in periods if pd.Timestamp(p.start) in shown]
    rates = compute(sample, REGISTRY["churn_rate"], periods, inactivity_days=n)
    assert sorted(rates["value"].dropna()) == pytest.approx(sorted(table["churn_rate"].dropna()))
    assert len(periods) == len(table) > 0


def test_survival_agrees_with_pandas(
    shop: SampleShop, counted: pd.DataFrame, sample: Store
) -> None:
    last_day = shop.orders["ordered_at"].max().normalize()
    g = counted.groupby("customer_id")["ordered_at"]
    first = g.min().dt.normalize()
    second = g.apply(lambda s: s.iloc[1] if len(s) > 1 else pd.NaT).dt.normalize()
    event = second.notna()
    duration = np.where(event, (second - first).dt.days, (last_day - first).dt.days)
    cust = shop.customers.set_index("customer_id")
    first_channel = counted.groupby("customer_id")["channel"].first()
    channel = cust["acquisition_channel"].reindex(first.index).fillna(first_channel)
    per = pd.DataFrame(
        {"group": channel.to_numpy(), "duration": duration, "event": event.to_numpy()}
    )
    expected = (
        per.groupby(["group", "duration"])
        .agg(events=("event", "sum"), censored=("event", lambda e: int((~e).sum())))
        .reset_index()
        .astype({"duration": "int64", "events": "int64", "censored": "int64"})
    )
    got = churn.survival_counts(sample, split="channel")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    pd.testing.assert_frame_equal(
        churn.survival_table(sample, split="channel"), kaplan_meier_by_group(expected)
    )


def test_histogram_agrees_with_pandas(counted: pd.DataFrame, sample: Store) -> None:
    h = churn.gap_histogram(sample)
    gaps = counted["gap"].dropna()
    expected = (gaps // h.bin_days * h.bin_days).astype(int).value_counts().sort_index()
    assert h.bins.set_index("bin_start")["orders"].to_dict() == expected.to_dict()
    assert h.median_days == pytest.approx(gaps.median())


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 400), channel=st.sampled_from(["email", "social", "organic"]))
def test_rates_are_shares_and_statuses_partition(sample: Store, n: int, channel: str) -> None:
    flt = Filters(channels=(channel,))
    table = churn.churn_table(sample, n, flt, grain="quarter")
    assert table["churn_rate"].dropna().between(0, 1).all()
    assert (table["churned_by_end"] <= table["active_at_start"]).all()
    got = churn.status_counts(sample, n, flt)
    assert got is not None
    customers = sample.scalar(
        "SELECT count(*) FROM customer_summary WHERE first_channel = ?", [channel]
    )
    assert 0 <= got["churned_customers"] + got["customers_at_risk"] <= customers
