"""Chart builders: assertions on the returned figures, not on pixels."""

from __future__ import annotations

import pandas as pd

from retention.charts.cohorts import curves_figure


def _lines(later: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line": ["2024-01"] * 3,
            "period_index": [0, 1, 2],
            "retention_rate": [1.0, later, later / 2],
            "small": [False] * 3,
        }
    )


def test_retention_curves_zoom_past_period_zero() -> None:
    fig = curves_figure(
        _lines(0.2),
        value="retention_rate",
        unit="share",
        value_label="Customer retention",
        period_word="Month",
    )
    assert tuple(fig.layout.yaxis.range) == (0, 0.2 * 1.2)
    assert "period 0 is 100%" in fig.layout.xaxis.title.text
    assert not fig.layout.annotations  # not on top, where a two-row legend would cover it


def test_high_retention_keeps_the_full_axis() -> None:
    fig = curves_figure(
        _lines(0.7),
        value="retention_rate",
        unit="share",
        value_label="Customer retention",
        period_word="Month",
    )
    assert fig.layout.yaxis.range is None and "100%" not in fig.layout.xaxis.title.text
