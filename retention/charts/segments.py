"""Segment figures: the RFM grid, retention curves and predicted CLTV of compared segments.

Data in, ``go.Figure`` out. No Streamlit, no store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from retention.segments.attributes import rfm_segment

__all__ = ["SEGMENT_COLOURS", "cltv_interval_figure", "retention_curves_figure", "rfm_grid_figure"]

_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}
SEGMENT_COLOURS = ("#4C78A8", "#F58518", "#54A24B", "#B279A2")
"""One colour per compared segment, in the order they were chosen (at most four)."""

_SCORES = (1, 2, 3, 4, 5)


def rfm_grid(cells: pd.DataFrame) -> pd.DataFrame:
    """All 25 (R, F) cells with their segment name, zeros where no customer falls.

    ``cells``: r_score, f_score, customers, revenue (missing pairs allowed). Returns the same
    columns plus ``segment``, ``share`` and ``revenue_share``, R descending then F ascending."""
    full = pd.MultiIndex.from_product([_SCORES, _SCORES], names=["r_score", "f_score"])
    grid = (
        cells.astype({"r_score": "int64", "f_score": "int64"})
        .set_index(["r_score", "f_score"])[["customers", "revenue"]]
        .reindex(full)
        .fillna(0)
        .reset_index()
    )
    grid["customers"] = grid["customers"].astype("int64")
    grid["revenue"] = grid["revenue"].astype("float64")
    grid["segment"] = [
        rfm_segment(r, f) for r, f in zip(grid["r_score"], grid["f_score"], strict=True)
    ]
    total, revenue = grid["customers"].sum(), grid["revenue"].sum()
    grid["share"] = grid["customers"] / total if total else 0.0
    grid["revenue_share"] = grid["revenue"] / revenue if revenue else 0.0
    return grid.sort_values(["r_score", "f_score"], ascending=[False, True]).reset_index(drop=True)


def rfm_grid_figure(cells: pd.DataFrame, currency: str = "") -> go.Figure:
    """A 5 × 5 heatmap of customers by R score (rows, 5 at the top) and F score (columns).

    ``cells``: r_score, f_score, customers, revenue (as :func:`rfm_grid` takes). Each cell shows
    its customer count and segment name; hovering adds the shares and the revenue."""
    grid = rfm_grid(cells)
    shape = (len(_SCORES), len(_SCORES))
    # Rows bottom to top as plotly draws them: R = 1 first, so R = 5 ends on top.
    ordered = grid.sort_values(["r_score", "f_score"]).reset_index(drop=True)
    z = ordered["customers"].to_numpy(dtype="float64").reshape(shape)
    text = np.array(
        [
            f"<b>{n:,}</b><br>{name}"
            for n, name in zip(ordered["customers"], ordered["segment"], strict=True)
        ]
    ).reshape(shape)
    custom = np.stack(
        [
            ordered["segment"].to_numpy(dtype=object).reshape(shape),
            ordered["share"].to_numpy(dtype="float64").reshape(shape),
            ordered["revenue"].to_numpy(dtype="float64").reshape(shape),
            ordered["revenue_share"].to_numpy(dtype="float64").reshape(shape),
        ],
        axis=-1,
    )
    money = f"{currency} " if currency else ""
    fig = go.Figure(
        go.Heatmap(
            x=list(_SCORES),
            y=list(_SCORES),
            z=z,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 12},
            customdata=custom,
            colorscale="Blues",
            zmin=0,
            colorbar={"title": {"text": "Customers"}, "thickness": 12},
            xgap=2,
            ygap=2,
            hovertemplate=(
                "R %{y} · F %{x}: <b>%{customdata[0]}</b><br>"
                "%{z:,.0f} customers (%{customdata[1]:.1%})<br>"
                f"Revenue {money}%{{customdata[2]:,.0f}} (%{{customdata[3]:.1%}})"
                "<extra></extra>"
            ),
        )
    )
    fig.update_layout(margin=_MARGIN, height=460)
    fig.update_xaxes(title_text="F score (orders; 5 = most)", dtick=1, side="bottom")
    fig.update_yaxes(title_text="R score (recency; 5 = most recent)", dtick=1)
    return fig


def retention_curves_figure(curves: pd.DataFrame, period_word: str = "Month") -> go.Figure:
    """Customer retention by period since the first order, one line per segment.

    ``curves``: name, period_index, retention_rate, retention_rate_se, eligible_customers
    (``retention.segments.compare.retention_curves``); segments keep their order of
    appearance, and the whiskers are ± 1.96 standard errors."""
    fig = go.Figure()
    for i, (name, part) in enumerate(curves.groupby("name", sort=False)):
        part = part[part["retention_rate"].notna()]
        colour = SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)]
        fig.add_scatter(
            x=part["period_index"],
            y=part["retention_rate"],
            name=str(name),
            mode="lines+markers",
            line={"color": colour, "width": 2},
            marker={"size": 6},
            error_y={
                "type": "data",
                "array": 1.96 * part["retention_rate_se"].fillna(0),
                "thickness": 1,
                "width": 3,
                "color": colour,
            },
            customdata=part["eligible_customers"],
            hovertemplate=(
                f"{name}<br>{period_word} %{{x}}: %{{y:.1%}} "
                "of %{customdata:,} customers<extra></extra>"
            ),
        )
    fig.update_layout(
        margin=_MARGIN, height=360, legend={"orientation": "h", "y": -0.2}, hovermode="closest"
    )
    fig.update_xaxes(title_text=f"{period_word}s since the first order", dtick=1)
    fig.update_yaxes(title_text="Customers with an order", tickformat=".0%", rangemode="tozero")
    return fig


def cltv_interval_figure(
    cltv: pd.DataFrame, currency: str = "", interval: float = 0.8
) -> go.Figure:
    """Predicted CLTV per customer of each segment, a dot with its interval as whiskers.

    ``cltv``: name, predicted_cltv_per_customer, predicted_cltv_per_customer_low and _high
    (``retention.segments.compare.predicted_cltv_by_segment``)."""
    point = cltv["predicted_cltv_per_customer"].astype("float64")
    low = cltv["predicted_cltv_per_customer_low"].astype("float64")
    high = cltv["predicted_cltv_per_customer_high"].astype("float64")
    names = [str(n) for n in cltv["name"]]
    money = f"{currency} " if currency else ""
    fig = go.Figure()
    for i, name in enumerate(names):
        colour = SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)]
        fig.add_scatter(
            x=[point.iloc[i]],
            y=[name],
            mode="markers",
            name=name,
            showlegend=False,
            marker={"size": 12, "color": colour},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [max(high.iloc[i] - point.iloc[i], 0.0)]
                if pd.notna(high.iloc[i])
                else [0],
                "arrayminus": [max(point.iloc[i] - low.iloc[i], 0.0)]
                if pd.notna(low.iloc[i])
                else [0],
                "thickness": 2,
                "width": 6,
                "color": colour,
            },
            customdata=[[low.iloc[i], high.iloc[i]]],
            hovertemplate=(
                f"{name}: {money}%{{x:,.2f}} per customer<br>{interval:.0%} interval "
                f"{money}%{{customdata[0]:,.2f}} to %{{customdata[1]:,.2f}}<extra></extra>"
            ),
        )
    fig.update_layout(margin=_MARGIN, height=80 + 60 * len(names))
    fig.update_xaxes(title_text=f"Predicted CLTV per customer{', ' + currency if currency else ''}",
                     rangemode="tozero")  # fmt: skip
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names)
    return fig
