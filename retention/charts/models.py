"""Figures of the predictive models: holdout checks, churn-risk quality, customer value.

Data in, ``go.Figure`` out. No Streamlit, no store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "ACTUAL",
    "PREDICTED",
    "by_frequency_figure",
    "calibration_figure",
    "cltv_histogram_figure",
    "drivers_figure",
    "tracking_figure",
    "value_by_figure",
]

_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}
ACTUAL = "#4C78A8"
PREDICTED = "#F58518"
SCORER_COLOURS = {
    "gradient_boosting": "#F58518",
    "p_alive": "#54A24B",
    "bgnbd_no_order": "#B279A2",
    "recency": "#4C78A8",
}


def tracking_figure(tracking: pd.DataFrame, calibration_end: date) -> go.Figure:
    """Cumulative repeat purchases, actual vs predicted, with the calibration end marked.

    ``tracking``: date, actual, predicted (``HoldoutCheck.tracking``)."""
    fig = go.Figure()
    fig.add_scatter(
        x=tracking["date"],
        y=tracking["actual"],
        name="Actual",
        mode="lines",
        line={"color": ACTUAL, "width": 3},
        hovertemplate="%{x|%d %b %Y}: %{y:,.0f} actual<extra></extra>",
    )
    fig.add_scatter(
        x=tracking["date"],
        y=tracking["predicted"],
        name="Predicted",
        mode="lines",
        line={"color": PREDICTED, "width": 2, "dash": "dash"},
        hovertemplate="%{x|%d %b %Y}: %{y:,.0f} predicted<extra></extra>",
    )
    fig.add_vline(x=pd.Timestamp(calibration_end), line={"color": "#888", "dash": "dot"})
    fig.add_annotation(
        x=pd.Timestamp(calibration_end),
        y=1,
        yref="paper",
        text="calibration end",
        showarrow=False,
        xanchor="right",
        yanchor="bottom",
        font={"color": "#666", "size": 11},
    )
    fig.update_layout(
        margin=_MARGIN,
        height=340,
        legend={"orientation": "h", "y": -0.15},
        hovermode="x unified",
    )
    fig.update_yaxes(title_text="Repeat purchases, cumulative", rangemode="tozero")
    return fig


def by_frequency_figure(table: pd.DataFrame) -> go.Figure:
    """Mean holdout purchases per customer by calibration repeat purchases, actual vs predicted.

    ``table``: label, customers, predicted, actual (``HoldoutCheck.by_frequency``)."""
    labels = [
        f"{label}<br><sub>{n:,} cust.</sub>"
        for label, n in zip(table["label"], table["customers"], strict=True)
    ]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=table["actual"],
        name="Actual",
        marker_color=ACTUAL,
        hovertemplate="%{y:.2f} actual purchases per customer<extra></extra>",
    )
    fig.add_bar(
        x=labels,
        y=table["predicted"],
        name="Predicted",
        marker_color=PREDICTED,
        hovertemplate="%{y:.2f} predicted per customer<extra></extra>",
    )
    fig.update_layout(
        margin=_MARGIN, height=320, barmode="group", legend={"orientation": "h", "y": -0.25}
    )
    fig.update_xaxes(title_text="Repeat purchases in the calibration period")
    fig.update_yaxes(title_text="Purchases per customer in the holdout", rangemode="tozero")
    return fig


def calibration_figure(calibration: pd.DataFrame, names: Mapping[str, str]) -> go.Figure:
    """Observed churn share against mean predicted probability per bin, one line per scorer.

    ``calibration``: model, predicted, observed, n; ``names``: scorer key → legend label."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        name="Perfectly calibrated",
        line={"color": "#bbb", "dash": "dot"},
        hoverinfo="skip",
    )
    for key, label in names.items():
        part = calibration[calibration["model"] == key]
        if part.empty:
            continue
        fig.add_scatter(
            x=part["predicted"],
            y=part["observed"],
            mode="lines+markers",
            name=label,
            line={"color": SCORER_COLOURS.get(key, "#999")},
            customdata=part[["n"]].to_numpy(),
            hovertemplate="predicted %{x:.0%}, observed %{y:.0%}"
            "<br>%{customdata[0]:,} customers<extra></extra>",
        )
    fig.update_layout(margin=_MARGIN, height=340, legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text="Predicted churn probability", tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title_text="Observed churn share", tickformat=".0%", range=[0, 1])
    return fig


