"""Reusable page pieces: KPI rows with definitions, SQL disclosure, empty states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import streamlit as st

__all__ = ["Kpi", "kpi_row", "show_sql", "empty_state"]


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    definition: str
    delta: str | None = None
    delta_color: Literal["normal", "inverse", "off"] = "normal"
    delta_description: str | None = None
    trend: tuple[float, ...] | None = None  # oldest first, for the sparkline
    delta_arrow: Literal["auto", "up", "down", "off"] = "auto"  # "off" for an interval text


def kpi_row(kpis: Sequence[Kpi], per_row: int = 4) -> None:
    """Rows of bordered metrics, ``per_row`` wide; hovering the ? shows each definition."""
    for first in range(0, len(kpis), per_row):
        columns = st.columns(per_row)
        for column, kpi in zip(columns, kpis[first : first + per_row], strict=False):
            column.metric(
                kpi.label,
                kpi.value,
                delta=kpi.delta,
                delta_color=kpi.delta_color,
                delta_description=kpi.delta_description,
                delta_arrow=kpi.delta_arrow,
                help=kpi.definition,
                border=True,
                chart_data=list(kpi.trend) if kpi.trend else None,
                chart_type="line",
            )


def show_sql(sql: str, *, label: str = "Show SQL") -> None:
    with st.expander(label):
        st.code(sql.strip(), language="sql")


def empty_state(message: str, *, icon: str = ":material/info:") -> None:
    st.info(message, icon=icon)


def contract_column_config(table_name: str) -> dict[str, object]:
    """Column labels and formats for a canonical table's rows, from its contract."""
    from retention.schema import table

    config: dict[str, object] = {}
    for column in table(table_name).columns:
        label = column.name.replace("_", " ").capitalize()
        if column.kind == "timestamp":
            config[column.name] = st.column_config.DatetimeColumn(
                label, format="YYYY-MM-DD HH:mm", help=column.description
            )
        elif column.kind == "date":
            config[column.name] = st.column_config.DateColumn(
                label, format="YYYY-MM-DD", help=column.description
            )
        elif column.kind == "money":
            config[column.name] = st.column_config.NumberColumn(
                label, format="%.2f", help=column.description
            )
        elif column.kind in ("count", "int"):
            config[column.name] = st.column_config.NumberColumn(
                label, format="%d", help=column.description
            )
        elif column.kind == "bool":
            config[column.name] = st.column_config.CheckboxColumn(label, help=column.description)
        else:
            config[column.name] = st.column_config.TextColumn(label, help=column.description)
    return config


REJECTED_COLUMNS = {
    "line_number": st.column_config.NumberColumn(
        "Line", format="%d", help="Line (CSV) or row (Excel) in the file."
    ),
    "reason": st.column_config.TextColumn("Reason", width="large"),
    "raw": st.column_config.TextColumn("Row as read", width="large"),
}


def metric_definitions(
    names: Sequence[str], *, key: str, label: str = "Definitions and SQL of the headline numbers"
) -> None:
    """An expander to pick one of ``names`` and read its definition, formula and full SQL."""
    from retention.metrics import REGISTRY, full_sql

    with st.expander(label):
        picked = st.selectbox(
            "Metric", list(names), format_func=lambda n: REGISTRY[n].label, key=key
        )
        m = REGISTRY[picked]
        st.markdown(f"**{m.label}**: {m.definition}\n\nFormula: `{m.formula}`")
        st.code(full_sql(m), language="sql")
