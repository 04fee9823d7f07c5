"""Import history and the rejected rows of an import, for the Data page and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from retention.export import to_csv_bytes

if TYPE_CHECKING:
    from retention.store import Store

__all__ = ["import_history", "rejected_rows", "rejected_rows_csv"]


def import_history(store: Store) -> pd.DataFrame:
    """One row per import, newest first."""
    return store.query(
        "SELECT import_id, imported_at, table_name, source_name, source_format, file_bytes, "
        "rows_read, rows_loaded, rows_inserted, rows_updated, rows_rejected, file_sha256 "
        "FROM imports ORDER BY import_id DESC"
    )


def rejected_rows(store: Store, import_id: int) -> pd.DataFrame:
    """The rows one import rejected: line number, reason and the row as read."""
    return store.query(
        "SELECT line_number, reason, raw FROM rejected_rows WHERE import_id = ? "
        "ORDER BY line_number, reason",
        [import_id],
    )


def rejected_rows_csv(rejected: pd.DataFrame) -> bytes:
    """UTF-8 CSV with BOM (opens cleanly in Excel); formula-like cells neutralised."""
    return to_csv_bytes(rejected)
