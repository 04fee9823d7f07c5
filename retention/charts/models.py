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
    """Mean holdout purchases per customer by calibration orders, actual vs predicted.

    ``table``: bucket, label, customers, predicted, actual (``HoldoutCheck.by_frequency``:
    bucket = repeat purchases, the last one open-ended as "7+"). The axis counts orders
    (purchase days, = repeat purchases + 1), the unit the verdict above the chart uses."""
    labels = [
        f"{int(bucket) + 1}{'+' if str(label).endswith('+') else ''}<br>n={n:,}"
        for bucket, label, n in zip(
            table["bucket"], table["label"], table["customers"], strict=True
        )
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
        margin=_MARGIN,
        height=340,
        barmode="group",
        legend={"orientation": "h", "yanchor": "top", "y": -0.3},
    )
    fig.update_xaxes(title_text="Orders in the calibration period (n: customers)")
    fig.update_yaxes(title_text="Holdout purchases per customer", rangemode="tozero")
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
    fig.update_layout(
        margin=_MARGIN,
        height=400,
        # Below the x-axis title, not on it: anchored at its top, well under the plot.
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    fig.update_xaxes(
        title_text="Predicted churn probability", tickformat=".0%", range=[-0.02, 1.02]
    )
    fig.update_yaxes(title_text="Observed churn share", tickformat=".0%", range=[-0.02, 1.02])
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

    ``bins``: start, end, customers (``cltv_distribution``). The customer axis is logarithmic:
    most customers are expected to spend little, and a linear axis would hide the tail."""
    unit = f" ({currency})" if currency else ""
    centers = (bins["start"] + bins["end"]) / 2
    widths = bins["end"] - bins["start"]
    last = len(bins) - 1
    ends = ["and above" if i == last else f"to {end:,.0f}" for i, end in enumerate(bins["end"])]
    fig = go.Figure(
        go.Bar(
            x=centers,
            y=bins["customers"],
            width=widths,
            marker_color=PREDICTED,
            customdata=list(zip(bins["start"], ends, strict=True)),
            hovertemplate="%{customdata[0]:,.0f} %{customdata[1]}"
            f"{unit}: " + "%{y:,} customers<extra></extra>",
        )
    )
    if len(bins):
        fig.add_annotation(
            x=float(centers.iloc[-1]),
            y=1,
            yref="paper",
            text=f"last bar: {bins['start'].iloc[-1]:,.0f}{unit} and above (the top 1% and more)",
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
            font={"color": "#666", "size": 11},
        )
    fig.update_layout(margin=_MARGIN, height=300, showlegend=False, bargap=0.05)
    fig.update_xaxes(title_text=f"Predicted CLTV per customer{unit}", tickformat=",.0f")
    fig.update_yaxes(title_text="Customers (log scale)", type="log", dtick=1)
    return fig


def value_by_figure(
    table: pd.DataFrame,
    *,
    per_customer: bool,
    category_order: Sequence[str] | None = None,
    currency: str = "",
    horizon_days: int | None = None,
) -> go.Figure:
    """Historical revenue and predicted CLTV per group, the prediction with its interval.

    ``table``: group plus the columns of ``value_by``; ``per_customer`` picks the means;
    ``currency`` and ``horizon_days`` go into the axis title and the legend."""
    suffix = "_per_customer" if per_customer else ""
    digits = 2 if per_customer else 0
    groups = table["group"].astype(str)
    predicted = table[f"predicted_cltv{suffix}"]
    low = table[f"predicted_cltv_low{suffix}"]
    high = table[f"predicted_cltv_high{suffix}"]
    ahead = f"next {horizon_days} days" if horizon_days else "next horizon"
    fig = go.Figure()
    fig.add_bar(
        x=groups,
        y=table[f"historical_revenue{suffix}"],
        name="Historical: revenue to date",
        marker_color=ACTUAL,
        hovertemplate=f"%{{x}}: %{{y:,.{digits}f}} to date<extra></extra>",
    )
    fig.add_bar(
        x=groups,
        y=predicted,
        name=f"Predicted: {ahead}",
        marker_color=PREDICTED,
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (high - predicted).clip(lower=0),
            "arrayminus": (predicted - low).clip(lower=0),
            "color": "#555",
        },
        customdata=pd.concat([low, high], axis=1).to_numpy(),
        hovertemplate=f"%{{x}}: %{{y:,.{digits}f}} predicted ({ahead})"
        f"<br>interval %{{customdata[0]:,.{digits}f}} to %{{customdata[1]:,.{digits}f}}"
        "<extra></extra>",
    )
    fig.update_layout(
        margin=_MARGIN,
        height=360,
        barmode="group",
        legend={"orientation": "h", "yanchor": "top", "y": -0.15},
    )
    fig.update_xaxes(type="category")
    if category_order is not None:
        fig.update_xaxes(categoryorder="array", categoryarray=list(category_order))
    title = ("Per customer" if per_customer else "Total") + (f", {currency}" if currency else "")
    fig.update_yaxes(
        title_text=title,
        rangemode="tozero",
        tickformat=",.0f",
    )
    return fig
