"""Churn figures: churn rate per period, Kaplan–Meier curves with bands, gaps between orders.

Data in, ``go.Figure`` out. No Streamlit, no store.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

__all__ = ["churn_rate_figure", "survival_figure", "gap_histogram_figure"]

_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def churn_rate_figure(table: pd.DataFrame) -> go.Figure:
    """Churn rate per period (line) with the customers active at its start in the hover.

    ``table``: period_start, active_at_start, churned_by_end, churn_rate (from ``churn_table``).
    """
    fig = go.Figure(
        go.Scatter(
            x=table["period_start"],
            y=table["churn_rate"],
            mode="lines+markers",
            name="Churn rate",
            line={"color": "#E45756"},
            customdata=table[["churned_by_end", "active_at_start"]].to_numpy(),
            hovertemplate="%{x|%b %Y}: %{y:.1%} churned<br>"
            "%{customdata[0]:,} of %{customdata[1]:,} active at the start<extra></extra>",
        )
    )
    fig.update_layout(margin=_MARGIN, height=300, showlegend=False)
    fig.update_xaxes(title_text=None)
    fig.update_yaxes(title_text="Churn rate", tickformat=".0%", rangemode="tozero")
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _with_origin(curve: pd.DataFrame) -> pd.DataFrame:
    """Start every curve at day 0 with S = 1 (unless an event already happened on day 0)."""
    if not curve.empty and curve["days"].iloc[0] == 0:
        return curve
    origin = pd.DataFrame({"days": [0], "survival": [1.0], "ci_lower": [1.0], "ci_upper": [1.0]})
    return pd.concat([origin, curve[["days", "survival", "ci_lower", "ci_upper"]]])


def survival_figure(curves: pd.DataFrame, *, bands: bool = True) -> go.Figure:
    """Step curves of S(t) per group with shaded pointwise 95% bands.

    ``curves``: group, days, survival, ci_lower, ci_upper (``kaplan_meier_by_group``).
    The y axis reads "share who have not ordered again yet".
    """
    fig = go.Figure()
    palette = qualitative.Plotly + qualitative.D3
    for i, (group, curve) in enumerate(curves.groupby("group", sort=True)):
        color = palette[i % len(palette)]
        c = _with_origin(curve)
        if bands:
            band = c.dropna(subset=["ci_lower", "ci_upper"])
            fig.add_trace(
                go.Scatter(
                    x=band["days"],
                    y=band["ci_upper"],
                    mode="lines",
                    line={"width": 0, "shape": "hv"},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(group),
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=band["days"],
                    y=band["ci_lower"],
                    mode="lines",
                    line={"width": 0, "shape": "hv"},
                    fill="tonexty",
                    fillcolor=_rgba(color, 0.15),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(group),
                )
            )
        fig.add_trace(
            go.Scatter(
                x=c["days"],
                y=c["survival"],
                mode="lines",
                name=str(group),
                legendgroup=str(group),
                line={"color": color, "shape": "hv", "width": 2},
                hovertemplate="day %{x}: %{y:.1%} not yet reordered<extra>"
                + str(group)
                + "</extra>",
            )
        )
    fig.update_layout(
        margin=_MARGIN,
        height=380,
        legend={"orientation": "h", "y": 1.12, "x": 0},
        hovermode="closest",
    )
    fig.update_xaxes(title_text="Days since first order", rangemode="tozero")
    fig.update_yaxes(title_text="Not yet ordered again", tickformat=".0%", range=[0, 1.02])
    return fig


def gap_histogram_figure(
    bins: pd.DataFrame, bin_days: int, *, threshold: int | None, median: float | None
) -> go.Figure:
    """Repeat orders per bin of days since the previous order, with the churn threshold and the
    median as vertical lines. ``bins``: bin_start, orders."""
    label = f"{bin_days} day" + ("s" if bin_days != 1 else "")
    fig = go.Figure(
        go.Bar(
            x=bins["bin_start"] + bin_days / 2,
            y=bins["orders"],
            width=bin_days,
            marker_color="#4C78A8",
            customdata=pd.DataFrame(
                {"lo": bins["bin_start"], "hi": bins["bin_start"] + bin_days - 1}
            ).to_numpy(),
            hovertemplate="%{customdata[0]}–%{customdata[1]} days: %{y:,} repeat orders"
            "<extra>bins of " + label + "</extra>",
        )
    )
    if median is not None:
        fig.add_vline(
            x=median,
            line={"color": "#54A24B", "dash": "dot"},
            annotation_text=f"median {median:.0f} d",
            annotation_position="top right",
            annotation_y=0.95,
        )
    if threshold is not None:
        fig.add_vline(
            x=threshold,
            line={"color": "#E45756", "dash": "dash"},
            annotation_text=f"churn threshold {threshold} d",
            annotation_position="top right",
            annotation_y=0.8,
        )
    fig.update_layout(margin=_MARGIN, height=320, showlegend=False, bargap=0.05)
    fig.update_xaxes(title_text="Days since the customer's previous order", rangemode="tozero")
    fig.update_yaxes(title_text="Repeat orders")
    return fig
