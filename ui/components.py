"""Reusable page pieces: KPI rows with definitions, SQL disclosure, empty states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

__all__ = ["Kpi", "kpi_row", "show_sql", "empty_state"]


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    definition: str
    delta: str | None = None


def kpi_row(kpis: Sequence[Kpi]) -> None:
    """A row of bordered metrics; hovering the ? shows each one's definition."""
    with st.container(horizontal=True):
        for kpi in kpis:
            st.metric(kpi.label, kpi.value, delta=kpi.delta, help=kpi.definition, border=True)


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
