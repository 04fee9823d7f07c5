"""The Data page's other views: import history with rejected rows, and data health."""

from __future__ import annotations

import streamlit as st

from retention.ingest.history import import_history, rejected_rows, rejected_rows_csv
from retention.schema import IMPORTABLE_TABLES, TABLES
from ui import cache, state
from ui.components import REJECTED_COLUMNS, empty_state
from ui.context import PageContext

__all__ = ["history_view", "health_view"]


def history_view(ctx: PageContext) -> None:
    """Past imports and the rows each one rejected."""
    history = import_history(ctx.store)
    if history.empty:
        empty_state("No imports yet. Import a file in the **Import** view.")
        return
    st.dataframe(
        history.drop(columns=["file_sha256"]),
        hide_index=True,
        width="stretch",
        column_config={
            "import_id": st.column_config.NumberColumn("#", format="%d", width="small"),
            "imported_at": st.column_config.DatetimeColumn(
                "Imported (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "table_name": st.column_config.TextColumn("Table", width="small"),
            "source_name": st.column_config.TextColumn("Source"),
            "source_format": None,
            "file_bytes": None,
            "rows_read": st.column_config.NumberColumn("Read", format="%d", width="small"),
            "rows_loaded": st.column_config.NumberColumn("Loaded", format="%d", width="small"),
            "rows_inserted": st.column_config.NumberColumn("New", format="%d", width="small"),
            "rows_updated": st.column_config.NumberColumn("Updated", format="%d", width="small"),
            "rows_rejected": st.column_config.NumberColumn("Rejected", format="%d", width="small"),
        },
    )
    with_rejects = history.loc[history["rows_rejected"] > 0, "import_id"].tolist()
    if not with_rejects:
        st.caption("No import rejected any row.")
        return
    st.markdown("**Rejected rows**")
    picked = st.selectbox(
        "Rejected rows of import",
        with_rejects,
        key=state.DATA_REJECTED_IMPORT,
        format_func=lambda i: f"#{i}",
    )
    rejected = rejected_rows(ctx.store, int(picked))
    st.dataframe(
        rejected.head(500), hide_index=True, width="stretch", column_config=REJECTED_COLUMNS
    )
    st.download_button(
        f"Download all {len(rejected):,} rejected rows of import #{picked} (CSV)",
        rejected_rows_csv(rejected),
        file_name=f"rejected-import-{picked}.csv",
        mime="text/csv",
        key="data.download_rejected_history",
    )


def health_view(ctx: PageContext) -> None:
    """Date coverage, empty values and duplicate keys per table."""
    coverage = cache.date_coverage(ctx.store, ctx.db, ctx.data_version)
    st.markdown("**Date coverage**")
    st.dataframe(
        coverage,
        hide_index=True,
        width="stretch",
        column_config={
            "table_name": st.column_config.TextColumn("Table"),
            "rows": st.column_config.NumberColumn("Rows", format="%d"),
            "first_day": st.column_config.DateColumn("First day", format="YYYY-MM-DD"),
            "last_day": st.column_config.DateColumn("Last day", format="YYYY-MM-DD"),
            "days_with_rows": st.column_config.NumberColumn("Days with rows", format="%d"),
            "days_in_span": st.column_config.NumberColumn("Days in span", format="%d"),
            "coverage": st.column_config.ProgressColumn(
                "Coverage",
                min_value=0.0,
                max_value=1.0,
                format="percent",
                help="Share of days between the first and last day that have rows. "
                "Monthly spend has one row per month, so its share is low by design.",
            ),
        },
    )
    st.markdown("**Empty values and duplicate keys**")
    table_name = st.selectbox(
        "Table",
        IMPORTABLE_TABLES,
        key=state.DATA_HEALTH_TABLE,
        format_func=lambda n: TABLES[n].label,
    )
    dupes = cache.duplicate_keys(ctx.store, ctx.db, ctx.data_version, table_name)
    key = ", ".join(TABLES[table_name].key)
    if dupes:
        st.error(f"{dupes:,} rows repeat a key ({key}).", icon=":material/error:")
    else:
        st.caption(f"No duplicate keys ({key}).")
    nulls = cache.column_nulls(ctx.store, ctx.db, ctx.data_version, table_name)
    st.dataframe(
        nulls,
        hide_index=True,
        width="stretch",
        column_config={
            "column": st.column_config.TextColumn("Column"),
            "rows": st.column_config.NumberColumn("Rows", format="%d"),
            "required": st.column_config.CheckboxColumn("Required"),
            "empty": st.column_config.NumberColumn("Empty values", format="%d"),
            "empty_share": st.column_config.ProgressColumn(
                "Empty share", min_value=0.0, max_value=1.0, format="percent"
            ),
        },
    )
