"""Churn risk: features and labels by hand, no leakage, row order, and the model on the sample."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention.ingest.load import load_frames
from retention.models.churn_risk import (
    CALIBRATION_COLUMNS,
    DRIVER_COLUMNS,
    FEATURE_LABELS,
    SCORE_COLUMNS,
    SCORERS,
    ChurnRiskResult,
    features_as_of,
    fit_churn_risk,
    labels_after,
)
from retention.sample import DEFAULT_END, DEFAULT_START, build_sample_db
from retention.store import Store
from tests.conftest import frame

# --- a hand-written shop -----------------------------------------------------------------------
# Features are taken as of CUTOFF; labels look at the 30 days after it, (Jun 30, Jul 30].
CUTOFF = date(2024, 6, 30)
HORIZON = 30

ORDERS = [
    # ann: four counted orders before the cutoff, a cancelled one, one in the horizon.
    {
        "order_id": "a1",
        "customer_id": "ann",
        "ordered_at": "2024-01-10 09:00",
        "revenue": 100.0,
        "discount_amount": 20.0,
        "coupon_code": "WELCOME",
        "channel": "email",
    },
    {"order_id": "a2", "customer_id": "ann", "ordered_at": "2024-03-01 10:00", "revenue": 50.0},
    {
        "order_id": "a3",
        "customer_id": "ann",
        "ordered_at": "2024-03-15 11:00",
        "revenue": 40.0,
        "status": "refunded",
    },
    {
        "order_id": "a4",
        "customer_id": "ann",
        "ordered_at": "2024-05-20 12:00",
        "revenue": 80.0,
        "discount_amount": 10.0,
        "coupon_code": "SPRING",
    },
    {
        "order_id": "a5",
        "customer_id": "ann",
        "ordered_at": "2024-06-25 12:00",
        "revenue": 70.0,
        "status": "cancelled",
    },
    {"order_id": "a6", "customer_id": "ann", "ordered_at": "2024-07-15 12:00", "revenue": 60.0},
    # bob: one order, never again.
    {
        "order_id": "b1",
        "customer_id": "bob",
        "ordered_at": "2024-02-15 08:00",
        "revenue": 30.0,
        "channel": "social",
    },
    # cat: first order after the cutoff, so not a customer as of the cutoff.
    {"order_id": "c1", "customer_id": "cat", "ordered_at": "2024-07-02 08:00", "revenue": 25.0},
    # dan: two orders on the cutoff day itself, the next on the last day of the horizon.
    {"order_id": "d1", "customer_id": "dan", "ordered_at": "2024-06-30 08:00", "revenue": 20.0},
    {"order_id": "d2", "customer_id": "dan", "ordered_at": "2024-06-30 18:00", "revenue": 30.0},
    {"order_id": "d3", "customer_id": "dan", "ordered_at": "2024-07-30 23:00", "revenue": 10.0},
    # eve: one order, the next one day after the horizon (and no customers row).
    {"order_id": "e1", "customer_id": "eve", "ordered_at": "2024-06-01 08:00", "revenue": 45.0},
    {"order_id": "e2", "customer_id": "eve", "ordered_at": "2024-07-31 08:00", "revenue": 45.0},
    # A guest order: not a customer.
    {"order_id": "g1", "customer_id": None, "ordered_at": "2024-06-10 08:00", "revenue": 15.0},
]
CUSTOMERS = [
    {
        "customer_id": "ann",
        "country": "DE",
        "acquisition_channel": "email",
        "accepts_marketing": True,
        "loyalty_member": True,
        "loyalty_joined_at": "2024-05-01 10:00",
    },
    # bob is a member but the file does not say since when: the flag is taken as it is.
    {"customer_id": "bob", "country": "US", "loyalty_member": True},
    {"customer_id": "cat", "country": "US"},
    # dan joins after the cutoff: not a member as of the cutoff.
    {
        "customer_id": "dan",
        "country": "GB",
        "loyalty_member": True,
        "loyalty_joined_at": "2024-07-10 10:00",
    },
]
ITEMS = [{"order_id": "a1", "product_id": "p1", "category": "coffee", "line_revenue": 100.0}]


def load(store: Store, orders: list[dict[str, object]], customers: list[dict[str, object]]) -> None:
    load_frames(
        store,
        {
            "orders": frame("orders", orders),
            "customers": frame("customers", customers),
            "order_items": frame("order_items", ITEMS),
        },
        source_name="churn shop",
    )


@pytest.fixture
def shop(store: Store) -> Store:
    load(store, ORDERS, CUSTOMERS)
    return store


def by_customer(features: pd.DataFrame) -> dict[str, dict[str, object]]:
    return features.set_index("customer_id").to_dict(orient="index")


def test_features_by_hand(shop: Store) -> None:
    features = features_as_of(shop, CUTOFF)
    # cat's first order is after the cutoff and the guest is no customer.
    assert features["customer_id"].tolist() == ["ann", "bob", "dan", "eve"]
    assert list(features.columns) == ["customer_id", *FEATURE_LABELS]
    rows = by_customer(features)

    ann = rows["ann"]
    # Counted orders up to Jun 30: Jan 10, Mar 1, Mar 15 (refunded, still counted), May 20;
    # the cancelled Jun 25 order is out and the Jul 15 one is after the cutoff.
    assert ann["orders"] == 4
    assert ann["revenue"] == pytest.approx(270.0)  # 100 + 50 + 40 + 80
    assert ann["aov"] == pytest.approx(67.5)
    assert ann["recency_days"] == 41  # May 20 -> Jun 30: 11 + 30
    assert ann["tenure_days"] == 172  # Jan 10 -> Jun 30 (2024 is a leap year)
    assert ann["mean_gap_days"] == pytest.approx(131 / 3)  # Jan 10 -> May 20 is 131 days, 3 gaps
    assert ann["last_gap_days"] == 66  # Mar 15 -> May 20: 17 + 30 + 19
    assert ann["recency_vs_gap"] == pytest.approx(41 / (131 / 3))
    # Trend windows: last 90 days = Apr 2 .. Jun 30 (May 20); the 90 before = Jan 3 .. Apr 1.
    assert (ann["orders_recent"], ann["orders_previous"], ann["order_trend"]) == (1, 3, -2)
    assert ann["coupon_share"] == pytest.approx(0.5)  # WELCOME and SPRING of 4 orders
    assert ann["discount_share"] == pytest.approx(30 / 300)  # 30 off 270 + 30 before discounts
    assert ann["refund_share"] == pytest.approx(0.25)
    assert ann["first_order_coupon"] == 1
    assert ann["loyalty_member"] == 1  # joined May 1, before the cutoff
    assert ann["accepts_marketing"] == 1
    assert (ann["channel"], ann["country"], ann["first_category"]) == ("email", "DE", "coffee")

    bob = rows["bob"]
    # One order on Feb 15: 136 days before Jun 30; no gaps; it falls in the earlier window.
    assert (bob["orders"], bob["recency_days"], bob["tenure_days"]) == (1, 136, 136)
    assert math.isnan(bob["mean_gap_days"]) and math.isnan(bob["last_gap_days"])
    assert math.isnan(bob["recency_vs_gap"])
    assert (bob["orders_recent"], bob["orders_previous"], bob["order_trend"]) == (0, 1, -1)
    assert bob["loyalty_member"] == 1  # flag without a date
    assert (bob["channel"], bob["country"]) == ("social", "US")  # channel of the first order

    dan = rows["dan"]
    # Two orders on the cutoff day: included, 0 days ago, gaps of 0 (ratio undefined).
    assert (dan["orders"], dan["recency_days"], dan["tenure_days"]) == (2, 0, 0)
    assert dan["mean_gap_days"] == 0 and dan["last_gap_days"] == 0
    assert math.isnan(dan["recency_vs_gap"])
    assert dan["order_trend"] == 2
    assert dan["loyalty_member"] == 0  # joins Jul 10, after the cutoff
    assert dan["channel"] is None

    eve = rows["eve"]
    assert (eve["recency_days"], eve["orders_recent"]) == (29, 1)  # Jun 1 -> Jun 30
    assert eve["country"] is None and eve["first_category"] is None  # no customers row, no items


def test_labels_by_hand(shop: Store) -> None:
    labels = labels_after(shop, CUTOFF, HORIZON)
    # ann reorders Jul 15 (0); bob never (1); dan on Jul 30, the last day of (Jun 30, Jul 30]
    # (0); eve on Jul 31, one day too late (1). cat's first order is after the cutoff: absent.
    assert labels.to_dict() == {"ann": 0, "bob": 1, "dan": 0, "eve": 1}
    assert labels.name == "churned"


def test_labels_need_the_whole_horizon(shop: Store) -> None:
    with pytest.raises(ValueError, match="orders end on 2024-07-31"):
        labels_after(shop, date(2024, 7, 15), HORIZON)


def test_active_days_and_first_day(shop: Store) -> None:
    # Active = fewer than active_days since the last order: ann (41) is out at 41, in at 42.
    assert features_as_of(shop, CUTOFF, active_days=41)["customer_id"].tolist() == ["dan", "eve"]
    assert features_as_of(shop, CUTOFF, active_days=42)["customer_id"].tolist() == [
        "ann",
        "dan",
        "eve",
    ]
    # From Mar 1 on, bob's only order is out; ann keeps Mar 1, Mar 15 and May 20.
    later = by_customer(features_as_of(shop, CUTOFF, first_day=date(2024, 3, 1)))
    assert sorted(later) == ["ann", "dan", "eve"]
    assert (later["ann"]["orders"], later["ann"]["tenure_days"]) == (3, 121)  # Mar 1 -> Jun 30
    with pytest.raises(ValueError, match="after the cutoff"):
        features_as_of(shop, CUTOFF, first_day=date(2024, 7, 1))


def test_orders_after_the_cutoff_never_change_the_features(shop: Store, tmp_path: Path) -> None:
    with Store(tmp_path / "before.duckdb") as before:
        ends = pd.Timestamp(CUTOFF) + pd.Timedelta(days=1)
        load(before, [o for o in ORDERS if pd.Timestamp(str(o["ordered_at"])) < ends], CUSTOMERS)
        for cutoff in (date(2024, 3, 1), date(2024, 5, 20), CUTOFF):
            pd.testing.assert_frame_equal(
                features_as_of(shop, cutoff), features_as_of(before, cutoff)
            )


def test_row_order_does_not_matter(shop: Store, tmp_path: Path) -> None:
    order = np.random.default_rng(7).permutation(len(ORDERS))
    with Store(tmp_path / "shuffled.duckdb") as shuffled:
        load(shuffled, [ORDERS[i] for i in order], CUSTOMERS[::-1])
        pd.testing.assert_frame_equal(
            features_as_of(shop, CUTOFF), features_as_of(shuffled, CUTOFF)
        )
        pd.testing.assert_series_equal(
            labels_after(shop, CUTOFF, HORIZON), labels_after(shuffled, CUTOFF, HORIZON)
        )


# --- errors ------------------------------------------------------------------------------------


def test_too_little_history(shop: Store) -> None:
    # Orders start Jan 10; a 90-day model as of Jul 31 would train as of Feb 2 (Jul 31 - 180
    # days), with less than 90 days of orders before it. Jan 10 + 90 + 180 days is Oct 6.
    with pytest.raises(ValueError, match=r"Too little history.*on or after 2024-10-06"):
        fit_churn_risk(shop, as_of=date(2024, 7, 31), horizon_days=90)


def test_too_few_customers(shop: Store) -> None:
    # 30 days: train as of Jun 1 (enough history), but only ann, bob and eve by then.
    with pytest.raises(ValueError, match="Too few customers.*3 customers"):
        fit_churn_risk(shop, as_of=date(2024, 7, 31), horizon_days=HORIZON)


def test_as_of_after_the_data(shop: Store) -> None:
    with pytest.raises(ValueError, match="after the last order"):
        fit_churn_risk(shop, as_of=date(2024, 8, 15), horizon_days=HORIZON)


@pytest.mark.parametrize("horizon", [0, -5, 1.5])
def test_bad_horizon(shop: Store, horizon: object) -> None:
    with pytest.raises(ValueError, match="horizon_days"):
        fit_churn_risk(shop, as_of=date(2024, 7, 31), horizon_days=horizon)  # type: ignore[arg-type]


def test_empty_store(store: Store) -> None:
    with pytest.raises(ValueError, match="no counted orders"):
        fit_churn_risk(store, as_of=date(2024, 7, 31))


def test_only_one_label(store: Store) -> None:
    # 120 customers who order every week all year: nobody goes 30 days without an order.
    start = pd.Timestamp("2024-01-01 10:00")
    orders = [
        {
            "order_id": f"o{c}-{w}",
            "customer_id": f"c{c:03d}",
            "ordered_at": str(start + pd.Timedelta(days=7 * w + c % 7)),
            "revenue": 20.0,
        }
        for c in range(120)
        for w in range(52)
    ]
    load(store, orders, [])
    with pytest.raises(ValueError, match=r"0 did not.*at least 10 of each.*shorter horizon"):
        fit_churn_risk(store, as_of=date(2024, 12, 20), horizon_days=HORIZON)


# --- the sample shop ---------------------------------------------------------------------------

AS_OF = DEFAULT_END


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("churn")) / "shop.duckdb"
    build_sample_db(path, 3000)
    with Store(path) as s:
        yield s


@pytest.fixture(scope="module")
def fitted(sample_store: Store) -> tuple[ChurnRiskResult, list[tuple[float, str]]]:
    notes: list[tuple[float, str]] = []
    result = fit_churn_risk(sample_store, as_of=AS_OF, progress=lambda f, m: notes.append((f, m)))
    return result, notes


def test_sample_covers_the_split() -> None:
    # The default split needs 90 + 2 x 90 days of orders before AS_OF.
    assert DEFAULT_START + timedelta(days=270) < AS_OF


def test_sample_features_agree_with_pandas(sample_store: Store) -> None:
    cutoff = date(2026, 3, 15)
    orders = sample_store.query(
        "SELECT order_id, customer_id, ordered_at, coupon_code FROM orders "
        "WHERE customer_id IS NOT NULL AND status IN ('completed', 'refunded')"
    )
    orders["day"] = orders["ordered_at"].dt.normalize()
    orders = orders[orders["day"] <= pd.Timestamp(cutoff)]
    orders = orders.sort_values(["customer_id", "ordered_at", "order_id"])
    grouped = orders.groupby("customer_id")
    first, last, n = grouped["day"].min(), grouped["day"].max(), grouped["day"].size()
    end = pd.Timestamp(cutoff)
    orders["gap"] = grouped["day"].diff().dt.days
    expected = pd.DataFrame(
        {
            "recency_days": (end - last).dt.days.astype("float64"),
            "orders": n.astype("float64"),
            "tenure_days": (end - first).dt.days.astype("float64"),
            "mean_gap_days": ((last - first).dt.days / (n - 1)).where(n > 1),
            "last_gap_days": orders.groupby("customer_id")["gap"].last(),
            "orders_recent": orders[orders["day"] > end - pd.Timedelta(days=90)]
            .groupby("customer_id")
            .size()
            .reindex(n.index, fill_value=0)
            .astype("float64"),
            "coupon_share": orders["coupon_code"].notna().groupby(orders["customer_id"]).mean(),
        }
    )
    got = features_as_of(sample_store, cutoff).set_index("customer_id")[list(expected.columns)]
    expected.index.name = "customer_id"
    pd.testing.assert_frame_equal(got, expected.astype("float64"), check_names=False)


def test_model_beats_chance_and_recency_is_a_fair_baseline(
    fitted: tuple[ChurnRiskResult, list[tuple[float, str]]],
) -> None:
    metrics = fitted[0].metrics
    assert metrics["auc_model"] > 0.75
    assert metrics["auc_recency"] > 0.7
    assert metrics["brier_model"] < metrics["brier_base_rate"]
    # 1 − P(alive) is 0 for every one-order customer (BG/NBD), most of whom churn: it ranks
    # them as the safest, so it is worse than chance here. P(no order in N days) is not.
    assert metrics["auc_p_alive"] < 0.5 < metrics["auc_bgnbd_no_order"]
    assert metrics["train_cutoff"] == "2026-05-04" and metrics["test_cutoff"] == "2026-08-02"
    assert 0 < metrics["base_rate"] < 1 and metrics["n_train"] >= 1000


def test_every_active_customer_is_scored_once(
    fitted: tuple[ChurnRiskResult, list[tuple[float, str]]], sample_store: Store
) -> None:
    scores = fitted[0].scores
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert scores["churn_risk"].between(0, 1).all()
    assert scores["customer_id"].is_unique
    last = sample_store.query(
        "SELECT customer_id, max(CAST(ordered_at AS DATE)) AS last_day FROM orders "
        "WHERE customer_id IS NOT NULL AND status IN ('completed', 'refunded') "
        "AND CAST(ordered_at AS DATE) <= $as_of GROUP BY customer_id",
        {"as_of": AS_OF},
    )
    active = last.loc[
        (pd.Timestamp(AS_OF) - pd.to_datetime(last["last_day"])).dt.days < 365, "customer_id"
    ]
    assert set(scores["customer_id"]) == set(active)
    assert fitted[0].metrics["n_scored"] == len(active)


def test_calibration_and_drivers(fitted: tuple[ChurnRiskResult, list[tuple[float, str]]]) -> None:
    result = fitted[0]
    calibration = result.calibration
    assert list(calibration.columns) == list(CALIBRATION_COLUMNS)
    assert set(calibration["model"]) == set(SCORERS) - {"recency"}
    for _, curve in calibration.groupby("model"):
        assert curve["n"].sum() == result.metrics["n_test"]
        assert len(curve) <= 10
        assert curve[["predicted", "observed"]].stack().between(0, 1).all()
    model = calibration[calibration["model"] == "gradient_boosting"]
    assert model["predicted"].is_monotonic_increasing
    drivers = result.drivers
    assert list(drivers.columns) == list(DRIVER_COLUMNS)
    assert sorted(drivers["feature"]) == sorted(FEATURE_LABELS)
    assert drivers["importance"].is_monotonic_decreasing
    assert "recency_days" in drivers["feature"].head(3).tolist()


def test_progress_and_json_round_trip(
    fitted: tuple[ChurnRiskResult, list[tuple[float, str]]],
) -> None:
    result, notes = fitted
    fractions = [f for f, _ in notes]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    back = ChurnRiskResult.from_json(result.to_json(include_scores=True))
    assert back.as_of == result.as_of and back.horizon_days == result.horizon_days
    assert back.metrics == result.metrics
    pd.testing.assert_frame_equal(back.scores, result.scores)
    pd.testing.assert_frame_equal(back.calibration, result.calibration)
    pd.testing.assert_frame_equal(back.drivers, result.drivers)
    assert ChurnRiskResult.from_json(result.to_json()).scores.empty


# --- drivers: the shortcut against scikit-learn's permutation_importance ------------------------


def _random_features(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.Series]:
    from retention.models.churn_risk import CATEGORICAL_FEATURES, NUMERIC_FEATURES

    data: dict[str, object] = {"customer_id": [f"c{i}" for i in range(n)]}
    for column in NUMERIC_FEATURES:
        values = rng.gamma(2.0, 10.0, n).round(1)  # ties, as in day counts
        values[rng.random(n) < 0.1] = np.nan  # gaps of one-order customers
        data[column] = values
    for column in CATEGORICAL_FEATURES:
        choices = np.array([f"{column}-{k}" for k in range(25)] + [None], dtype=object)
        data[column] = rng.choice(choices, n)
    features = pd.DataFrame(data)
    signal = np.nan_to_num(features["recency_days"].to_numpy(), nan=20.0) / 20.0
    signal += (features["channel"] == "channel-3").to_numpy()
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(2.0 - signal))).astype("int64")
    return features, pd.Series(churned)


@pytest.mark.parametrize("n", [300, 2_000])
def test_drivers_equal_scikit_learns_permutation_importance(n: int) -> None:
    from sklearn.inspection import permutation_importance

    from retention.models.churn_risk import (
        PERMUTATION_REPEATS,
        _classifier,
        _design,
        _drivers,
        _permutation_importance,
        _vocabulary,
    )

    rng = np.random.default_rng(n)
    train, y_train = _random_features(rng, n)
    test, y_test = _random_features(rng, n // 2)
    vocabulary = _vocabulary(train)
    model = _classifier(3, n).fit(_design(train, vocabulary), y_train)
    design = _design(test, vocabulary)
    drivers = _drivers(model, design, y_test, 3).set_index("feature")
    expected = permutation_importance(
        model,
        design,
        y_test.to_numpy(),
        scoring="roc_auc",
        n_repeats=PERMUTATION_REPEATS,
        random_state=3,
    )
    columns = list(design.columns)
    np.testing.assert_array_equal(drivers.loc[columns, "importance"], expected.importances_mean)
    np.testing.assert_array_equal(drivers.loc[columns, "std"], expected.importances_std)
    assert (drivers["importance"] != 0).any()
    mean, std = _permutation_importance(model, design, y_test.to_numpy(), 3)  # no fallback
    np.testing.assert_array_equal(mean, expected.importances_mean)
    np.testing.assert_array_equal(std, expected.importances_std)
