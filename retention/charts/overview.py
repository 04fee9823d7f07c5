"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit, no store."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["revenue_split_figure"]

_TYPE_COLORS = {"new": "#54A24B", "returning": "#4C78A8", "guest": "#BAB0AC"}
_TYPE_LABELS = {
    "new": "New customers (first order)",
    "returning": "Returning customers",
    "guest": "Guest orders",
}


def revenue_split_figure(split: pd.DataFrame, *, currency: str = "") -> go.Figure:
    """Stacked revenue bars per period: first orders (new), repeat orders, guest orders.

    ``split``: columns period_start, customer_type (new | returning | guest), revenue.
    """
    fig = go.Figure()
    for kind in ("new", "returning", "guest"):
        part = split[split["customer_type"] == kind]
        if part.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=part["period_start"],
                y=part["revenue"],
                name=_TYPE_LABELS[kind],
                marker_color=_TYPE_COLORS[kind],
                hovertemplate="%{x|%b %Y}: %{y:,.0f}<extra>" + _TYPE_LABELS[kind] + "</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=320,
        legend={"orientation": "h", "y": 1.12, "x": 0},
        hovermode="x unified",
        bargap=0.15,
    )
    fig.update_xaxes(title_text=None, tickformat="%b %Y")
    fig.update_yaxes(title_text=f"Revenue {currency}".strip(), tickformat="~s", rangemode="tozero")
    return fig
