"""Atomic load of validated frames into the canonical tables.

One import is one transaction: the import is recorded in ``imports``, its rows are upserted
by key (a row whose key exists replaces it, so loading the same rows twice adds nothing),
rejected rows go to ``rejected_rows`` with their reasons, and the derived tables are rebuilt.
Any error rolls all of it back, leaving the file exactly as it was (DESIGN.md "Rules that keep
it safe"). ``order_items`` is keyed by order: the items of every order in the file replace
that order's items.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from retention.ingest.derived import refresh_derived
from retention.schema import TABLES, quote_ident, table

if TYPE_CHECKING:
    from retention.ingest.prepare import PreparedImport
    from retention.store import Store, Transaction

__all__ = ["ImportReport", "LoadError", "load_prepared", "load_frames", "find_previous_import"]

Progress = Callable[[float, str], None]

# Which columns identify the rows an incoming row replaces. order_items: a whole order.
_REPLACE_KEY: dict[str, tuple[str, ...]] = {"order_items": ("order_id",)}

# Related frames derived from another table's file (a Shopify orders export gives customers
# with only email, name, country and consent) fill gaps but never overwrite richer rows that a
# dedicated import loaded: they add new keys only.
_RELATED_ADD_ONLY: frozenset[str] = frozenset({"customers"})


class LoadError(ValueError):
    """Nothing was loaded; the message says why and what to do."""


@dataclass(frozen=True)
class ImportReport:
    """What one load did to one table."""

    import_id: int
    table: str
    source_name: str
    rows_read: int
    rows_loaded: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    already_imported_as: int | None = None
    related: tuple[ImportReport, ...] = field(default=())

    def summary(self) -> str:
        """One sentence for the UI and the CLI."""
        if self.already_imported_as is not None:
            return (
                f"{self.source_name} was already imported into {self.table} as import "
                f"#{self.already_imported_as} with the same settings; nothing changed."
            )
        text = (
            f"Import #{self.import_id} into {self.table}: {self.rows_read:,} rows read, "
            f"{self.rows_loaded:,} loaded ({self.rows_inserted:,} new, "
            f"{self.rows_updated:,} updated, {self.rows_unchanged:,} unchanged), "
            f"{self.rows_rejected:,} rejected."
        )
        for rel in self.related:
            text += (
                f" Also {rel.table}: {rel.rows_inserted:,} new, {rel.rows_updated:,} updated, "
                f"{rel.rows_unchanged:,} unchanged."
            )
        return text

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _options_json(prepared: PreparedImport) -> str:
    return json.dumps(
        {"options": asdict(prepared.options), "mapping": dict(sorted(prepared.mapping.items()))},
        sort_keys=True,
    )


def find_previous_import(
    store: Store, sha256: str, table_name: str, options_json: str
) -> int | None:
    """The import id that loaded these same bytes into this table with the same settings."""
    value = store.scalar(
        "SELECT max(import_id) FROM imports WHERE file_sha256 = ? AND table_name = ? "
        "AND options = ?",
        [sha256, table_name, options_json],
    )
    return None if value is None else int(value)


def load_prepared(
    store: Store, prepared: PreparedImport, *, progress: Progress | None = None
) -> ImportReport:
    """Load a prepared import (and its related frames) in one transaction."""
    note = progress or (lambda _f, _m: None)
    options_json = _options_json(prepared)
    previous = find_previous_import(store, prepared.file_sha256, prepared.table, options_json)
    if previous is not None:
        return ImportReport(
            import_id=previous,
            table=prepared.table,
            source_name=prepared.source_name,
            rows_read=prepared.rows_read,
            rows_loaded=0,
            rows_inserted=0,
            rows_updated=0,
            rows_unchanged=0,
            rows_rejected=len(prepared.rejected),
            already_imported_as=previous,
        )
    if prepared.valid.empty:
        raise LoadError(
            f"No row of {prepared.source_name} passed validation, so nothing was imported. "
            "Download the rejected rows to see each reason, fix the file or the column "
            "mapping, and import again."
        )
    note(0.1, "Loading rows")
    with store.transaction() as tx:
        import_id = _next_import_id(tx)
        main = _upsert(tx, prepared.table, prepared.valid)
        related = tuple(
            _report(
                import_id,
                name,
                prepared.source_name,
                len(frame),
                *_upsert(tx, name, frame, add_only=name in _RELATED_ADD_ONLY),
            )
            for name, frame in prepared.related.items()
            if not frame.empty
        )
        note(0.6, "Recording the import")
        _record_import(
            tx,
            import_id,
            table_name=prepared.table,
            source_name=prepared.source_name,
            sha256=prepared.file_sha256,
            file_bytes=prepared.file_bytes,
            source_format=prepared.source_format,
            rows_read=prepared.rows_read,
            rows_loaded=len(prepared.valid),
            counts=main,
            rows_rejected=len(prepared.rejected),
            options_json=options_json,
        )
        _store_rejected(tx, import_id, prepared.rejected)
        note(0.75, "Rebuilding the customer summary")
        refresh_derived(tx)
    note(1.0, "Done")
    return _report(
        import_id,
        prepared.table,
        prepared.source_name,
        prepared.rows_read,
        *main,
        rows_rejected=len(prepared.rejected),
        related=related,
    )


def load_frames(
    store: Store,
    frames: Mapping[str, pd.DataFrame],
    *,
    source_name: str,
    source_format: str = "sample",
    replace: bool = True,
    progress: Progress | None = None,
) -> list[ImportReport]:
    """Load trusted frames (the sample shop) in one transaction; ``replace`` empties tables first.

    Frames must already follow the column contract; this path does no row validation, only the
    table constraints apply.
    """
    note = progress or (lambda _f, _m: None)
    reports: list[ImportReport] = []
    with store.transaction() as tx:
        for i, (name, frame) in enumerate(frames.items()):
            note(i / (len(frames) + 1), f"Loading {name}")
            contract = table(name)
            if contract.kind != "canonical":
                raise LoadError(f"{name} is not a canonical table and cannot be loaded")
            import_id = _next_import_id(tx)
            if replace:
                delete_all = f"DELETE FROM {quote_ident(name)}"  # noqa: S608 (contract identifier)
                tx.execute(delete_all)
            counts = _upsert(tx, name, frame)
            _record_import(
                tx,
                import_id,
                table_name=name,
                source_name=source_name,
                sha256=None,
                file_bytes=None,
                source_format=source_format,
                rows_read=len(frame),
                rows_loaded=len(frame),
                counts=counts,
                rows_rejected=0,
                options_json=json.dumps({"replace": replace}),
            )
            reports.append(_report(import_id, name, source_name, len(frame), *counts))
        note(len(frames) / (len(frames) + 1), "Rebuilding the customer summary")
        refresh_derived(tx)
    note(1.0, "Done")
    return reports


def _report(
    import_id: int,
    table_name: str,
    source_name: str,
    rows_read: int,
    inserted: int,
    updated: int,
    unchanged: int,
    *,
    rows_rejected: int = 0,
    related: tuple[ImportReport, ...] = (),
) -> ImportReport:
    return ImportReport(
        import_id=import_id,
        table=table_name,
        source_name=source_name,
        rows_read=rows_read,
        rows_loaded=inserted + updated + unchanged,
        rows_inserted=inserted,
        rows_updated=updated,
        rows_unchanged=unchanged,
        rows_rejected=rows_rejected,
        related=related,
    )


def _next_import_id(tx: Transaction) -> int:
    return int(tx.scalar("SELECT coalesce(max(import_id), 0) + 1 FROM imports"))


def _upsert(
    tx: Transaction, table_name: str, frame: pd.DataFrame, *, add_only: bool = False
) -> tuple[int, int, int]:
    """Upsert ``frame`` into ``table_name``; return (inserted, updated, unchanged) row counts.

    With ``add_only``, rows whose key exists are left as they are (counted as unchanged).
    """
    contract = TABLES[table_name]
    missing = [c for c in contract.column_names if c not in frame.columns]
    if missing:
        raise LoadError(f"frame for {table_name} lacks columns: {', '.join(missing)}")
    target = quote_ident(table_name)
    cols = [quote_ident(c) for c in contract.column_names]
    key = [quote_ident(k) for k in contract.key]
    replace_key = [quote_ident(k) for k in _REPLACE_KEY.get(table_name, contract.key)]
    casts = ", ".join(
        f"CAST({quote_ident(c.name)} AS {c.sql_type}) AS {quote_ident(c.name)}"
        for c in contract.columns
    )
    tx.register("_incoming_raw", frame[list(contract.column_names)])
    if not tx.scalar(f"SELECT EXISTS (SELECT 1 FROM {target})"):  # noqa: S608
        # An empty table (a first import): every row is new, so skip the staging copy, the
        # comparison with existing rows and the delete, and insert straight from the frame.
        tx.execute(
            f"INSERT INTO {target} ({', '.join(cols)}) SELECT {casts} FROM _incoming_raw"  # noqa: S608
        )
        return len(frame), 0, 0
    stage = f"CREATE OR REPLACE TEMP TABLE _incoming AS SELECT {casts} FROM _incoming_raw"  # noqa: S608
    tx.execute(stage)
    key_join = " AND ".join(f"t.{k} = s.{k}" for k in key)
    same_row = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in cols)
    counts = tx.query(
        f"""
        SELECT count(*) FILTER (WHERE t.{key[0]} IS NULL) AS inserted,
               count(*) FILTER (WHERE t.{key[0]} IS NOT NULL AND NOT ({same_row})) AS updated,
               count(*) FILTER (WHERE t.{key[0]} IS NOT NULL AND ({same_row})) AS unchanged
        FROM _incoming AS s LEFT JOIN {target} AS t ON {key_join}
        """  # noqa: S608
    ).iloc[0]
    if add_only:
        tx.execute(
            f"INSERT INTO {target} ({', '.join(cols)}) SELECT {', '.join(cols)} "  # noqa: S608
            f"FROM _incoming AS s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {target} AS t WHERE {key_join})"
        )
        tx.execute("DROP TABLE _incoming")
        inserted = int(counts["inserted"])
        return inserted, 0, len(frame) - inserted
    replace_join = " AND ".join(f"{target}.{k} = s.{k}" for k in replace_key)
    tx.execute(
        f"DELETE FROM {target} USING (SELECT DISTINCT {', '.join(replace_key)} "  # noqa: S608
        f"FROM _incoming) AS s WHERE {replace_join}"
    )
    tx.execute(
        f"INSERT INTO {target} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _incoming"  # noqa: S608
    )
    tx.execute("DROP TABLE _incoming")
    return int(counts["inserted"]), int(counts["updated"]), int(counts["unchanged"])


def _record_import(
    tx: Transaction,
    import_id: int,
    *,
    table_name: str,
    source_name: str,
    sha256: str | None,
    file_bytes: int | None,
    source_format: str,
    rows_read: int,
    rows_loaded: int,
    counts: tuple[int, int, int],
    rows_rejected: int,
    options_json: str,
) -> None:
    tx.execute(
        "INSERT INTO imports (import_id, imported_at, table_name, source_name, file_sha256, "
        "file_bytes, source_format, rows_read, rows_loaded, rows_inserted, rows_updated, "
        "rows_rejected, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id,
            datetime.now(UTC).replace(tzinfo=None),
            table_name,
            source_name,
            sha256,
            file_bytes,
            source_format,
            rows_read,
            rows_loaded,
            counts[0],
            counts[1],
            rows_rejected,
            options_json,
        ],
    )


def _store_rejected(tx: Transaction, import_id: int, rejected: pd.DataFrame) -> None:
    if rejected.empty:
        return
    frame = pd.DataFrame(
        {
            "import_id": import_id,
            "line_number": rejected["line_number"].astype("int64"),
            "raw": rejected["raw"].astype(object),
            "reason": rejected["reason"].astype(object),
        }
    )
    tx.register("_rejected", frame)
    tx.execute(
        "INSERT INTO rejected_rows (import_id, line_number, raw, reason) "
        "SELECT import_id, line_number, raw, reason FROM _rejected"
    )
