"""Figures of the Conversion & AOV page: data in, ``go.Figure`` out. No Streamlit, no store."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from retention.metrics.conversion import ALL_DEVICES, AovDistribution

__all__ = [
    "funnel_figure",
    "channel_conversion_figure",
    "device_checkout_figure",
    "aov_over_time_figure",
    "aov_by_channel_figure",
    "aov_histogram_figure",
]

_LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    "legend": {"orientation": "h", "y": 1.12, "x": 0},
}
_BLUE, _GREEN, _GREY, _ORANGE, _RED = "#4C78A8", "#54A24B", "#BAB0AC", "#F58518", "#E45756"


def funnel_figure(steps: pd.DataFrame) -> go.Figure:
    """A funnel of the steps with known counts; text shows the count, the rate from the
    previous step and from sessions. ``steps``: label, count, rate_from_previous,
    rate_from_sessions (as from ``conversion.funnel``)."""
    known = steps.dropna(subset=["count"])
    text = [
        f"{int(r['count']):,} · {r['rate_from_previous']:.1%} of previous · "
        f"{r['rate_from_sessions']:.2%} of sessions"
        if i
        else f"{int(r['count']):,} sessions"
        for i, (_, r) in enumerate(known.iterrows())
    ]
    fig = go.Figure(
        go.Funnel(
            y=known["label"],
            x=known["count"].astype("float64"),
            text=text,
            textinfo="text",
            # wide bars hold their text; narrow ones (a few % of sessions) get it beside them
            textposition=[
                "inside" if r >= 0.35 else "outside" for r in known["rate_from_sessions"]
            ],
            insidetextfont={"color": "white"},
            outsidetextfont={"color": "#333"},
            cliponaxis=False,
            marker={"color": [_BLUE] * (len(known) - 1) + [_GREEN]},
            hovertemplate="%{y}: %{x:,}<extra></extra>",
            connector={"fillcolor": "#E8EEF6"},
        )
    )
    fig.update_layout(**_LAYOUT, height=360, showlegend=False)
    return fig


def channel_conversion_figure(table: pd.DataFrame) -> go.Figure:
    """Conversion rate (orders / sessions) per period, one line per order channel with
    traffic. ``table``: conversion_table rows; only the per-channel total rows are used."""
    rows = table[(table["device"] == ALL_DEVICES) & table["conversion_rate"].notna()]
    fig = go.Figure()
    for channel, part in rows.groupby("channel", sort=True):
        fig.add_trace(
            go.Scatter(
                x=part["period_start"],
                y=part["conversion_rate"],
                name=str(channel),
                mode="lines+markers",
                customdata=part[["orders", "sessions"]].astype("float64").to_numpy(),
                hovertemplate="%{y:.2%} (%{customdata[0]:,} orders / %{customdata[1]:,} "
                f"sessions)<extra>{channel}</extra>",
            )
        )
    fig.update_layout(**_LAYOUT, height=360, hovermode="x unified")
    fig.update_yaxes(title_text="Conversion rate", tickformat=".1%", rangemode="tozero")
    fig.update_xaxes(title_text=None)
    return fig


def device_checkout_figure(rates: pd.DataFrame) -> go.Figure:
    """Checkout rate (checkouts / sessions) per period, one line per device. ``rates``:
    period_start, device, sessions, checkouts, checkout_rate."""
    fig = go.Figure()
    for device, part in rates.dropna(subset=["checkout_rate"]).groupby("device", sort=True):
        fig.add_trace(
            go.Scatter(
                x=part["period_start"],
                y=part["checkout_rate"],
                name=str(device),
                mode="lines+markers",
                customdata=part[["checkouts", "sessions"]].astype("float64").to_numpy(),
                hovertemplate="%{y:.2%} (%{customdata[0]:,} checkouts / %{customdata[1]:,} "
                f"sessions)<extra>{device}</extra>",
            )
        )
    fig.update_layout(**_LAYOUT, height=340, hovermode="x unified")
    fig.update_yaxes(title_text="Checkout rate", tickformat=".1%", rangemode="tozero")
    fig.update_xaxes(title_text=None)
    return fig


_AOV_LINES = (
    ("aov", "orders", "All orders", _BLUE, "solid"),
    ("new_aov", "new_orders", "New customers (first order)", _GREEN, "solid"),
    ("returning_aov", "returning_orders", "Returning customers", _ORANGE, "solid"),
    ("guest_aov", "guest_orders", "Guest orders", _GREY, "dot"),
)


def aov_over_time_figure(aov: pd.DataFrame, *, currency: str = "") -> go.Figure:
    """AOV per period: all orders, new, returning and (when present) guest orders.
    ``aov``: an aov_table frame."""
    fig = go.Figure()
    for column, orders, name, color, dash in _AOV_LINES:
        if column not in aov or aov[orders].sum() == 0:
            continue
        fig.add_trace(
            go.Scatter(
                x=aov["period_start"],
                y=aov[column],
                name=name,
                mode="lines+markers" if column == "aov" else "lines",
                line={"color": color, "dash": dash, "width": 3 if column == "aov" else 2},
                # guest orders are few and noisy: off until clicked in the legend
                visible="legendonly" if column == "guest_aov" else True,
                customdata=aov[[orders]].astype("float64").to_numpy(),
                hovertemplate="%{y:,.2f} over %{customdata[0]:,} orders<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(**_LAYOUT, height=360, hovermode="x unified")
    fig.update_yaxes(title_text=f"AOV {currency}".strip(), rangemode="tozero")
    fig.update_xaxes(title_text=None)
    return fig


def aov_by_channel_figure(by_channel: pd.DataFrame, *, currency: str = "") -> go.Figure:
    """Horizontal bars of AOV per order channel, highest on top. ``by_channel``: channel,
    orders, revenue, aov."""
    rows = by_channel.sort_values("aov")
    fig = go.Figure(
        go.Bar(
            x=rows["aov"],
            y=rows["channel"],
            orientation="h",
            marker_color=_BLUE,
            text=[f"{v:,.2f}" for v in rows["aov"]],
            textposition="auto",
            customdata=rows[["orders", "revenue"]].astype("float64").to_numpy(),
            hovertemplate="%{y}: AOV %{x:,.2f} (%{customdata[1]:,.0f} revenue / "
            "%{customdata[0]:,} orders)<extra></extra>",
        )
    )
    fig.update_layout(**_LAYOUT, height=max(240, 40 * len(rows) + 80), showlegend=False)
    fig.update_xaxes(title_text=f"AOV {currency}".strip(), rangemode="tozero")
    fig.update_yaxes(title_text=None)
    return fig


def aov_histogram_figure(dist: AovDistribution, *, currency: str = "") -> go.Figure:
    """Bars of orders per order-value bin, the overflow bin labelled "≥ x", with the median
    and the mean as vertical lines."""
    bins = dist.bins
    mids = bins["bin_start"] + dist.width / 2
    labels = [
        f"≥ {r.bin_start:,.0f}" if r.overflow else f"{r.bin_start:,.0f}–{r.bin_end:,.0f}"
        for r in bins.itertuples()
    ]
    colors = [_GREY if o else _BLUE for o in bins["overflow"]]
    fig = go.Figure(
        go.Bar(
            x=mids,
            y=bins["orders"],
            width=dist.width * 0.95,
            marker_color=colors,
            customdata=labels,
            hovertemplate="%{customdata}: %{y:,} orders<extra></extra>",
        )
    )
    for value, name, color, side in (
        (dist.median, "median", _GREEN, "top left" if dist.median <= dist.mean else "top right"),
        (dist.mean, "mean", _RED, "top right" if dist.median <= dist.mean else "top left"),
    ):
        if not math.isnan(value):
            fig.add_vline(
                x=value,
                line={"color": color, "dash": "dash", "width": 2},
                annotation_text=f"{name} {value:,.2f}",
                annotation_position=side,
                annotation_font_color=color,
            )
    if bins["overflow"].any():
        fig.add_annotation(
            x=float(mids.iloc[-1]),
            y=float(bins["orders"].iloc[-1]),
            text=f"≥ {dist.overflow_from:,.0f}",
            showarrow=False,
            yshift=12,
            font={"color": "#555"},
        )
    fig.update_layout(**_LAYOUT, height=340, showlegend=False, bargap=0.02)
    fig.update_xaxes(title_text=f"Order value {currency}".strip(), rangemode="tozero")
    # headroom above the tallest bar for the median and mean labels
    fig.update_yaxes(title_text="Orders", range=[0, max(1, int(bins["orders"].max())) * 1.3])
    return fig
