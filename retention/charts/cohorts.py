"""Cohort figures: a heatmap (rows x period index) and retention / LTV curves.

Data in, ``go.Figure`` out; no Streamlit, no store. Values are shares (0..1), money or plain
ratios, named by ``unit`` ("share" | "money" | "ratio").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["heatmap_figure", "curves_figure", "value_format"]

_MAX_TEXT_CELLS = 400
_MAX_TEXT_COLUMNS = 20
"""Above this many filled cells or columns the heatmap leaves the numbers out of the cells
(they would not fit; hovering still shows them)."""


def value_format(unit: str) -> str:
    """A d3 format for values of ``unit``: 12%, 1,234 or 0.27."""
    return {"share": ".0%", "money": ",.0f", "ratio": ".2f"}.get(unit, ",.2f")


def _hover_format(unit: str) -> str:
    return {"share": ".1%", "money": ",.2f", "ratio": ".3f"}.get(unit, ",.2f")


def heatmap_figure(
    cells: pd.DataFrame,
    *,
    value: str,
    unit: str,
    value_label: str,
    period_word: str,
    currency: str = "",
) -> go.Figure:
    """Rows are cohorts (or groups), columns period indexes, colour the value.

    ``cells``: columns row_label (in display order, first on top), period_index, ``value``,
    small (bool: the row is a small cohort, drawn in grey) and complete (bool: a partial last
    period gets a * after its number).
    """
    rows = list(dict.fromkeys(cells["row_label"]))
    cols = sorted(cells["period_index"].unique())
    grid = cells.pivot_table(
        index="row_label", columns="period_index", values=value, aggfunc="first", dropna=False
    ).reindex(index=rows, columns=cols)
    partial = (
        (~cells.set_index(["row_label", "period_index"])["complete"])
        .unstack()
        .reindex(index=rows, columns=cols)
        .fillna(False)
        .astype(bool)
    )
    small_rows = set(cells.loc[cells["small"], "row_label"])
    z = grid.to_numpy(dtype="float64")
    text = _cell_text(z, partial.to_numpy(), unit)
    show_text = np.isfinite(z).sum() <= _MAX_TEXT_CELLS and len(cols) <= _MAX_TEXT_COLUMNS
    x = [str(c) for c in cols]
    money = f" {currency}" if currency and unit == "money" else ""
    hover = (
        f"%{{y}}<br>{period_word} %{{x}}<br>{value_label}: "
        f"%{{z:{_hover_format(unit)}}}{money}<extra></extra>"
    )
    finite = z[np.isfinite(z)]
    zmin = 0.0
    zmax = float(np.nanpercentile(finite, 98)) if finite.size else 1.0
    if unit == "share" and value == "retention_rate":
        # Period 0 is always 100%; colour the later periods so they are told apart.
        later = z[:, 1:] if z.shape[1] > 1 else z
        later = later[np.isfinite(later)]
        zmax = float(np.nanmax(later)) if later.size else 1.0
    fig = go.Figure()
    big_mask = np.array([r not in small_rows for r in rows])
    for mask, scale, show_scale in ((big_mask, "Blues", True), (~big_mask, "Greys", False)):
        if not mask.any():
            continue
        part = np.where(mask[:, None], z, np.nan)
        part_text = [row if keep else [""] * len(row) for row, keep in zip(text, mask, strict=True)]
        fig.add_trace(
            go.Heatmap(
                z=part,
                x=x,
                y=rows,
                text=part_text,
                texttemplate="%{text}" if show_text else None,
                textfont={"size": 10},
                colorscale=scale,
                zmin=zmin,
                zmax=max(zmax, 1e-9),
                showscale=show_scale,
                colorbar={"tickformat": value_format(unit), "thickness": 12, "len": 0.6},
                hovertemplate=hover,
                hoverongaps=False,
                xgap=1,
                ygap=1,
                opacity=1.0 if show_scale else 0.45,
            )
        )
    fig.update_layout(
        height=max(260, 90 + 20 * len(rows)),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        plot_bgcolor="white",
    )
    fig.update_xaxes(
        title_text=f"{period_word}s since the first order", side="bottom", type="category"
    )
    fig.update_yaxes(autorange="reversed", type="category", title_text=None)
    return fig


def _cell_text(z: np.ndarray, partial: np.ndarray, unit: str) -> list[list[str]]:
    def one(v: float, star: bool) -> str:
        if not np.isfinite(v):
            return ""
        if unit == "share":
            s = f"{v:.0%}" if v >= 0.1 or v == 0 else f"{v:.1%}"
        elif unit == "money":
            s = f"{v:,.0f}"
        else:
            s = f"{v:.2f}"
        return s + ("*" if star else "")

    return [
        [one(v, bool(p)) for v, p in zip(row, prow, strict=True)]
        for row, prow in zip(z, partial, strict=True)
    ]


def curves_figure(
    lines: pd.DataFrame,
    *,
    value: str,
    unit: str,
    value_label: str,
    period_word: str,
    average: pd.DataFrame | None = None,
    currency: str = "",
) -> go.Figure:
    """One thin line per cohort or group, and an optional bold weighted average.

    ``lines``: columns line (name), period_index, ``value``, small (bool: dashed, grey).
    ``average``: columns period_index, ``value`` (drawn bold, black), or None.
    """
    fig = go.Figure()
    names = list(dict.fromkeys(lines["line"]))
    many = len(names) > 12
    money = f" {currency}" if currency and unit == "money" else ""
    hover = f"%{{y:{_hover_format(unit)}}}{money}"
    for name in names:
        part = lines[lines["line"] == name].sort_values("period_index")
        small = bool(part["small"].iloc[0])
        fig.add_trace(
            go.Scatter(
                x=part["period_index"],
                y=part[value],
                name=str(name),
                mode="lines",
                line={
                    "width": 1 if many else 2,
                    "dash": "dot" if small else "solid",
                    "color": "rgba(120,120,120,0.35)" if small else None,
                },
                opacity=0.45 if many else 0.9,
                showlegend=not many,
                hovertemplate=f"{name}<br>{period_word} %{{x}}: {hover}<extra></extra>",
            )
        )
    if average is not None and not average.empty:
        fig.add_trace(
            go.Scatter(
                x=average["period_index"],
                y=average[value],
                name="Weighted average",
                mode="lines+markers",
                line={"width": 4, "color": "#111111"},
                marker={"size": 5},
                hovertemplate=f"Weighted average<br>{period_word} %{{x}}: {hover}<extra></extra>",
            )
        )
    fig.update_layout(
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.08, "x": 0},
        hovermode="closest",
    )
    fig.update_xaxes(title_text=f"{period_word}s since the first order", rangemode="tozero")
    title = f"{value_label} {currency}".strip() if unit == "money" else value_label
    fig.update_yaxes(title_text=title, tickformat=value_format(unit), rangemode="tozero")
    _zoom_past_period_zero(fig, lines, value, unit, average)
    return fig


def _zoom_past_period_zero(
    fig: go.Figure, lines: pd.DataFrame, value: str, unit: str, average: pd.DataFrame | None
) -> None:
    """Retention is 100% in period 0 by definition; when later periods are far below, zoom the
    y axis onto them (period 0 runs off the top) so differences between lines can be seen."""
    if unit != "share":
        return
    later = [lines.loc[lines["period_index"] >= 1, value]]
    if average is not None and not average.empty:
        later.append(average.loc[average["period_index"] >= 1, value])
    values = pd.concat(later).dropna()
    if values.empty:
        return
    top = float(values.max())
    if top >= 0.6:
        return
    fig.update_yaxes(range=[0, min(1.0, top * 1.2)])
    # Said under the axis: an annotation at the top collides with a two-row legend.
    title = fig.layout.xaxis.title.text or ""
    fig.update_xaxes(title_text=f"{title} (period 0 is 100% by definition, above the chart)")
