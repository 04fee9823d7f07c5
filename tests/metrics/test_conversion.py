"""Conversion and AOV metrics and tables: the tiny shop by hand, the sample shop in pandas,
invariants with Hypothesis.

The tiny shop (tests/conftest.py), counted orders only:
  o1 a     2024-01-03  100  email    (a's first order)
  o2 a     2024-02-10   50  organic  (a's 2nd)
  o3 a     2024-03-01   20  organic  refunded, counts (a's 3rd)
  o5 b     2024-02-20   30  social   (b's first)
  o7 guest 2024-03-10   15  organic
Traffic added here (sessions, product views, add to carts, checkouts):
  2024-02-10 organic desktop  40 20  8 4
  2024-02-10 organic mobile   60 30  6 2
  2024-02-20 social  mobile   50 25  5 1
  2024-03-01 organic desktop 100 50 10 5
  2024-03-10 email   desktop  20 10  2 1
Months: Mar (index 0), Feb (1), Jan (2) of 2024.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention.filters import Filters
from retention.ingest.load import load_frames
from retention.metrics import REGISTRY, calendar_periods, compute, trailing_periods
from retention.metrics import conversion as conv
from retention.metrics.tables import TABLE_REGISTRY, TableRequest, build_table
from retention.sample import SampleShop, build_sample_db, generate_sample
from retention.store import Store
from tests.conftest import frame

MONTHS = calendar_periods(date(2024, 1, 1), date(2024, 3, 31), "month")  # Mar, Feb, Jan
ALL = conv.ALL_DEVICES
EMAIL = Filters(channels=("email",))  # acquisition channel: customer a only

TRAFFIC = [
    ("2024-02-10", "organic", "desktop", 40, 20, 8, 4),
    ("2024-02-10", "organic", "mobile", 60, 30, 6, 2),
    ("2024-02-20", "social", "mobile", 50, 25, 5, 1),
    ("2024-03-01", "organic", "desktop", 100, 50, 10, 5),
    ("2024-03-10", "email", "desktop", 20, 10, 2, 1),
]
STEPS = ["sessions", "product_views", "add_to_carts", "checkouts"]


def traffic_frame(rows: list[tuple]) -> pd.DataFrame:
    keys = ["date", "channel", "device", *STEPS]
    return frame("traffic_daily", [dict(zip(keys, r, strict=True)) for r in rows])


@pytest.fixture
def conv_store(tiny_store: Store) -> Store:
    load_frames(
        tiny_store,
        {"traffic_daily": traffic_frame(TRAFFIC)},
        source_name="traffic",
        replace=False,
    )
    return tiny_store


def values(store: Store, name: str, filters: Filters = Filters()) -> list[float | None]:
    out = compute(store, REGISTRY[name], MONTHS, filters)["value"].tolist()
    return [None if isinstance(v, float) and math.isnan(v) else v for v in out]


EXPECTED_METRICS = {
    # Mar: 100 + 20; Feb: 40 + 60 + 50; Jan: no traffic rows -> undefined
    "sessions": [120.0, 150.0, None],
    # Mar (10 + 2) / 120; Feb (8 + 6 + 5) / 150
    "add_to_cart_rate": [0.1, 19 / 150, None],
    # Mar (5 + 1) / (10 + 2); Feb (4 + 2 + 1) / (8 + 6 + 5)
    "cart_to_checkout_rate": [0.5, 7 / 19, None],
    # Mar 6 / 120; Feb 7 / 150
    "checkout_rate": [0.05, 7 / 150, None],
    # first orders: o5 (30) in Feb, o1 (100) in Jan; none in Mar
    "new_customer_aov": [None, 30.0, 100.0],
    # later orders: o3 (20) in Mar, o2 (50) in Feb; none in Jan
    "returning_customer_aov": [20.0, 50.0, None],
    # guest o7 (15) in Mar only
    "guest_aov": [15.0, None, None],
}


@pytest.mark.parametrize("name", list(EXPECTED_METRICS))
def test_metric_on_tiny_shop(conv_store: Store, name: str) -> None:
    got, want = values(conv_store, name), EXPECTED_METRICS[name]
    assert [g is None for g in got] == [w is None for w in want], (name, got)
    assert [g for g in got if g is not None] == pytest.approx([w for w in want if w is not None])


@pytest.mark.parametrize("name", conv.TRAFFIC_METRICS)
def test_traffic_metrics_are_undefined_under_customer_filters(conv_store: Store, name: str) -> None:
    # Sessions have no acquisition channel; a number that ignored the filter would mislead.
    assert values(conv_store, name, EMAIL) == [None, None, None]


def test_aov_metrics_follow_customer_filters(conv_store: Store) -> None:
    # Customer a only: first order o1 in Jan; later o2 (Feb) and o3 (Mar); the guest drops out.
    assert values(conv_store, "new_customer_aov", EMAIL) == [None, None, 100.0]
    assert values(conv_store, "returning_customer_aov", EMAIL) == [20.0, 50.0, None]
    assert values(conv_store, "guest_aov", EMAIL) == [None, None, None]


def rows(df: pd.DataFrame) -> list[tuple]:
    """Frame rows as plain tuples, missing values as None, floats rounded to 6 places."""
    out = []
    for r in df.itertuples(index=False):
        out.append(
            tuple(
                None
                if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                else round(float(v), 6)
                if isinstance(v, float)
                else v
                for v in r
            )
        )
    return out


def test_conversion_table_on_tiny_shop(conv_store: Store) -> None:
    got = conv.conversion_table(conv_store, Filters(), "month")
    assert list(got.columns) == list(conv.CONVERSION_COLUMNS)
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    n = None
    assert rows(got) == [
        # Jan: o1 (email) has no traffic that month: sessions unknown, no rate.
        (jan, "email", ALL, n, n, n, n, 1, n, n),
        # Feb organic: 40 + 60 sessions, o2 -> 1 / 100; checkouts 6 / 100.
        (feb, "organic", ALL, 100, 50, 14, 6, 1, 0.01, 0.06),
        # device rows: no orders (orders have no device), checkout rate 4/40 and 2/60
        (feb, "organic", "desktop", 40, 20, 8, 4, n, n, 0.1),
        (feb, "organic", "mobile", 60, 30, 6, 2, n, n, round(2 / 60, 6)),
        # Feb social: o5 -> 1 / 50; checkouts 1 / 50
        (feb, "social", ALL, 50, 25, 5, 1, 1, 0.02, 0.02),
        (feb, "social", "mobile", 50, 25, 5, 1, n, n, 0.02),
        # Mar email: 20 sessions and no email order -> 0; checkouts 1 / 20
        (mar, "email", ALL, 20, 10, 2, 1, 0, 0.0, 0.05),
        (mar, "email", "desktop", 20, 10, 2, 1, n, n, 0.05),
        # Mar organic: o3 and guest o7 -> 2 / 100; checkouts 5 / 100
        (mar, "organic", ALL, 100, 50, 10, 5, 2, 0.02, 0.05),
        (mar, "organic", "desktop", 100, 50, 10, 5, n, n, 0.05),
    ]


def test_conversion_table_date_range_and_refusal(conv_store: Store) -> None:
    got = conv.conversion_table(conv_store, Filters(start=date(2024, 3, 1)), "quarter")
    # Q1 2024 from Mar 1: email 20 sessions / 0 orders; organic 100 sessions / o3 + o7.
    totals = got[got["device"] == ALL]
    assert rows(totals[["channel", "sessions", "orders", "conversion_rate"]]) == [
        ("email", 20, 0, 0.0),
        ("organic", 100, 2, 0.02),
    ]
    with pytest.raises(ValueError, match="acquisition channel or country"):
        conv.conversion_table(conv_store, EMAIL)
    with pytest.raises(ValueError, match="unknown grain"):
        conv.conversion_table(conv_store, Filters(), "day")  # type: ignore[arg-type]


def test_funnel_on_tiny_shop(conv_store: Store) -> None:
    # Traffic days are Feb 10 .. Mar 10, so Jan's o1 is left out: o2, o5, o3, o7 -> 4 orders.
    window = conv.traffic_filters(conv_store, Filters())
    assert window == Filters(start=date(2024, 2, 10), end=date(2024, 3, 10))
    got = conv.funnel(conv_store, window)
    assert got["step"].tolist() == [
        "sessions",
        "product_views",
        "add_to_carts",
        "checkouts",
        "orders",
    ]
    # 270 sessions; 135 views; 8+6+5+10+2 = 31 carts; 4+2+1+5+1 = 13 checkouts; 4 orders
    assert got["count"].tolist() == [270, 135, 31, 13, 4]
    assert got["rate_from_previous"].tolist() == pytest.approx([1, 0.5, 31 / 135, 13 / 31, 4 / 13])
    assert got["rate_from_sessions"].tolist() == pytest.approx(
        [1, 0.5, 31 / 270, 13 / 270, 4 / 270]
    )
    # Over all days o1 counts too: 5 orders over the same sessions.
    assert conv.funnel(conv_store)["count"].tolist()[-1] == 5


def test_funnel_without_traffic_is_empty(tiny_store: Store) -> None:
    assert conv.funnel(tiny_store).empty
    assert conv.traffic_filters(tiny_store) is None


def test_aov_table_on_tiny_shop(conv_store: Store) -> None:
    got = conv.aov_table(conv_store, Filters(), "month")
    assert list(got.columns) == list(conv.AOV_COLUMNS)
    n = None
    assert rows(got) == [
        # Jan: o1 100, a's first order
        (date(2024, 1, 1), 1, 100.0, 100.0, 1, 100.0, 0, n, 0, n),
        # Feb: o2 50 (a, returning) + o5 30 (b, new): 80 / 2
        (date(2024, 2, 1), 2, 80.0, 40.0, 1, 30.0, 1, 50.0, 0, n),
        # Mar: o3 20 (a, returning) + o7 15 (guest): 35 / 2
        (date(2024, 3, 1), 2, 35.0, 17.5, 0, n, 1, 20.0, 1, 15.0),
    ]
    # Acquisition channel email = customer a: o1, o2, o3 only, one per month.
    filtered = conv.aov_table(conv_store, EMAIL, "month")
    assert rows(filtered[["orders", "revenue", "new_orders", "returning_orders"]]) == [
        (1, 100.0, 1, 0),
        (1, 50.0, 0, 1),
        (1, 20.0, 0, 1),
    ]


def test_aov_by_channel_on_tiny_shop(conv_store: Store) -> None:
    # email: o1 100; social: o5 30; organic: o2 50 + o3 20 + o7 15 = 85 over 3 orders.
    assert rows(conv.aov_by_channel(conv_store)) == [
        ("email", 1, 100.0, 100.0),
        ("social", 1, 30.0, 30.0),
        ("organic", 3, 85.0, round(85 / 3, 6)),
    ]


def test_aov_distribution_on_tiny_shop(conv_store: Store) -> None:
    d = conv.aov_distribution(conv_store, bins=10)
    # values 15, 20, 30, 50, 100; p99 = 50 + 0.96 * 50 = 98 -> 9.8 per bin -> round width 10;
    # bins [0,10) .. [90,100) and an overflow bin from 100, holding o1.
    assert d.width == 10.0
    assert d.overflow_from == 100.0
    assert (d.orders, d.median, d.mean) == (5, 30.0, 43.0)
    counts = dict(zip(d.bins["bin_start"], d.bins["orders"], strict=True))
    assert counts == {
        0.0: 0, 10.0: 1, 20.0: 1, 30.0: 1, 40.0: 0, 50.0: 1,
        60.0: 0, 70.0: 0, 80.0: 0, 90.0: 0, 100.0: 1,
    }  # fmt: skip
    assert d.bins["overflow"].tolist() == [False] * 10 + [True]


def test_tables_are_registered(conv_store: Store) -> None:
    assert {"conversion", "aov"} <= set(TABLE_REGISTRY)
    got = build_table(conv_store, "aov", TableRequest(period="quarter"))
    # Q1 2024: all five counted orders, 215 revenue; new o1 + o5; returning o2 + o3; guest o7
    assert rows(got[["orders", "revenue", "aov", "new_orders", "returning_orders"]]) == [
        (5, 215.0, 43.0, 2, 2)
    ]
    assert build_table(conv_store, "conversion", TableRequest())["sessions"].sum() == 2 * 270


# --- agreement with pandas on the sample shop ---------------------------------------------

CUSTOMERS, SEED = 1500, 5


@pytest.fixture(scope="module")
def shop() -> SampleShop:
    return generate_sample(CUSTOMERS, SEED)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("conv")) / "shop.duckdb"
    build_sample_db(path, CUSTOMERS, SEED)
    with Store(path) as s:
        yield s


def counted_orders(shop: SampleShop) -> pd.DataFrame:
    o = shop.orders[shop.orders["status"].isin(["completed", "refunded"])].copy()
    o = o.sort_values(["ordered_at", "order_id"])
    o["n"] = o.groupby("customer_id").cumcount() + 1
    o.loc[o["customer_id"].isna(), "n"] = 0  # guest
    o["month"] = o["ordered_at"].dt.to_period("M").dt.start_time.dt.date
    return o


def test_conversion_table_agrees_with_pandas(shop: SampleShop, sample: Store) -> None:
    got = conv.conversion_table(sample, Filters(), "month")
    t = shop.traffic_daily.copy()
    t["month"] = t["date"].dt.to_period("M").dt.start_time.dt.date
    by_device = t.groupby(["month", "channel", "device"])[STEPS].sum()
    dev = got[got["device"] != ALL].set_index(["period_start", "channel", "device"])
    assert len(dev) == len(by_device)
    for step in STEPS:
        assert (dev[step].astype("int64") == by_device[step].reindex(dev.index)).all(), step
    o = counted_orders(shop)
    orders = o.groupby(["month", o["channel"].fillna("(unknown)")]).size()
    sessions = t.groupby(["month", "channel"])["sessions"].sum()
    tot = got[got["device"] == ALL].set_index(["period_start", "channel"])
    assert tot["orders"].sum() == len(o)
    assert (tot["orders"].astype("int64") == orders.reindex(tot.index).fillna(0)).all()
    # A channel with sessions and no orders converts at 0; one without sessions has no rate.
    want = orders.reindex(tot.index).fillna(0) / sessions.reindex(tot.index)
    assert tot["conversion_rate"].to_numpy() == pytest.approx(want.to_numpy(), nan_ok=True)


def test_funnel_and_kpis_agree_with_pandas(shop: SampleShop, sample: Store) -> None:
    window = conv.traffic_filters(sample, Filters(start=date(2025, 3, 1), end=date(2025, 8, 31)))
    assert window == Filters(start=date(2025, 3, 1), end=date(2025, 8, 31))
    t = shop.traffic_daily
    t = t[(t["date"] >= "2025-03-01") & (t["date"] < "2025-09-01")]
    o = counted_orders(shop)
    o = o[(o["ordered_at"] >= "2025-03-01") & (o["ordered_at"] < "2025-09-01")]
    got = conv.funnel(sample, window)
    assert got["count"].tolist() == [*(int(t[s].sum()) for s in STEPS), len(o)]
    # The registry's conversion_rate and checkout_rate per quarter agree with pandas.
    periods = calendar_periods(date(2025, 1, 1), date(2025, 9, 30), "quarter")  # Q3, Q2, Q1
    rate = compute(sample, REGISTRY["conversion_rate"], periods)["value"].tolist()
    checkout = compute(sample, REGISTRY["checkout_rate"], periods)["value"].tolist()
    all_t, all_o = shop.traffic_daily, counted_orders(shop)
    for i, (lo, hi) in enumerate(
        [("2025-07-01", "2025-10-01"), ("2025-04-01", "2025-07-01"), ("2025-01-01", "2025-04-01")]
    ):
        tq = all_t[(all_t["date"] >= lo) & (all_t["date"] < hi)]
        oq = all_o[(all_o["ordered_at"] >= lo) & (all_o["ordered_at"] < hi)]
        assert rate[i] == pytest.approx(len(oq) / tq["sessions"].sum())
        assert checkout[i] == pytest.approx(tq["checkouts"].sum() / tq["sessions"].sum())


def test_aov_agrees_with_pandas(shop: SampleShop, sample: Store) -> None:
    o = counted_orders(shop)
    got = conv.aov_table(sample, Filters(), "month").set_index("period_start")
    g = o.groupby("month")
    assert (got["orders"] == g.size()).all()
    assert got["aov"].to_numpy() == pytest.approx((g["revenue"].sum() / g.size()).to_numpy())
    new = o[o["n"] == 1].groupby("month")["revenue"].mean().reindex(got.index)
    ret = o[o["n"] > 1].groupby("month")["revenue"].mean().reindex(got.index)
    assert got["new_aov"].to_numpy() == pytest.approx(new.to_numpy(), nan_ok=True)
    assert got["returning_aov"].to_numpy() == pytest.approx(ret.to_numpy(), nan_ok=True)
    assert (
        got["new_orders"] + got["returning_orders"] + got["guest_orders"] == got["orders"]
    ).all()
    by_channel = conv.aov_by_channel(sample).set_index("channel")
    want = o.groupby(o["channel"].fillna("(unknown)"))["revenue"].mean()
    assert by_channel["aov"].to_numpy() == pytest.approx(want.reindex(by_channel.index).to_numpy())
    last = trailing_periods(date(2026, 10, 31), 90, 1)
    recent = o[o["ordered_at"] >= pd.Timestamp(last[0].start)]
    for name, part in (
        ("new_customer_aov", recent[recent["n"] == 1]),
        ("returning_customer_aov", recent[recent["n"] > 1]),
        ("guest_aov", recent[recent["n"] == 0]),
    ):
        value = compute(sample, REGISTRY[name], last)["value"].iloc[0]
        assert value == pytest.approx(part["revenue"].mean()), name


def test_aov_distribution_agrees_with_pandas(shop: SampleShop, sample: Store) -> None:
    revenue = counted_orders(shop)["revenue"].to_numpy()
    d = conv.aov_distribution(sample, bins=30)
    assert d.orders == len(revenue) == d.bins["orders"].sum()
    assert d.median == pytest.approx(np.median(revenue))
    assert d.mean == pytest.approx(revenue.mean())
    assert d.overflow_from >= np.quantile(revenue, 0.99)
    low = min(0.0, math.floor(revenue.min()))
    idx = np.minimum(np.floor((revenue - low) / d.width).astype(int), 30)
    want = np.bincount(idx, minlength=31)
    index = ((d.bins["bin_start"] - low) / d.width).round().astype(int)
    got = dict(zip(index, d.bins["orders"], strict=True))
    assert [got.get(i, 0) for i in range(31)] == want.tolist()
    # the overflow bin holds about the top 1%
    assert int(d.bins["orders"].iloc[-1]) <= 0.011 * len(revenue)


# --- invariants ---------------------------------------------------------------------------


@st.composite
def traffic_rows(draw: st.DrawFn) -> list[tuple]:
    keys = draw(
        st.lists(
            st.tuples(
                st.dates(date(2024, 1, 25), date(2024, 3, 5)),
                st.sampled_from(["email", "organic"]),
                st.sampled_from(["desktop", "mobile"]),
            ),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    out = []
    for day, channel, device in keys:
        sessions = draw(st.integers(0, 500))
        views = draw(st.integers(0, sessions))
        carts = draw(st.integers(0, views))
        checkouts = draw(st.integers(0, carts))
        out.append((day.isoformat(), channel, device, sessions, views, carts, checkouts))
    return out


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=traffic_rows(), seed=st.integers(0, 2**16))
def test_rates_are_shares_and_row_order_does_not_matter(
    tiny_store: Store, data: list[tuple], seed: int
) -> None:
    shuffled = list(np.random.default_rng(seed).permutation(len(data)))
    results = []
    for order in (list(range(len(data))), shuffled):
        load_frames(
            tiny_store,
            {"traffic_daily": traffic_frame([data[i] for i in order])},
            source_name="hypothesis",
        )
        table = conv.conversion_table(tiny_store, Filters(), "month")
        steps = conv.funnel(tiny_store)
        results.append((table, steps))
    (t1, f1), (t2, f2) = results
    pd.testing.assert_frame_equal(t1, t2)
    pd.testing.assert_frame_equal(f1, f2)
    rates = t1["checkout_rate"].dropna()
    assert ((rates >= 0) & (rates <= 1)).all()
    # Traffic steps never exceed the step before here, so their rates are shares.
    traffic_steps = f1[f1["step"] != "orders"]["rate_from_previous"].dropna()
    assert ((traffic_steps >= 0) & (traffic_steps <= 1)).all()
    # Device rows add up to their channel's total row.
    dev = t1[t1["device"] != ALL].groupby(["period_start", "channel"])["sessions"].sum()
    tot = t1[(t1["device"] == ALL) & t1["sessions"].notna()]
    assert tot.set_index(["period_start", "channel"])["sessions"].tolist() == dev.tolist()


def test_unknown_step_is_not_summed_partially(tiny_store: Store) -> None:
    data = traffic_frame(TRAFFIC[:2])
    data.loc[0, "checkouts"] = None  # one row without checkouts
    load_frames(tiny_store, {"traffic_daily": data}, source_name="partial")
    got = conv.funnel(tiny_store)
    # Sessions 40 + 60 are known; checkouts are missing on one row, so the step is unknown.
    assert got["count"].tolist()[:4] == [100, 50, 14, pd.NA]
    assert math.isnan(got["rate_from_previous"].iloc[3])
