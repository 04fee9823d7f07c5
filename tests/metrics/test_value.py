"""Customer value from stored scores: exact filtered intervals from score cells, typed out by
hand, and agreement with a pandas recomputation on the sample shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention.filters import Filters
from retention.metrics import value
from retention.models.runs import refresh_models
from retention.sample import build_sample_db
from retention.store import Store

# Three cells of run 7 with four parameter draws each.
CELLS = [
    # cohort month, channel, country, customers, revenue to date, orders, cltv, cltv draws
    (date(2026, 1, 1), "email", "US", 2, 100.0, 1.0, 10.0, [8.0, 10.0, 12.0, 14.0]),
    (date(2026, 2, 1), "social", "GB", 1, 50.0, 0.5, 5.0, [4.0, 6.0, 5.0, 7.0]),
    (date(2026, 2, 1), "email", "(unknown)", 3, 30.0, 0.3, 3.0, [1.0, 2.0, 3.0, 4.0]),
]


@pytest.fixture
def cells_store(store: Store) -> Store:
    with store.transaction() as tx:
        for month, channel, country, n, revenue, orders, cltv, draws in CELLS:
            tx.execute(
                "INSERT INTO score_cells VALUES (7, $m, $ch, $co, $n, $rev, $o, $c, $od, $cd)",
                {
                    "m": month,
                    "ch": channel,
                    "co": country,
                    "n": n,
                    "rev": revenue,
                    "o": orders,
                    "c": cltv,
                    "od": [d / 10 for d in draws],  # orders draws: cltv draws / 10
                    "cd": draws,
                },
            )
    return store


def test_totals_by_hand(cells_store: Store) -> None:
    t = value.value_totals(cells_store, 7, Filters(), interval=0.8)
    assert t["customers"] == 6
    assert t["historical_revenue"] == 180.0
    assert t["predicted_cltv"] == 18.0  # 10 + 5 + 3 at the estimate
    # Per-draw totals: [13, 18, 20, 25]. quantile_cont(0.1) sits at position 0.3 between the
    # first two: 13 + 0.3 × 5 = 14.5; quantile_cont(0.9) at 2.7: 20 + 0.7 × 5 = 23.5.
    assert t["predicted_cltv_low"] == pytest.approx(14.5)
    assert t["predicted_cltv_high"] == pytest.approx(23.5)
    assert t["expected_orders_low"] == pytest.approx(1.45)
    assert t["expected_orders"] == pytest.approx(1.8)


def test_filtered_totals_by_hand(cells_store: Store) -> None:
    email = value.value_totals(cells_store, 7, Filters(channels=("email",)), interval=0.8)
    # Draws [9, 12, 15, 18]: 9 + 0.3 × 3 = 9.9 and 15 + 0.7 × 3 = 17.1.
    assert email["customers"] == 5
    assert email["predicted_cltv_low"] == pytest.approx(9.9)
    assert email["predicted_cltv_high"] == pytest.approx(17.1)
    # A date range keeps the cohort months it overlaps: 10 Feb → the February cells only.
    feb = value.value_totals(cells_store, 7, Filters(start=date(2026, 2, 10)), interval=0.8)
    assert feb["customers"] == 4  # draws [5, 8, 8, 11]
    assert feb["predicted_cltv_low"] == pytest.approx(5.9)
    assert feb["predicted_cltv_high"] == pytest.approx(10.1)
    unknown = value.value_totals(cells_store, 7, Filters(countries=("(unknown)",)))
    assert unknown["customers"] == 3 and unknown["predicted_cltv"] == 3.0
    jan_only = value.value_totals(cells_store, 7, Filters(end=date(2026, 1, 31)))
    assert jan_only["customers"] == 2
    assert value.value_totals(cells_store, 7, Filters(countries=("FR",))) == {}
    assert value.value_totals(cells_store, 8, Filters()) == {}  # another run: nothing


def test_by_group_by_hand(cells_store: Store) -> None:
    by = value.value_by(cells_store, 7, "first_channel", Filters(), interval=0.5).set_index("group")
    assert list(by.index) == ["email", "social"]
    assert by.loc["social", "predicted_cltv"] == 5.0
    # social draws [4, 6, 5, 7] sorted 4, 5, 6, 7: quantile 0.25 at 0.75 → 4.75; 0.75 at 2.25
    # → 6.25.
    assert by.loc["social", "predicted_cltv_low"] == pytest.approx(4.75)
    assert by.loc["social", "predicted_cltv_high"] == pytest.approx(6.25)
    assert by.loc["email", "predicted_cltv_per_customer"] == pytest.approx(13.0 / 5)
    quarters = value.value_by(cells_store, 7, "cohort_quarter", Filters())
    assert len(quarters) == 1 and quarters["customers"].item() == 6
    with pytest.raises(ValueError, match="dimension"):
        value.value_by(cells_store, 7, "email", Filters())  # type: ignore[arg-type]


# --- the sample shop: stored cells agree with the per-customer scores -----------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("value")) / "shop.duckdb"
    build_sample_db(path, 2500, 13)
    with Store(path) as s:
        refresh_models(s)
        yield s


def pandas_scope(store: Store, filters: Filters) -> pd.DataFrame:
    """Per-customer scores joined to their attributes, filtered in pandas."""
    frame = store.query(
        "SELECT s.customer_id, s.predicted_cltv, s.expected_orders, cs.revenue::DOUBLE AS revenue,"
        " cs.cohort_month, coalesce(cs.first_channel, '(unknown)') AS channel,"
        " coalesce(cs.country, '(unknown)') AS country"
        " FROM customer_scores s JOIN customer_summary cs USING (customer_id)"
    )
    keep = np.ones(len(frame), dtype=bool)
    if filters.channels:
        keep &= frame["channel"].isin(filters.channels)
    if filters.countries:
        keep &= frame["country"].isin(filters.countries)
    month = pd.to_datetime(frame["cohort_month"])
    if filters.start:
        keep &= month >= pd.Timestamp(filters.start).to_period("M").to_timestamp()
    if filters.end:
        keep &= month <= pd.Timestamp(filters.end)
    return frame[keep]


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(channels=("email", "organic")),
        Filters(countries=("US",), start=date(2025, 3, 15), end=date(2025, 12, 31)),
    ],
    ids=["all", "channels", "country-dates"],
)
def test_sample_agrees_with_pandas(sample: Store, filters: Filters) -> None:
    run_id = value.latest_scores_run_id(sample)
    assert run_id is not None
    got = value.value_totals(sample, run_id, filters)
    expected = pandas_scope(sample, filters)
    assert got["customers"] == len(expected)
    assert got["predicted_cltv"] == pytest.approx(expected["predicted_cltv"].sum(), rel=1e-9)
    assert got["expected_orders"] == pytest.approx(expected["expected_orders"].sum(), rel=1e-9)
    assert got["historical_revenue"] == pytest.approx(expected["revenue"].sum(), rel=1e-9)
    assert got["predicted_cltv_low"] <= got["predicted_cltv"] <= got["predicted_cltv_high"]
    by = value.value_by(sample, run_id, "country", filters)
    assert by["customers"].sum() == len(expected)
    assert by["predicted_cltv"].sum() == pytest.approx(got["predicted_cltv"], rel=1e-9)


def test_sample_distribution_and_top(sample: Store) -> None:
    run_id = value.latest_scores_run_id(sample)
    assert run_id is not None
    bins = value.cltv_distribution(sample, run_id, Filters(), bins=20)
    assert bins["customers"].sum() == sample.row_count("customer_scores")
    assert bins["bin"].between(0, 19).all()
    top = value.top_customers(sample, run_id, Filters(), limit=10)
    best = sample.query(
        "SELECT customer_id FROM customer_scores ORDER BY predicted_cltv DESC, customer_id LIMIT 10"
    )
    assert list(top["customer_id"]) == list(best["customer_id"])


def test_cac_by_channel(sample: Store) -> None:
    run_id = value.latest_scores_run_id(sample)
    assert run_id is not None
    # A range from mid-January to mid-June counts the whole months January to June on both
    # sides, like the score cells.
    filters = Filters(start=date(2025, 1, 15), end=date(2025, 6, 10))
    cac = value.cac_by_channel(sample, run_id, filters)
    spend = sample.query(
        "SELECT channel, sum(spend)::DOUBLE AS spend FROM spend_daily "
        "WHERE date >= DATE '2025-01-01' AND date < DATE '2025-07-01' GROUP BY channel"
    ).set_index("channel")["spend"]
    acquired = sample.query(
        "SELECT first_channel AS channel, count(*) AS n FROM customer_summary "
        "WHERE first_order_at >= TIMESTAMP '2025-01-01' "
        "AND first_order_at < TIMESTAMP '2025-07-01' GROUP BY 1"
    ).set_index("channel")["n"]
    by_channel = value.value_by(sample, run_id, "first_channel", filters).set_index("group")
    for row in cac.itertuples():
        assert row.spend == pytest.approx(spend[row.channel])
        assert row.cac == pytest.approx(spend[row.channel] / acquired[row.channel])
        assert row.ltv_to_cac == pytest.approx(row.predicted_cltv_per_customer / row.cac)
        assert by_channel.loc[row.channel, "customers"] == row.new_customers
