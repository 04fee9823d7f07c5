"""SQL results agree with plain-pandas recomputations on the sample shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from retention.data_summary import headline_counts
from retention.filters import Filters
from retention.sample import SampleShop, build_sample_db, generate_sample
from retention.store import Store

CUSTOMERS = 3000
SEED = 7


@pytest.fixture(scope="module")
def shop() -> SampleShop:
    return generate_sample(CUSTOMERS, SEED)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("agree")) / "shop.duckdb"
    build_sample_db(path, CUSTOMERS, SEED)
    with Store(path) as s:
        yield s


def counted(shop: SampleShop) -> pd.DataFrame:
    o = shop.orders
    return o[o["status"].isin(["completed", "refunded"])]


def test_build_sample_db_loads_every_frame(shop: SampleShop, sample_store: Store) -> None:
    for name, frame in shop.frames().items():
        assert sample_store.row_count(name) == len(frame), name


def test_headline_counts_agree_with_pandas(shop: SampleShop, sample_store: Store) -> None:
    o = counted(shop)
    c = headline_counts(sample_store)
    assert c.orders == len(o)
    assert c.customers == o["customer_id"].nunique()  # nunique ignores guests (None)
    assert c.guest_orders == int(o["customer_id"].isna().sum())
    assert c.revenue == pytest.approx(o["revenue"].sum(), abs=0.01)


def test_filtered_headline_counts_agree_with_pandas(shop: SampleShop, sample_store: Store) -> None:
    start, end = date(2025, 1, 1), date(2025, 6, 30)
    flt = Filters(start=start, end=end, channels=("email", "paid_search"), countries=("US",))
    o = counted(shop)
    first = o.dropna(subset=["customer_id"]).sort_values(["ordered_at", "order_id"])
    first = first.drop_duplicates("customer_id").set_index("customer_id")
    cust = shop.customers.set_index("customer_id")
    channel = cust["acquisition_channel"].reindex(first.index).fillna(first["channel"])
    country = cust["country"].reindex(first.index)
    chosen = set(first.index[channel.isin(flt.channels) & country.isin(flt.countries)])
    day = o["ordered_at"].dt.normalize()
    sel = o[
        (day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end)) & o["customer_id"].isin(chosen)
    ]
    c = headline_counts(sample_store, flt)
    assert (c.orders, c.customers, c.guest_orders) == (len(sel), sel["customer_id"].nunique(), 0)
    assert c.revenue == pytest.approx(sel["revenue"].sum(), abs=0.01)


def test_customer_summary_agrees_with_pandas(shop: SampleShop, sample_store: Store) -> None:
    o = counted(shop).dropna(subset=["customer_id"]).sort_values(["ordered_at", "order_id"])
    g = o.groupby("customer_id")
    expected = pd.DataFrame(
        {
            "orders": g.size(),
            "revenue": g["revenue"].sum(),
            "first_order_at": g["ordered_at"].min(),
            "last_order_at": g["ordered_at"].max(),
            "first_order_revenue": g["revenue"].first(),
            "refunded_orders": g["status"].apply(lambda s: int((s == "refunded").sum())),
        }
    )
    got = (
        sample_store.query(
            "SELECT customer_id, orders, revenue, first_order_at, last_order_at, "
            "first_order_revenue, refunded_orders, cohort_month FROM customer_summary"
        )
        .set_index("customer_id")
        .sort_index()
    )
    expected = expected.sort_index()
    assert got.index.tolist() == expected.index.tolist()
    assert got["orders"].tolist() == expected["orders"].tolist()
    assert got["refunded_orders"].tolist() == expected["refunded_orders"].tolist()
    assert got["revenue"].astype(float).tolist() == pytest.approx(
        expected["revenue"].tolist(), abs=0.01
    )
    assert got["first_order_revenue"].astype(float).tolist() == pytest.approx(
        expected["first_order_revenue"].tolist(), abs=0.01
    )
    assert (got["first_order_at"] == expected["first_order_at"]).all()
    assert (got["last_order_at"] == expected["last_order_at"]).all()
    cohort = expected["first_order_at"].dt.to_period("M").dt.to_timestamp()
    assert (pd.to_datetime(got["cohort_month"]) == cohort).all()
