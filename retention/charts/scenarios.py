"""Scenario figures: the distribution of net profit, the tornado of inputs, scenarios compared.

Data in, ``go.Figure`` out. No Streamlit, no store. The inputs are the frames of
``retention.scenarios`` (``ScenarioResult.draws``, :func:`retention.scenarios.tornado`) and a
plain comparison table built by the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "GAIN",
    "LOSS",
    "comparison_figure",
    "format_input",
    "net_profit_histogram_figure",
    "tornado_figure",
]

_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
GAIN = "#54A24B"
LOSS = "#E45756"
NEUTRAL = "#4C78A8"
_GREY = "#666"

_SHARE_INPUTS = frozenset({"discount", "reach", "margin", "enrolment", "redemption"})
_MONEY_INPUTS = frozenset({"cost_per_contact", "fixed_cost", "cost_per_member", "baseline"})


def _money(value: float, currency: str = "", digits: int | None = None) -> str:
    """Short money text for chart labels: 1,234 / 12.3k / 1.23M, 2 decimals below 100."""
    prefix = f"{currency} " if currency else ""
    if not np.isfinite(value):
        return "–"
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:,.2f}M"
    elif size >= 1e4:
        text = f"{size / 1e3:,.1f}k"
    elif digits is not None:
        text = f"{size:,.{digits}f}"
    else:
        text = f"{size:,.2f}" if size < 100 else f"{size:,.0f}"
    return f"{prefix}{sign}{text}"


def format_input(name: str, value: float, *, currency: str = "", uplift_mode: str = "") -> str:
    """An input's value as the page shows it: shares in %, money with the currency.

    ``name`` is an input of :func:`retention.scenarios.tornado` (``uplift``, ``baseline``,
    ``discount`` ...); the uplift is a relative change (+5%) unless ``uplift_mode`` is
    ``reactivation`` (a share of the reached customers, 5%)."""
    if name == "uplift":
        return f"{value:.1%}" if uplift_mode == "reactivation" else f"{value:+.1%}"
    if name in _SHARE_INPUTS:
        return f"{value:.1%}"
    if name in _MONEY_INPUTS:
        return _money(value, currency)
    if name == "point_value":
        return (f"{currency} " if currency else "") + f"{value:,.4g}"
    return f"{value:,.4g}"


def net_profit_histogram_figure(
    net_profit: Sequence[float] | pd.Series | np.ndarray,
    *,
    low: float,
    high: float,
    estimate: float,
    interval: float = 0.8,
    currency: str = "",
    bins: int = 40,
) -> go.Figure:
    """Monte Carlo draws of net profit as a histogram, losses red and gains green.

    ``net_profit``: one value per draw (``ScenarioResult.draws["net_profit"]``); ``low`` and
    ``high`` the central ``interval`` (shaded), ``estimate`` the value at the mid uplift and the
    parameter estimate (solid line); break-even (0) is a dashed line whenever it is in view.
    Bars are shares of the draws."""
    values = np.asarray(net_profit, dtype="float64")
    values = values[np.isfinite(values)]
    unit = f" ({currency})" if currency else ""
    fig = go.Figure()
    if len(values):
        lo, hi = float(values.min()), float(values.max())
        if hi - lo < 1e-9 * max(1.0, abs(hi)):  # one value: a single narrow bar around it
            span = max(abs(hi) * 0.05, 1.0)
            edges = np.linspace(lo - span, hi + span, 3)
        else:  # equal bins with 0 on an edge, so no bar mixes losses and gains
            width = (hi - lo) / bins
            start = np.floor(lo / width) * width
            edges = start + width * np.arange(int(np.ceil((hi - start) / width - 1e-9)) + 1)
            if edges[-1] < hi:
                edges = np.append(edges, edges[-1] + width)
        counts, edges = np.histogram(values, bins=edges)
        centres = (edges[:-1] + edges[1:]) / 2
        shares = counts / len(values)
        colours = [LOSS if c < 0 else GAIN for c in centres]
        fig.add_bar(
            x=centres,
            y=shares,
            width=np.diff(edges),
            marker_color=colours,
            marker_line_width=0,
            customdata=np.stack([edges[:-1], edges[1:]], axis=-1),
            hovertemplate="net profit %{customdata[0]:,.2f} to %{customdata[1]:,.2f}"
            f"{unit}: " + "%{y:.1%} of the draws<extra></extra>",
            name="draws",
        )
        fig.add_vrect(
            x0=low,
            x1=high,
            fillcolor=NEUTRAL,
            opacity=0.10,
            line_width=0,
            layer="below",
        )
        fig.add_annotation(
            x=(low + high) / 2,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            yshift=18,
            text=f"{interval:.0%} interval: {_money(low, currency)} to {_money(high, currency)}",
            showarrow=False,
            font={"color": NEUTRAL, "size": 12},
        )
        fig.add_vline(x=estimate, line_color="#222", line_width=2)
        view_lo, view_hi = min(lo, low), max(hi, high)
        span = max(view_hi - view_lo, 1e-9)
        # Break-even: drawn when it is in view or near (the axis widens to take it in);
        # when it is far off, an arrow at the edge says where it is instead.
        if view_lo - span <= 0.0 <= view_hi + span:
            if not view_lo <= 0.0 <= view_hi:
                fig.update_xaxes(range=[min(view_lo, 0.0) - 0.05 * span,
                                        max(view_hi, 0.0) + 0.05 * span])  # fmt: skip
            fig.add_vline(x=0.0, line_color=LOSS, line_dash="dash", line_width=1.5)
            fig.add_annotation(
                x=0.0,
                y=1.0,
                yref="paper",
                yanchor="bottom",
                text="break-even (0)",
                showarrow=False,
                font={"color": LOSS, "size": 11},
            )
        else:
            right = view_hi < 0.0
            fig.add_annotation(
                x=1.0 if right else 0.0,
                xref="paper",
                y=1.0,
                yref="paper",
                yanchor="bottom",
                text=(
                    "break-even (0) is far to the right: every draw loses money →"
                    if right
                    else "← break-even (0) is far to the left: every draw makes money"
                ),
                showarrow=False,
                xanchor="right" if right else "left",
                font={"color": LOSS, "size": 11},
            )
    fig.update_layout(margin={**_MARGIN, "t": 60}, height=340, showlegend=False, bargap=0.02)
    fig.update_xaxes(title_text=f"Net profit over the horizon{unit}", tickformat=",.0f")
    fig.update_yaxes(title_text="Share of draws", tickformat=".0%", rangemode="tozero")
    return fig


def tornado_figure(
    frame: pd.DataFrame,
    net_profit: float,
    *,
    currency: str = "",
    uplift_mode: str = "",
) -> go.Figure:
    """Net profit with one input at a time at its low and its high value, largest swing on top.

    ``frame``: :func:`retention.scenarios.tornado` (columns ``input``, ``label``,
    ``low_value``, ``high_value``, ``net_profit_low``, ``net_profit_high``, ``spread``),
    ``net_profit`` the value with every input as entered (the bars' common base). Each bar runs
    from the base to the net profit at the input's low (orange) or high (blue) value; the
    labels say which value."""
    ordered = frame.sort_values("spread", ascending=True, kind="stable")  # plotly: bottom first
    names = ordered["label"].astype(str).tolist()
    fig = go.Figure()
    for side, colour, label in (("low", "#F58518", "low value"), ("high", NEUTRAL, "high value")):
        ends = ordered[f"net_profit_{side}"].to_numpy(dtype="float64")
        values = ordered[f"{side}_value"].to_numpy(dtype="float64")
        inputs = ordered["input"].astype(str).tolist()
        texts = [
            format_input(i, v, currency=currency, uplift_mode=uplift_mode)
            for i, v in zip(inputs, values, strict=True)
        ]
        fig.add_bar(
            y=names,
            x=ends - net_profit,
            base=net_profit,
            orientation="h",
            marker_color=colour,
            name=f"Input at its {label}",
            text=texts,
            textposition="outside",
            cliponaxis=False,
            customdata=np.stack([np.array(texts, dtype=object), ends], axis=-1),
            hovertemplate="%{y} at %{customdata[0]}: net profit %{customdata[1]:,.2f}"
            "<extra></extra>",
        )
    fig.add_vline(x=net_profit, line_color="#222", line_width=1.5)
    unit = f" ({currency})" if currency else ""
    fig.update_layout(
        margin={"l": 10, "r": 40, "t": 40, "b": 10},
        height=max(220, 48 * len(ordered) + 90),
        barmode="overlay",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    fig.update_xaxes(title_text=f"Net profit{unit}", tickformat=",.0f", automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def comparison_figure(
    table: pd.DataFrame, *, interval: float = 0.8, currency: str = ""
) -> go.Figure:
    """Net profit of each compared scenario with its interval, P(loss) in the label.

    ``table``: one row per scenario with ``label``, ``net_profit`` (estimate),
    ``net_profit_low``, ``net_profit_high`` and ``p_loss``, in the order added (first on top)."""
    labels = table["label"].astype(str).tolist()
    estimate = table["net_profit"].to_numpy(dtype="float64")
    low = table["net_profit_low"].to_numpy(dtype="float64")
    high = table["net_profit_high"].to_numpy(dtype="float64")
    p_loss = table["p_loss"].to_numpy(dtype="float64")
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=estimate,
            orientation="h",
            marker_color=[LOSS if v < 0 else GAIN for v in estimate],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": np.maximum(high - estimate, 0.0),
                "arrayminus": np.maximum(estimate - low, 0.0),
                "color": "#222",
                "thickness": 1.5,
                "width": 6,
            },
            customdata=np.stack([low, high, p_loss], axis=-1),
            hovertemplate="%{y}: net profit %{x:,.2f}, "
            f"{interval:.0%} interval " + "%{customdata[0]:,.2f} to %{customdata[1]:,.2f}; "
            "P(loss) %{customdata[2]:.0%}<extra></extra>",
        )
    )
    fig.add_vline(x=0.0, line_color=_GREY, line_width=1)
    unit = f" ({currency})" if currency else ""
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=max(200, 70 * len(labels) + 90),
        showlegend=False,
    )
    fig.update_xaxes(
        title_text=f"Net profit with its {interval:.0%} interval{unit}",
        tickformat=",.0f",
        zeroline=False,
    )
    ticks = [
        f"<b>{label}</b><br>net {_money(e, currency)}, P(loss) {p:.0%}"
        for label, e, p in zip(labels, estimate, p_loss, strict=True)
    ]
    fig.update_yaxes(
        autorange="reversed",
        automargin=True,
        tickmode="array",
        tickvals=labels,
        ticktext=ticks,
        ticklabelstandoff=8,
    )
    return fig