def drivers_figure(drivers: pd.DataFrame, top: int = 10) -> go.Figure:
    """Horizontal bars: drop in ROC AUC when each feature is shuffled (± its std).

    ``drivers``: label, importance, std, largest first."""
    part = drivers.head(top).iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=part["importance"],
            y=part["label"],
            orientation="h",
            marker_color=SCORER_COLOURS["gradient_boosting"],
            error_x={"type": "data", "array": part["std"], "color": "#666"},
            hovertemplate="%{y}: AUC drops by %{x:.3f} when shuffled<extra></extra>",
        )
    )
    fig.update_layout(margin=_MARGIN, height=max(220, 34 * len(part) + 60), showlegend=False)
    fig.update_xaxes(title_text="Drop in ROC AUC when shuffled", rangemode="tozero")
    return fig


def cltv_histogram_figure(bins: pd.DataFrame, currency: str = "") -> go.Figure:
    """Customers per predicted-CLTV bin; the last bin holds everything above the 99th pct.

    ``bins``: start, end, customers (``cltv_distribution``)."""
    centers = (bins["start"] + bins["end"]) / 2
    widths = bins["end"] - bins["start"]
    fig = go.Figure(
        go.Bar(
            x=centers,
            y=bins["customers"],
            width=widths,
            marker_color=PREDICTED,
            customdata=bins[["start", "end"]].to_numpy(),
            hovertemplate="%{customdata[0]:,.0f} to %{customdata[1]:,.0f}"
            f" {currency}: " + "%{y:,} customers<extra></extra>",
        )
    )
    fig.update_layout(margin=_MARGIN, height=300, showlegend=False, bargap=0.05)
    fig.update_xaxes(title_text=f"Predicted CLTV per customer {currency}".strip())
    fig.update_yaxes(title_text="Customers")
    return fig


def value_by_figure(
    table: pd.DataFrame, *, per_customer: bool, category_order: Sequence[str] | None = None
) -> go.Figure:
    """Historical revenue and predicted CLTV per group, the prediction with its interval.

    ``table``: group plus the columns of ``value_by``; ``per_customer`` picks the means."""
    suffix = "_per_customer" if per_customer else ""
    groups = table["group"].astype(str)
    predicted = table[f"predicted_cltv{suffix}"]
    low = table[f"predicted_cltv_low{suffix}"]
    high = table[f"predicted_cltv_high{suffix}"]
    fig = go.Figure()
    fig.add_bar(
        x=groups,
        y=table[f"historical_revenue{suffix}"],
        name="Historical (revenue to date)",
        marker_color=ACTUAL,
        hovertemplate="%{x}: %{y:,.0f} to date<extra></extra>",
    )
    fig.add_bar(
        x=groups,
        y=predicted,
        name="Predicted (next horizon)",
        marker_color=PREDICTED,
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (high - predicted).clip(lower=0),
            "arrayminus": (predicted - low).clip(lower=0),
            "color": "#555",
        },
        customdata=pd.concat([low, high], axis=1).to_numpy(),
        hovertemplate="%{x}: %{y:,.0f} predicted"
        "<br>interval %{customdata[0]:,.0f} to %{customdata[1]:,.0f}<extra></extra>",
    )
    fig.update_layout(
        margin=_MARGIN, height=340, barmode="group", legend={"orientation": "h", "y": -0.25}
    )
    if category_order is not None:
        fig.update_xaxes(categoryorder="array", categoryarray=list(category_order))
    fig.update_yaxes(title_text="Per customer" if per_customer else "Total", rangemode="tozero")
    return fig
