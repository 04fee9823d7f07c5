"""The RFM grid and named-segment summary on the hand-made shop of test_rules."""

from __future__ import annotations

import pytest

from retention.segments.attributes import RFM_SEGMENT_ORDER
from retention.segments.options import attribute_options
from retention.segments.rfm import rfm_grid, rfm_segment_summary
from retention.store import Store
from tests.segments.test_rules import shop  # noqa: F401 (fixture)


def test_grid_by_hand(shop: Store) -> None:  # noqa: F811
    grid = rfm_grid(shop)
    # (R, F) per customer, from test_rules: c (5,5) 600, a (4,4) 150, e (3,1) 60, d (2,1) 25,
    # b (1,1) 40 — one customer per cell, R descending.
    cells = [(r, f, n, rev) for r, f, n, rev in grid.itertuples(index=False)]
    assert cells == [(5, 5, 1, 600.0), (4, 4, 1, 150.0), (3, 1, 1, 60.0), (2, 1, 1, 25.0),
                     (1, 1, 1, 40.0)]  # fmt: skip


def test_named_segments_by_hand(shop: Store) -> None:  # noqa: F811
    summary = rfm_segment_summary(shop).set_index("segment")
    assert list(summary.index) == list(RFM_SEGMENT_ORDER)  # all eleven, in order
    assert summary["customers"].sum() == 5
    assert summary.loc["Champions", "customers"] == 1  # c
    assert summary.loc["Champions", "revenue_share"] == pytest.approx(600 / 875)
    assert summary.loc["Loyal", "predicted_cltv_per_customer"] == 80.0  # a
    assert summary.loc["At Risk", "customers"] == 0


def test_builder_options(shop: Store) -> None:  # noqa: F811
    options = attribute_options(shop)
    assert options.categories["country"] == ("CA", "DE", "US")
    # RFM segments present, in their usual order.
    assert options.categories["rfm_segment"] == ("Champions", "Loyal", "About to Sleep",
                                                  "Hibernating", "Lost")  # fmt: skip
    assert options.numbers["orders"] == (1.0, 1.0, 2.0)  # quartiles of 2, 1, 3, 1, 1
    assert options.scored
