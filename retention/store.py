"""The DuckDB file: open, migrate, query, write in transactions.

This is the only module that imports duckdb (DESIGN.md, "Layout"). One :class:`Store` per
process holds one database instance; every read gets its own cursor inside a ``READ ONLY``
transaction, so Streamlit's threads can share it and each read sees one committed snapshot,
and every write goes through :meth:`Store.transaction`, which serialises writers, bumps
``data_version`` on commit and rolls back everything on error. (DuckDB refuses a second,
read-only connection to a file that the same process holds open for writing, so the reading
path is made read-only per transaction rather than per connection: ADR 0006.)

Safety (ADR 0001): the instance runs with external access off (no file, HTTP or extension
access from SQL), its configuration locked, and :meth:`Store.query` accepts only read
statements, so the reading path can neither change data nor reach outside the file.

Memory (ADR 0012): the instance may hold at most :func:`memory_limit` (2 GiB, or 80% of the
machine's memory when that is less; ``RETENTION_MEMORY_LIMIT`` overrides it). Past it DuckDB
spills sorts, joins and aggregates to ``<file>.tmp`` instead of growing: at 10M orders the
derived-table refresh peaks at about 2.2 GiB instead of 4.2 GiB, for 10-20% more time.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from retention.schema import MIGRATIONS, REFRESH_DERIVED, SCHEMA_VERSION, TABLES, quote_ident

__all__ = ["Store", "Transaction", "StoreError", "ReadOnlyQueryError", "open_store"]

Params = Sequence[Any] | Mapping[str, Any] | None

_READ_STATEMENTS = {"SELECT", "EXPLAIN"}

MEMORY_LIMIT_ENV = "RETENTION_MEMORY_LIMIT"
_DEFAULT_LIMIT_BYTES = 2 * 1024**3
_LIMIT_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I)


class StoreError(RuntimeError):
    """The database could not be opened or written; the message says what to do."""


class ReadOnlyQueryError(StoreError):
    """A statement other than a read was sent down the reading path."""


def memory_limit() -> str:
    """DuckDB's ``memory_limit`` for this process, e.g. ``"2048MiB"``.

    ``RETENTION_MEMORY_LIMIT`` (a number and a unit: ``1.5GB``, ``4096MiB``) when it is set;
    otherwise 2 GiB or 80% of the machine's memory, whichever is less (80% is DuckDB's own
    default). Raises :class:`StoreError` for a value DuckDB would not read.
    """
    raw = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if raw:
        if not _LIMIT_PATTERN.match(raw):
            raise StoreError(
                f"{MEMORY_LIMIT_ENV}={raw!r} is not a memory size. Give a number and a unit, "
                "for example 2GB or 4096MiB, or unset it for the default (2 GiB)."
            )
        return raw.replace(" ", "")
    try:
        machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        machine = 0
    limit = min(_DEFAULT_LIMIT_BYTES, int(machine * 0.8)) if machine else _DEFAULT_LIMIT_BYTES
    return f"{limit // 1024**2}MiB"


def _config(read_only: bool) -> dict[str, Any]:
    return {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": memory_limit(),
        "lock_configuration": True,
        "access_mode": "READ_ONLY" if read_only else "READ_WRITE",
    }


class Transaction:
    """A write in progress: a cursor inside BEGIN ... COMMIT. Obtain it from Store.transaction."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cur = cursor
        self._registered: list[str] = []

    def execute(self, sql: str, params: Params = None) -> None:
        """Run one statement; values are always bound as parameters."""
        self._cur.execute(sql, params).fetchall()

    def query(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Read inside the transaction (sees its own uncommitted writes)."""
        return self._cur.execute(sql, params).df()

    def scalar(self, sql: str, params: Params = None) -> Any:
        rows = self._cur.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Expose a DataFrame as a view named ``name`` for the rest of the transaction."""
        self._cur.register(name, frame)
        self._registered.append(name)

    def _cleanup(self) -> None:
        for name in self._registered:
            with suppress(duckdb.Error):
                self._cur.unregister(name)


@dataclass(frozen=True)
class TableCount:
    table: str
    rows: int


class Store:
    """One DuckDB file. Thread-safe: reads use a cursor each, writes are serialised."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"database file {self.path} does not exist")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(
                str(self.path), read_only=read_only, config=_config(read_only)
            )
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"{self.path} is open in another process (the app or another command). "
                    "Stop it, or import through the app's Data page, then try again."
                ) from exc
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {self.path} as a DuckDB database: {exc}") from exc
        self._write_lock = threading.Lock()
        if read_only:
            version = self.schema_version()
            if version != SCHEMA_VERSION:
                self.close()
                raise StoreError(
                    f"{self.path} has schema version {version}, this app needs {SCHEMA_VERSION}; "
                    "open it once with write access to upgrade it."
                )
        else:
            self.migrate()

    # -- reading -------------------------------------------------------------------------

    @contextmanager
    def _reader(self, sql: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own inside a READ ONLY transaction: the engine itself refuses any
        write on it, and the statement sees one snapshot even while an import commits."""
        _check_read_only(sql)
        cur = self._con.cursor()
        try:
            cur.execute("BEGIN TRANSACTION READ ONLY")
            yield cur
            cur.execute("COMMIT")
        finally:
            cur.close()  # an open transaction (after an error) is rolled back

    def query(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Run one read statement with bound parameters and return a DataFrame."""
        with self._reader(sql) as cur:
            return cur.execute(sql, params).df()

    def scalar(self, sql: str, params: Params = None) -> Any:
        """First column of the first row of a read statement (None when there is no row)."""
        with self._reader(sql) as cur:
            row = cur.execute(sql, params).fetchone()
            return None if row is None else row[0]

    def schema_version(self) -> int:
        exists = self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        )
        if not exists:
            return 0
        value = self.scalar("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(value) if value is not None else 0

    def data_version(self) -> int:
        """A number that changes with every successful write; caches are keyed on it."""
        value = self.scalar("SELECT value FROM meta WHERE key = 'data_version'")
        return int(value) if value is not None else 0

    def table_counts(self) -> pd.DataFrame:
        """Each table of the contract with its row count, in contract order."""
        rows = []
        present = set(self.query("SELECT table_name FROM information_schema.tables")["table_name"])
        for name, contract in TABLES.items():
            if name == "meta":
                continue
            count = (
                self.scalar(f"SELECT count(*) FROM {quote_ident(name)}")  # noqa: S608
                if name in present
                else 0
            )
            rows.append(
                {"table": name, "label": contract.label, "kind": contract.kind, "rows": count}
            )
        return pd.DataFrame(rows)

    def row_count(self, table_name: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {quote_ident(TABLES[table_name].name)}"))  # noqa: S608

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Write path: BEGIN, yield, bump data_version, COMMIT; ROLLBACK on any error."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only; writing needs write access")
        with self._write_lock:
            cur = self._con.cursor()
            tx = Transaction(cur)
            cur.execute("BEGIN TRANSACTION")
            try:
                yield tx
                cur.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                    "WHERE key = 'data_version'"
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                tx._cleanup()
                cur.close()

    def migrate(self) -> int:
        """Apply the migrations the file has not seen yet; return the resulting version."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this app "
                f"({SCHEMA_VERSION}); upgrade Retention Lab."
            )
        pending = [m for m in MIGRATIONS if m.version > current]
        if not pending:
            return current
        with self._write_lock:
            cur = self._con.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                for migration in pending:
                    for statement in migration.statements:
                        if statement == REFRESH_DERIVED:
                            from retention.ingest.derived import refresh_derived

                            refresh_derived(Transaction(cur))
                        else:
                            cur.execute(statement)
                cur.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    [str(pending[-1].version)],
                )
                cur.execute(
                    "INSERT INTO meta SELECT 'data_version', '0' WHERE NOT EXISTS "
                    "(SELECT 1 FROM meta WHERE key = 'data_version')"
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
        return pending[-1].version

    def checkpoint(self) -> None:
        """Write the WAL into the file (after big loads, so the file is self-contained)."""
        with self._write_lock:
            cur = self._con.cursor()
            try:
                cur.execute("CHECKPOINT")
            finally:
                cur.close()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_read_only(sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReadOnlyQueryError(f"cannot parse query: {exc}") from exc
    if len(statements) != 1:
        raise ReadOnlyQueryError("the reading path runs exactly one statement per call")
    kind = statements[0].type.name
    if kind not in _READ_STATEMENTS:
        raise ReadOnlyQueryError(f"the reading path only runs reads, not {kind}")


def open_store(path: str | Path, *, read_only: bool = False) -> Store:
    """Open (and create or migrate, when writable) the DuckDB file at ``path``."""
    return Store(path, read_only=read_only)
