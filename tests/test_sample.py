"""The sample shop: determinism, table contracts, realism figures and the DuckDB build.

Realism checks recompute each figure in plain pandas on the default shop (20,000 customers,
which generates in well under a second) and state the accepted range next to it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from retention.sample import (
    CHANNELS,
    DEFAULT_END,
    DEFAULT_START,
    LOYALTY_LAUNCH,
    REPLENISHMENT_CATEGORIES,
    SampleShop,
    build_sample_db,
    generate_sample,
)
from retention.schema import COUNTED_STATUSES, ORDER_STATUSES, TABLES

END = pd.Timestamp(DEFAULT_END) + pd.Timedelta(days=1)  # exclusive end of the window
START = pd.Timestamp(DEFAULT_START)


@pytest.fixture(scope="module")
def shop() -> SampleShop:
    return generate_sample()


@pytest.fixture(scope="module")
def small() -> SampleShop:
    return generate_sample(3000, seed=7)


def counted(shop: SampleShop) -> pd.DataFrame:
    """Counted orders of registered customers (completed or refunded)."""
    o = shop.orders
    return o[o["status"].isin(COUNTED_STATUSES) & o["customer_id"].notna()]


def customer_view(shop: SampleShop) -> pd.DataFrame:
    """One row per customer: counted orders, first order's coupon/category, repeat flag."""
    orders = counted(shop).sort_values(["customer_id", "ordered_at", "order_id"])
    first = orders.groupby("customer_id").head(1).set_index("customer_id")
    items = shop.order_items[shop.order_items["order_id"].isin(first["order_id"])]
    top = items.sort_values(["order_id", "line_revenue"]).groupby("order_id").tail(1)
    first_category = first["order_id"].map(top.set_index("order_id")["category"])
    view = shop.customers.set_index("customer_id").assign(
        orders=orders.groupby("customer_id").size(),
        first_at=first["ordered_at"],
        first_coupon=first["coupon_code"].notna(),
        first_category=first_category,
    )
    view["orders"] = view["orders"].fillna(0).astype(int)
    view["repeat"] = view["orders"] >= 2
    return view


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(small: SampleShop) -> None:
    again = generate_sample(3000, seed=7)
    for name, frame in small.frames().items():
        pd.testing.assert_frame_equal(frame, again.frames()[name], obj=name)


def test_different_seed_gives_different_frames(small: SampleShop) -> None:
    other = generate_sample(3000, seed=8)
    assert not small.orders.equals(other.orders)
    assert not small.customers["country"].equals(other.customers["country"])


def test_output_never_depends_on_today(small: SampleShop) -> None:
    assert small.orders["ordered_at"].max() < END
    assert small.orders["ordered_at"].min() >= START
    assert small.traffic_daily["date"].min() == START
    assert small.traffic_daily["date"].max() == pd.Timestamp(DEFAULT_END)


# --- contracts -----------------------------------------------------------------------------


def test_frames_follow_the_contracts(shop: SampleShop) -> None:
    frames = shop.frames()
    assert list(frames) == [
        "orders",
        "customers",
        "order_items",
        "traffic_daily",
        "marketing_spend",
    ]
    for name, frame in frames.items():
        assert tuple(frame.columns) == TABLES[name].column_names, name
        assert len(frame) > 0, name


def test_column_types(shop: SampleShop) -> None:
    o, c, i, t, s = shop.frames().values()
    for col in (o["ordered_at"], c["signup_at"], c["loyalty_joined_at"], t["date"], s["date"]):
        assert pd.api.types.is_datetime64_any_dtype(col), col.name
    for col in (o["revenue"], o["discount_amount"], i["line_revenue"], s["spend"]):
        assert col.dtype == "float64", col.name
        assert ((col * 100).round() - col * 100).abs().max() < 1e-6, f"{col.name} not in cents"
    for col in ("sessions", "product_views", "add_to_carts", "checkouts"):
        assert t[col].dtype == "int64"
    assert i["quantity"].dtype == "int64"
    assert c["accepts_marketing"].dtype == bool and c["loyalty_member"].dtype == bool
    assert (t["date"] == t["date"].dt.normalize()).all()
    assert s["date"].dt.is_month_start.all()


