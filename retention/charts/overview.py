"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit, no store."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["monthly_activity_figure"]

_ORDERS = "#4C78A8"
_REVENUE = "#F58518"


def monthly_activity_figure(monthly: pd.DataFrame, *, currency: str = "") -> go.Figure:
    """Bars of counted orders per month with revenue as a line on a second axis.

    ``monthly``: columns month, orders, revenue (as from data_summary.monthly_activity).
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=monthly["month"],
            y=monthly["orders"],
            name="Orders",
            marker_color=_ORDERS,
            hovertemplate="%{x|%b %Y}: %{y:,} orders<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=monthly["month"],
            y=monthly["revenue"],
            name="Revenue",
            mode="lines+markers",
            line={"color": _REVENUE, "width": 2},
            hovertemplate="%{x|%b %Y}: %{y:,.0f} revenue<extra></extra>",
        ),
        secondary_y=True,
    )
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=340,
        legend={"orientation": "h", "y": 1.12, "x": 0},
        hovermode="x unified",
        bargap=0.15,
    )
    fig.update_xaxes(title_text=None, dtick="M3", tickformat="%b %Y")
    fig.update_yaxes(title_text="Orders", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(
        title_text=f"Revenue {currency}".strip(),
        tickformat="~s",
        tickmode="auto",
        secondary_y=True,
        rangemode="tozero",
        showgrid=False,
    )
    return fig


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
