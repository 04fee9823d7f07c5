"""Every Overview KPI agrees with a plain-pandas recomputation on the sample shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from retention.filters import Filters
from retention.metrics import trailing_periods
from retention.metrics.kpis import KPI_NAMES, kpi_series
from retention.sample import SampleShop, build_sample_db, generate_sample
from retention.store import Store
from tests.oracles import pandas_kpis

CUSTOMERS, SEED, N_DAYS = 3000, 11, 120
PERIODS = trailing_periods(date(2026, 10, 31), 90, 4)


@pytest.fixture(scope="module")
def shop() -> SampleShop:
    return generate_sample(CUSTOMERS, SEED)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("kpi")) / "shop.duckdb"
    build_sample_db(path, CUSTOMERS, SEED)
    with Store(path) as s:
        yield s


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(channels=("email", "paid_search")), Filters(countries=("US", "GB"))],
    ids=["all", "channels", "countries"],
)
def test_kpis_agree_with_pandas(shop: SampleShop, store: Store, filters: Filters) -> None:
    got = kpi_series(store, PERIODS, filters, inactivity_days=N_DAYS)
    want = pandas_kpis(shop, filters, PERIODS, N_DAYS)
    merged = got.merge(want, on=["metric", "period_index"], suffixes=("_sql", "_pandas"))
    assert len(merged) == len(KPI_NAMES) * len(PERIODS)
    for row in merged.itertuples():
        if np.isnan(row.value_pandas):
            assert np.isnan(row.value_sql), (row.metric, row.period_index)
        else:
            assert row.value_sql == pytest.approx(row.value_pandas, rel=1e-9, abs=1e-6), (
                row.metric,
                row.period_index,
            )