def test_keys_are_unique(shop: SampleShop) -> None:
    assert shop.orders["order_id"].is_unique
    assert shop.customers["customer_id"].is_unique
    assert not shop.order_items.duplicated(["order_id", "product_id"]).any()
    assert not shop.traffic_daily.duplicated(["date", "channel", "device"]).any()
    assert not shop.marketing_spend.duplicated(["date", "channel"]).any()


def test_id_formats(shop: SampleShop) -> None:
    assert shop.orders["order_id"].str.fullmatch(r"O\d{7}").all()
    assert shop.customers["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert shop.order_items["product_id"].str.fullmatch(r"P\d{4}").all()
    c = shop.customers
    assert (c["email"] == c["customer_id"].str.lower() + "@example.com").all()
    assert c["name"].str.contains(" ").all()
    assert c["country"].str.fullmatch(r"[A-Z]{2}").all()
    assert c["country"].value_counts().index[0] == "US"
    assert c["country"].nunique() >= 8
    n_products = shop.order_items["product_id"].nunique()
    assert 200 <= n_products <= 400
    assert shop.order_items["category"].nunique() == 8


def test_referential_integrity(shop: SampleShop) -> None:
    o, c, i = shop.orders, shop.customers, shop.order_items
    assert o["customer_id"].dropna().isin(c["customer_id"]).all()
    assert c["customer_id"].isin(o["customer_id"]).all(), "every customer placed an order"
    assert i["order_id"].isin(o["order_id"]).all()
    assert o["order_id"].isin(i["order_id"]).all(), "every order has items"


def test_order_values(shop: SampleShop) -> None:
    o = shop.orders
    assert set(o["status"]) <= set(ORDER_STATUSES)
    assert (o["discount_amount"] >= 0).all()
    assert (o.loc[o["status"] != "refunded", "revenue"] > 0).all()
    assert (o["revenue"] >= 0).all()
    assert (o["currency"] == "USD").all()
    with_coupon = o["coupon_code"].notna()
    assert (o.loc[with_coupon, "discount_amount"] > 0).all()
    assert (o.loc[~with_coupon, "discount_amount"] == 0).all()
    assert {"WELCOME10", "BF2024"} <= set(o["coupon_code"].dropna())


def test_items_add_up_to_the_order(shop: SampleShop) -> None:
    i = shop.order_items
    assert (i["quantity"] >= 1).all()
    assert (i["line_revenue"] >= 0).all()
    lines = i.groupby("order_id")["line_revenue"].sum()
    o = shop.orders.set_index("order_id")
    diff = lines.reindex(o.index) - o["revenue"]
    refunded = o["status"] == "refunded"
    assert diff[~refunded].abs().max() < 0.005, "lines sum to revenue to the cent"
    assert (diff[refunded] > -0.005).all(), "a refund only lowers the order's revenue"


def test_customer_attributes(shop: SampleShop) -> None:
    view = customer_view(shop)
    orders = shop.orders.dropna(subset=["customer_id"]).sort_values("ordered_at")
    first = orders.groupby("customer_id").head(1).set_index("customer_id")
    c = shop.customers.set_index("customer_id")
    assert (first["channel"].reindex(c.index) == c["acquisition_channel"]).all()
    assert (first["status"] != "cancelled").all()
    assert (c["signup_at"] <= view["first_at"]).all()
    assert (c["signup_at"] >= START).all()
    assert set(c["acquisition_channel"]) == set(CHANNELS)
    members = c["loyalty_member"]
    assert c.loc[members, "loyalty_joined_at"].notna().all()
    assert c.loc[~members, "loyalty_joined_at"].isna().all()
    assert (c.loc[members, "loyalty_joined_at"] >= pd.Timestamp(LOYALTY_LAUNCH)).all()
    assert (c.loc[members, "loyalty_joined_at"] < END).all()
    assert 0.1 <= members.mean() <= 0.35
    assert 0.5 <= c["accepts_marketing"].mean() <= 0.75


def test_funnel_is_monotone(shop: SampleShop) -> None:
    t = shop.traffic_daily
    assert (t["sessions"] >= t["product_views"]).all()
    assert (t["product_views"] >= t["add_to_carts"]).all()
    assert (t["add_to_carts"] >= t["checkouts"]).all()
    assert (t["checkouts"] >= 0).all()
    assert set(t["device"]) == {"desktop", "mobile", "tablet"}


def test_checkouts_cover_the_orders_of_each_day_and_channel(shop: SampleShop) -> None:
    o = shop.orders
    orders = o.groupby([o["ordered_at"].dt.normalize().rename("date"), "channel"]).size()
    checkouts = shop.traffic_daily.groupby(["date", "channel"])["checkouts"].sum()
    joined = pd.concat([orders.rename("orders"), checkouts], axis=1)
    assert joined["checkouts"].notna().all(), "every order's day and channel has traffic"
    assert (joined["checkouts"] >= joined["orders"].fillna(0)).all()


# --- realism -------------------------------------------------------------------------------


def test_repeat_purchase_rate_is_realistic(shop: SampleShop) -> None:
    rate = customer_view(shop)["repeat"].mean()
    assert 0.20 <= rate <= 0.45, rate


def test_orders_per_customer(shop: SampleShop) -> None:
    per_customer = len(shop.orders) / len(shop.customers)
    assert 2.0 <= per_customer <= 3.5, per_customer


def test_november_december_peak(shop: SampleShop) -> None:
    first = customer_view(shop)["first_at"]
    by_month = first.groupby(first.dt.to_period("M")).size()
    per_day = by_month / by_month.index.days_in_month
    peak = by_month.index.month >= 11
    ratio = per_day[peak].mean() / per_day[~peak].mean()
    assert ratio >= 1.3, ratio


def test_acquisition_grows(shop: SampleShop) -> None:
    first = customer_view(shop)["first_at"]
    first_year = (first < START + pd.DateOffset(years=1)).sum()
    last_year = (first >= END - pd.DateOffset(years=1)).sum()
    assert last_year > 1.3 * first_year, (first_year, last_year)


def test_channels_retain_differently(shop: SampleShop) -> None:
    rate = customer_view(shop).groupby("acquisition_channel")["repeat"].mean()
    good = rate[["email", "referral", "organic"]]
    poor = rate[["marketplace", "social"]]
    assert good.min() > poor.max(), rate.to_dict()


def test_first_order_coupon_customers_retain_worse(shop: SampleShop) -> None:
    rate = customer_view(shop).groupby("first_coupon")["repeat"].mean()
    assert rate[True] < rate[False] - 0.03, rate.to_dict()


def test_replenishment_categories_repeat_more(shop: SampleShop) -> None:
    rate = customer_view(shop).groupby("first_category")["repeat"].mean()
    replenish = rate[rate.index.isin(REPLENISHMENT_CATEGORIES)]
    others = rate[~rate.index.isin(REPLENISHMENT_CATEGORIES)]
    assert len(replenish) == 3 and len(others) == 5
    assert replenish.min() > others.max(), rate.to_dict()


def test_loyalty_members_buy_more_after_joining(shop: SampleShop) -> None:
    orders = counted(shop)
    view = customer_view(shop)
    launch = pd.Timestamp(LOYALTY_LAUNCH)
    # Members: from joining to the end. Others: from the launch (or first order) to the end.
    since = view["loyalty_joined_at"].where(view["loyalty_member"], view["first_at"].clip(launch))
    since = since[since < END]
    after = orders[orders["ordered_at"] > orders["customer_id"].map(since)]
    n_after = after.groupby("customer_id").size().reindex(since.index, fill_value=0)
    years = (END - since).dt.total_seconds() / (365.25 * 86_400)
    member = view.loc[since.index, "loyalty_member"]
    rate_member = n_after[member].sum() / years[member].sum()
    rate_other = n_after[~member].sum() / years[~member].sum()
    assert rate_member > 1.5 * rate_other, (rate_member, rate_other)


def test_refund_cancellation_and_guest_rates(shop: SampleShop) -> None:
    status = shop.orders["status"].value_counts(normalize=True)
    assert 0.025 <= status["refunded"] <= 0.06, status.to_dict()
    assert 0.01 <= status["cancelled"] <= 0.03, status.to_dict()
    guests = shop.orders["customer_id"].isna().mean()
    assert 0.015 <= guests <= 0.035, guests
    refunded = shop.orders[shop.orders["status"] == "refunded"]
    assert (refunded["revenue"] == 0).any() and (refunded["revenue"] > 0).any()


def test_conversion_is_realistic(shop: SampleShop) -> None:
    t = shop.traffic_daily
    conversion = len(shop.orders) / t["sessions"].sum()
    assert 0.01 <= conversion <= 0.05, conversion
    # Orders carry no device; checkouts per session stand in for conversion by device.
    by_device = t.groupby("device")[["checkouts", "sessions"]].sum()
    rate = by_device["checkouts"] / by_device["sessions"]
    assert rate["desktop"] > 1.2 * rate["mobile"], rate.to_dict()


def test_cac_is_plausible(shop: SampleShop) -> None:
    spend = shop.marketing_spend.groupby("channel")["spend"].sum()
    new = shop.customers.groupby("acquisition_channel").size()
    cac = spend / new
    for channel in ("paid_search", "social", "marketplace"):
        assert 15 <= cac[channel] <= 80, (channel, cac[channel])
    for channel in ("organic", "referral", "email"):
        assert cac[channel] < 15, (channel, cac[channel])
    assert (shop.marketing_spend["spend"] >= 0).all()


# --- arguments and progress ----------------------------------------------------------------


def test_progress_is_reported_from_zero_to_one() -> None:
    seen: list[tuple[float, str]] = []
    generate_sample(300, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert len(seen) >= 3
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(message for _, message in seen)


def test_custom_window_and_tiny_size() -> None:
    tiny = generate_sample(50, seed=1, start=date(2022, 1, 1), end=date(2022, 12, 31))
    assert tiny.customers["customer_id"].is_unique and len(tiny.customers) == 50
    o = tiny.orders
    assert o["ordered_at"].min() >= pd.Timestamp("2022-01-01")
    assert o["ordered_at"].max() < pd.Timestamp("2023-01-01")
    assert not tiny.customers["loyalty_member"].any(), "the programme launches after the window"
    assert (
        len(tiny.traffic_daily) == 365 * tiny.traffic_daily.groupby(["channel", "device"]).ngroups
    )


@pytest.mark.parametrize(
    "kwargs", [{"customers": 0}, {"start": date(2024, 1, 1), "end": date(2023, 1, 1)}]
)
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate_sample(**kwargs)  # type: ignore[arg-type]


# --- the DuckDB file -----------------------------------------------------------------------


def test_build_sample_db_loads_every_table(tmp_path: Path, small: SampleShop) -> None:
    from retention.store import Store

    path = tmp_path / "sample.duckdb"
    path.write_bytes(b"an old, broken file")
    Path(f"{path}.wal").write_bytes(b"a stale write-ahead log")
    seen: list[float] = []
    result = build_sample_db(path, 3000, seed=7, progress=lambda f, _m: seen.append(f))
    assert result == path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.duckdb"], "no leftovers"
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with Store(path, read_only=True) as store:
        for name, frame in small.frames().items():
            assert store.row_count(name) == len(frame), name
        revenue = store.scalar("SELECT sum(revenue) FROM orders")
        assert float(revenue) == pytest.approx(small.orders["revenue"].sum(), abs=0.01)
        customers = store.scalar("SELECT count(*) FROM customer_summary")
        assert customers == counted(small)["customer_id"].nunique()
        members = store.scalar("SELECT count(*) FROM customers WHERE loyalty_member")
        assert members == small.customers["loyalty_member"].sum()


def test_build_sample_db_replaces_an_existing_database(tmp_path: Path) -> None:
    from retention.store import Store

    path = tmp_path / "sub" / "shop.duckdb"
    build_sample_db(path, 400, seed=1)
    build_sample_db(path, 300, seed=2)
    with Store(path, read_only=True) as store:
        assert store.row_count("customers") == 300
