"""Cohort metrics: a hand-checked shop, agreement with pandas, and Hypothesis invariants."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention.filters import CUSTOMER_FILTER_SQL, Filters
from retention.ingest.load import load_frames
from retention.metrics import cohorts as coh
from retention.metrics.periods import Period
from retention.metrics.registry import REGISTRY, compute, full_sql
from retention.metrics.tables import TABLE_REGISTRY, TableRequest, build_table
from retention.sample import SampleShop, build_sample_db, generate_sample
from retention.store import Store
from tests.conftest import frame

# --- the hand-written shop --------------------------------------------------------------------
# u1 (email, DE, coupon): Jan 05 40, Feb 10 60, Apr 02 20
# u2 (paid_search, US):   Jan 20 100
# u3 (email, US):         Jan 31 10, Feb 01 30 (same week as Jan 31)
# u4 (paid_search, DE, coupon): Feb 15 50, Mar 01 25, Mar 20 25
# a guest order on Jun 30 makes Jun 30 the data's last day; a cancelled order never counts.
SHOP_ORDERS = [
    ("o1", "u1", "2024-01-05 10:00", 40.0, "completed", "WELCOME"),
    ("o2", "u1", "2024-02-10 10:00", 60.0, "completed", None),
    ("o3", "u1", "2024-04-02 10:00", 20.0, "refunded", None),
    ("o4", "u2", "2024-01-20 10:00", 100.0, "completed", None),
    ("o5", "u3", "2024-01-31 10:00", 10.0, "completed", None),
    ("o6", "u3", "2024-02-01 10:00", 30.0, "completed", None),
    ("o7", "u4", "2024-02-15 10:00", 50.0, "completed", "WELCOME"),
    ("o8", "u4", "2024-03-01 10:00", 25.0, "completed", None),
    ("o9", "u4", "2024-03-20 10:00", 25.0, "completed", None),
    ("o10", "u2", "2024-05-05 10:00", 999.0, "cancelled", None),
    ("o11", None, "2024-06-30 10:00", 5.0, "completed", None),
]
SHOP_CUSTOMERS = [
    ("u1", "email", "DE"),
    ("u2", "paid_search", "US"),
    ("u3", "email", "US"),
    ("u4", "paid_search", "DE"),
]
SHOP_ITEMS = [("o1", "coffee"), ("o4", "tea"), ("o5", "coffee"), ("o7", "tea")]


def load_shop(store: Store) -> Store:
    orders = [
        dict(order_id=o, customer_id=c, ordered_at=t, revenue=r, status=s, coupon_code=k)
        for o, c, t, r, s, k in SHOP_ORDERS
    ]
    customers = [
        dict(customer_id=c, email=f"{c}@example.com", acquisition_channel=ch, country=co)
        for c, ch, co in SHOP_CUSTOMERS
    ]
    items = [
        dict(order_id=o, product_id="p", category=cat, line_revenue=1.0) for o, cat in SHOP_ITEMS
    ]
    load_frames(
        store,
        {
            "orders": frame("orders", orders),
            "customers": frame("customers", customers),
            "order_items": frame("order_items", items),
        },
        source_name="cohort shop",
    )
    return store


@pytest.fixture
def shop_store(store: Store) -> Store:
    return load_shop(store)


def cells_of(store: Store, **kwargs: object) -> pd.DataFrame:
    return coh.cohort_cells(store, coh.CohortQuery(**kwargs))  # type: ignore[arg-type]


def test_monthly_cells_by_hand(shop_store: Store) -> None:
    c = cells_of(shop_store).set_index(["cohort", "period_index"])
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    # Jan cohort = u1, u2, u3 (3); Feb = u4 (1). Last day Jun 30 -> Jan has k 0..5, Feb 0..4.
    assert len(c) == 6 + 5
    assert c.loc[(jan, 0), "cohort_size"] == 3
    assert c.loc[(feb, 0), "cohort_size"] == 1
    # Jan k=1 (Feb): u1 and u3 ordered -> 2/3; revenue 60 + 30 = 90 of 150 in January -> 0.6;
    # cumulative 150 + 90 = 240 over 3 customers = 80; 2 orders / 3 customers.
    row = c.loc[(jan, 1)]
    assert (row["active_customers"], row["orders"]) == (2, 2)
    assert row["retention_rate"] == pytest.approx(2 / 3)
    assert row["revenue"] == pytest.approx(90.0)
    assert row["revenue_retention"] == pytest.approx(0.6)
    assert row["cumulative_revenue_per_customer"] == pytest.approx(80.0)
    assert row["orders_per_customer"] == pytest.approx(2 / 3)
    assert row["cumulative_orders_per_customer"] == pytest.approx(5 / 3)  # 3 in Jan + 2 in Feb
    # Jan k=2 (March): nobody -> 0, revenue 0, cumulative stays 240 / 3 = 80.
    row = c.loc[(jan, 2)]
    assert (row["active_customers"], row["revenue"], row["retention_rate"]) == (0, 0.0, 0.0)
    assert row["cumulative_revenue_per_customer"] == pytest.approx(80.0)
    # Jan k=3 (April): u1's refunded order still counts -> 1/3, revenue 20 -> 20/150.
    assert c.loc[(jan, 3), "retention_rate"] == pytest.approx(1 / 3)
    assert c.loc[(jan, 3), "revenue_retention"] == pytest.approx(20 / 150)
    # Feb k=1 (March): u4 twice -> retention 1, 2 orders per customer, revenue 50 / 50 = 1.
    row = c.loc[(feb, 1)]
    assert (row["active_customers"], row["orders"]) == (1, 2)
    assert row["revenue_retention"] == pytest.approx(1.0)
    assert row["cumulative_revenue_per_customer"] == pytest.approx(100.0)
    # Every period has ended by Jun 30 (June ends Jul 1 = the day after the last day).
    assert c["complete"].all()
    assert (c.xs(0, level="period_index")["retention_rate"] == 1.0).all()


def test_weekly_cells_and_partial_last_period(shop_store: Store) -> None:
    c = cells_of(shop_store, grain="week").set_index(["cohort", "period_index"])
    # u3's orders on Wed Jan 31 and Thu Feb 1 fall in the week of Mon Jan 29: both in k = 0.
    row = c.loc[(date(2024, 1, 29), 0)]
    assert (row["cohort_size"], row["orders"], row["revenue"]) == (1, 2, 40.0)
    assert row["orders_per_customer"] == pytest.approx(2.0)
    assert c.loc[(date(2024, 1, 29), 1), "retention_rate"] == 0.0
    # The last cell is the week of Mon Jun 24, which ends Jul 1 (after Sun Jun 30) -> complete.
    assert c.loc[(date(2024, 1, 29), 21), "period_start"] == date(2024, 6, 24)
    assert bool(c.loc[(date(2024, 1, 29), 21), "complete"])
    q = cells_of(shop_store, grain="quarter")
    # One quarterly cohort (2024 Q1, all 4); Q2 has started (k=1): u1 ordered in April -> 1/4,
    # and Q2 ends Jul 1, the day after the last day, so it is complete.
    assert q["cohort_size"].tolist() == [4, 4]
    assert q["retention_rate"].tolist() == pytest.approx([1.0, 0.25])


def test_partial_period_is_flagged(store: Store) -> None:
    orders = [
        dict(order_id="a1", customer_id="a", ordered_at="2024-01-10", revenue=10.0),
        dict(order_id="a2", customer_id="a", ordered_at="2024-02-05", revenue=10.0),
    ]
    load_frames(store, {"orders": frame("orders", orders)}, source_name="t")
    c = cells_of(store)
    # Data ends Feb 5: February (k=1) has started, so it exists, but it has not ended.
    assert c["complete"].tolist() == [True, False]
    # Averages use complete cells only: k=1 is left out.
    assert coh.average_curves(c)["period_index"].tolist() == [0]


def test_split_filters_and_dates(shop_store: Store) -> None:
    split = cells_of(shop_store, split_by="first_order_coupon")
    first = split[split["period_index"] == 0].set_index(["segment", "cohort"])["cohort_size"]
    # u1 (Jan) and u4 (Feb) used a coupon on their first order; u2 and u3 (Jan) did not.
    assert first.to_dict() == {
        ("No coupon", date(2024, 1, 1)): 2,
        ("With coupon", date(2024, 1, 1)): 1,
        ("With coupon", date(2024, 2, 1)): 1,
    }
    cat = cells_of(shop_store, filter_by="first_category", filter_values=("coffee",))
    # First orders in coffee: u1 and u3 (both Jan).
    assert cat[cat["period_index"] == 0]["cohort_size"].tolist() == [2]
    chan = cells_of(shop_store, filters=Filters(channels=("paid_search",)))
    assert chan[chan["period_index"] == 0]["cohort_size"].tolist() == [1, 1]  # u2 Jan, u4 Feb
    # Dates select cohorts by their start: Jan 15 - Jun 30 excludes the Jan cohort (starts Jan 1).
    dated = cells_of(shop_store, filters=Filters(start=date(2024, 1, 15), end=date(2024, 6, 30)))
    assert set(dated["cohort"]) == {date(2024, 2, 1)}
    assert cells_of(shop_store, filters=Filters(countries=("FR",))).empty


def test_average_curves_by_hand(shop_store: Store) -> None:
    avg = coh.average_curves(cells_of(shop_store)).set_index("period_index")
    # k=1: (2 + 1) active of (3 + 1) customers; revenue (90 + 50) / (150 + 50);
    # cumulative revenue (240 + 100) / 4; orders (2 + 2) / 4.
    assert avg.loc[1, "retention_rate"] == pytest.approx(0.75)
    assert avg.loc[1, "revenue_retention"] == pytest.approx(0.7)
    assert avg.loc[1, "cumulative_revenue_per_customer"] == pytest.approx(85.0)
    assert avg.loc[1, "orders_per_customer"] == pytest.approx(1.0)
    # k=5 exists for Jan only: 0 of 3.
    assert (avg.loc[5, "cohorts"], avg.loc[5, "customers"]) == (1, 3)
    assert avg.loc[5, "retention_rate"] == 0.0
    # Leaving out cohorts below 2 customers drops Feb: k=1 is 2/3.
    small = coh.average_curves(cells_of(shop_store), min_size=2, exclude_small=True)
    assert small.set_index("period_index").loc[1, "retention_rate"] == pytest.approx(2 / 3)


ALL_TIME = [Period(0, datetime(2024, 1, 1), datetime(2024, 7, 1))]


def kpi(store: Store, name: str, filters: Filters = Filters(), **params: object) -> float:
    return float(compute(store, REGISTRY[name], ALL_TIME, filters, **params)["value"].iloc[0])


def test_headline_metrics_by_hand(shop_store: Store) -> None:
    # Month 1 has ended for Jan (Feb) and Feb (Mar): (2 + 1) / (3 + 1).
    assert kpi(shop_store, "cohort_retention_m1") == pytest.approx(0.75)
    # Month 3 ended for Jan (Apr: u1) and Feb (May: nobody): 1 / 4.
    assert kpi(shop_store, "cohort_retention_m3") == pytest.approx(0.25)
    # Months 0-5 complete for Jan only (Jan-Jun): 150 + 90 + 20 = 260 over 3 customers.
    assert kpi(shop_store, "cohort_ltv_m6") == pytest.approx(260 / 3)
    # No cohort is 12 months old: undefined, not 0.
    assert math.isnan(kpi(shop_store, "cohort_ltv_m12"))
    # Countries: US = u2, u3 (Jan) -> u3 came back: 1/2. paid_search = u2 (no), u4 (yes): 1/2.
    assert kpi(shop_store, "cohort_retention_m1", Filters(countries=("US",))) == 0.5
    assert kpi(shop_store, "cohort_retention_m1", Filters(channels=("paid_search",))) == 0.5
    # Filter to email customers (u1, u3, both back in Feb): 2/2.
    assert (
        kpi(
            shop_store,
            "cohort_retention_m1",
            filter_by="acquisition_channel",
            filter_values=["email"],
        )
        == 1.0
    )
    # Small cohorts out (min 2): Jan only, 2/3.
    assert kpi(shop_store, "cohort_retention_m1", min_cohort_size=2) == pytest.approx(2 / 3)
    assert "$grain" in coh.COHORT_SQL and "{" not in full_sql(REGISTRY["cohort_ltv_m6"])


def test_table_is_registered_and_tidy(shop_store: Store) -> None:
    assert "cohort-retention" in TABLE_REGISTRY
    t = build_table(shop_store, "cohort-retention", TableRequest(period="month"))
    assert tuple(t.columns) == coh.TABLE_COLUMNS
    assert t[["cohort", "period_index"]].apply(tuple, axis=1).is_unique
    assert t["small_cohort"].all()  # 3 and 1 customers, below the default 30
    split = build_table(
        shop_store,
        "cohort-retention",
        TableRequest(params={"split_by": "country", "min_cohort_size": 2}),
    )
    assert split.columns[0] == "segment"
    assert set(split["segment"]) == {"DE", "US"}
    assert not split.loc[split["segment"] == "US", "small_cohort"].any()  # Jan US: u2, u3
    by_channel = build_table(
        shop_store, "cohort-retention", TableRequest(params={"split": "channel"})
    )
    assert set(by_channel["segment"]) == {"email", "paid_search"}
    with pytest.raises(ValueError, match="none or channel"):
        build_table(shop_store, "cohort-retention", TableRequest(params={"split": "cohort"}))


def test_bad_choices_name_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="week, month, quarter"):
        coh.CohortQuery(grain="year")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="acquisition_channel"):
        coh.CohortQuery(split_by="city")


def test_dimension_values(shop_store: Store) -> None:
    assert coh.dimension_values(shop_store, "first_category") == ["coffee", "tea"]
    assert coh.dimension_values(shop_store, "first_order_coupon") == ["No coupon", "With coupon"]
    assert coh.dimension_values(shop_store, "country", Filters(channels=("email",))) == [
        "DE",
        "US",
    ]


# --- agreement with plain pandas on the sample shop -------------------------------------------

CUSTOMERS, SEED = 1500, 11


@pytest.fixture(scope="module")
def shop() -> SampleShop:
    return generate_sample(CUSTOMERS, SEED)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("cohorts")) / "shop.duckdb"
    build_sample_db(path, CUSTOMERS, SEED)
    with Store(path) as s:
        yield s


def pandas_cells(shop: SampleShop, freq: str, channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """The cohort grid written again in pandas, from the definitions."""
    o = shop.orders[shop.orders["status"].isin(["completed", "refunded"])]
    last = o["ordered_at"].max().to_period(freq)
    o = o.dropna(subset=["customer_id"]).sort_values(["ordered_at", "order_id"])
    first = o.drop_duplicates("customer_id").set_index("customer_id")
    cust = shop.customers.set_index("customer_id")
    channel = cust["acquisition_channel"].reindex(first.index).fillna(first["channel"])
    keep = channel.isin(channels) if channels else pd.Series(True, index=first.index)
    cohort = first.loc[keep, "ordered_at"].dt.to_period(freq)
    o = o[o["customer_id"].isin(cohort.index)].copy()
    o["cohort"] = o["customer_id"].map(cohort)
    o["k"] = (o["ordered_at"].dt.to_period(freq) - o["cohort"]).apply(lambda d: d.n)
    sizes = cohort.value_counts()
    agg = o.groupby(["cohort", "k"]).agg(
        active_customers=("customer_id", "nunique"),
        revenue=("revenue", "sum"),
        orders=("order_id", "size"),
    )
    parts = []
    for c, n in sizes.items():
        ks = pd.Index(range((last - c).n + 1), name="k")
        part = agg.loc[c].reindex(ks, fill_value=0).reset_index()  # k = 0 always has orders
        part["cohort"] = c.start_time.date()
        part["cohort_size"] = n
        part["retention_rate"] = part["active_customers"] / n
        rev0 = part["revenue"].iloc[0]
        part["revenue_retention"] = part["revenue"] / rev0 if rev0 else np.nan
        part["cumulative_revenue_per_customer"] = part["revenue"].cumsum() / n
        parts.append(part.rename(columns={"k": "period_index"}))
    rows = pd.concat(parts)
    return rows.sort_values(["cohort", "period_index"]).reset_index(drop=True)


@pytest.mark.parametrize(
    ("grain", "freq", "channels"),
    [("month", "M", ()), ("quarter", "Q", ("email", "referral")), ("week", "W-SUN", ("email",))],
)
def test_cells_agree_with_pandas(
    shop: SampleShop, sample_store: Store, grain: str, freq: str, channels: tuple[str, ...]
) -> None:
    got = cells_of(sample_store, grain=grain, filters=Filters(channels=channels))
    expected = pandas_cells(shop, freq, channels)
    assert len(got) == len(expected)
    for column in ("cohort", "period_index", "cohort_size", "active_customers", "orders"):
        assert got[column].tolist() == expected[column].tolist(), column
    for column in (
        "retention_rate",
        "revenue",
        "revenue_retention",
        "cumulative_revenue_per_customer",
    ):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, atol=1e-6)


def test_month1_metric_agrees_with_page_average(sample_store: Store) -> None:
    avg = coh.average_curves(cells_of(sample_store)).set_index("period_index")
    period = [Period(0, datetime(2023, 11, 1), datetime(2026, 11, 1))]
    for name, k, column in (
        ("cohort_retention_m1", 1, "retention_rate"),
        ("cohort_retention_m3", 3, "retention_rate"),
        ("cohort_ltv_m6", 5, "cumulative_revenue_per_customer"),
        ("cohort_ltv_m12", 11, "cumulative_revenue_per_customer"),
    ):
        value = compute(sample_store, REGISTRY[name], period)["value"].iloc[0]
        assert value == pytest.approx(avg.loc[k, column]), name


def test_sizes_sum_to_filtered_customers(sample_store: Store) -> None:
    for flt in (Filters(), Filters(channels=("organic",), countries=("US", "DE"))):
        c = cells_of(sample_store, grain="week", filters=flt, split_by="first_category")
        expected = sample_store.scalar(
            "SELECT count(*) FROM customer_summary AS c WHERE "
            + CUSTOMER_FILTER_SQL.format(alias="c"),
            {
                k: v
                for k, v in flt.named_params().items()
                if k in ("channels", "countries", "unknown", "segment")
            },
        )
        assert c.loc[c["period_index"] == 0, "cohort_size"].sum() == expected


# --- invariants -------------------------------------------------------------------------------

order_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e"])),
        st.integers(0, 400),  # days after 2024-01-01
        st.integers(0, 23),  # hour
        st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 2)),
        st.sampled_from(["completed", "completed", "refunded", "cancelled"]),
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture(scope="module")
def prop_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store(Path(tmp_path_factory.mktemp("coh_prop")) / "p.duckdb") as s:
        yield s


def orders_frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    base = pd.Timestamp("2024-01-01")
    return frame(
        "orders",
        [
            dict(
                order_id=f"o{i}",
                customer_id=c,
                ordered_at=(base + pd.Timedelta(days=d, hours=h)).isoformat(),
                revenue=r,
                status=s,
                channel="email" if c in ("a", "b") else "social",
            )
            for i, (c, d, h, r, s) in enumerate(rows)
        ],
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=order_rows, grain=st.sampled_from(["week", "month", "quarter"]), seed=st.integers())
def test_invariants(
    prop_store: Store, rows: list[tuple[object, ...]], grain: str, seed: int
) -> None:
    orders = orders_frame(rows)
    load_frames(prop_store, {"orders": orders}, source_name="p")
    query = coh.CohortQuery(grain=grain, filters=Filters(channels=("email",)))  # type: ignore[arg-type]
    cells = coh.cohort_cells(prop_store, query)
    # Rates are shares.
    assert cells["retention_rate"].between(0, 1).all()
    # Period 0 retention is 1 for every cohort.
    assert (cells.loc[cells["period_index"] == 0, "retention_rate"] == 1).all()
    # Cohort sizes add up to the customers in the filter (email = customers a and b).
    counted = orders[orders["status"] != "cancelled"]
    in_filter = counted.loc[counted["customer_id"].isin(["a", "b"]), "customer_id"].nunique()
    assert cells.loc[cells["period_index"] == 0, "cohort_size"].sum() == in_filter
    avg = coh.average_curves(cells)
    assert avg["retention_rate"].between(0, 1).all()
    # Row order of the input never matters.
    shuffled = orders.sample(frac=1.0, random_state=np.random.default_rng(seed % 2**32))
    load_frames(prop_store, {"orders": shuffled}, source_name="p")
    pd.testing.assert_frame_equal(coh.cohort_cells(prop_store, query), cells)
