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
