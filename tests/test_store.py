"""The store: migrations, the read-only query path, transactions and data_version."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retention.schema import SCHEMA_VERSION, TABLES
from retention.store import MEMORY_LIMIT_ENV, ReadOnlyQueryError, Store, StoreError, memory_limit


def test_new_file_is_migrated_to_current_version(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    assert store.data_version() == 0
    tables = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
    assert set(TABLES) <= tables


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    Store(path).close()
    with Store(path) as again:
        assert again.migrate() == SCHEMA_VERSION
        assert again.data_version() == 0


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with Store(path) as s, s.transaction() as tx:
        tx.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this app"):
        Store(path)


def test_columns_follow_the_contract(store: Store) -> None:
    for name, contract in TABLES.items():
        cols = store.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [name],
        )["column_name"].tolist()
        assert cols == list(contract.column_names), name


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM orders",
        "INSERT INTO meta VALUES ('x', 'y')",
        "DROP TABLE orders",
        "SELECT 1; DELETE FROM orders",
        "UPDATE meta SET value = '1'",
        "COPY orders TO '/tmp/x.csv'",
        "ATTACH '/tmp/other.duckdb'",
        "SET enable_external_access = true",
    ],
)
def test_reading_path_refuses_writes(store: Store, sql: str) -> None:
    with pytest.raises(ReadOnlyQueryError):
        store.query(sql)


def test_reading_path_cannot_read_files(store: Store, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(Exception, match="(?i)disabled|permission"):
        store.query("SELECT * FROM read_csv(?)", [str(secret)])


def test_values_are_bound_not_interpolated(store: Store) -> None:
    hostile = "x'; DROP TABLE orders; --"
    assert store.query("SELECT ? AS v", [hostile])["v"].iloc[0] == hostile
    assert "orders" in set(
        store.query("SELECT table_name FROM information_schema.tables")["table_name"]
    )


def test_transaction_commits_and_bumps_data_version(store: Store) -> None:
    with store.transaction() as tx:
        tx.execute("INSERT INTO meta VALUES ('probe', '1')")
    assert store.data_version() == 1
    assert store.scalar("SELECT value FROM meta WHERE key = 'probe'") == "1"


def test_failed_transaction_changes_nothing(store: Store) -> None:
    before = store.data_version()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.execute("INSERT INTO meta VALUES ('probe', '1')")
        raise RuntimeError("boom")
    assert store.data_version() == before
    assert store.scalar("SELECT count(*) FROM meta WHERE key = 'probe'") == 0


def test_constraints_reject_bad_rows(store: Store) -> None:
    bad = pd.DataFrame(
        {
            "order_id": ["x"],
            "ordered_at": [pd.Timestamp("2024-01-01")],
            "revenue": [-5.0],
            "status": ["completed"],
        }
    )
    with pytest.raises(Exception, match="(?i)constraint"), store.transaction() as tx:
        tx.register("bad", bad)
        tx.execute("INSERT INTO orders (order_id, ordered_at, revenue, status) SELECT * FROM bad")
    assert store.row_count("orders") == 0


def test_read_only_open(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    Store(path).close()
    with Store(path, read_only=True) as ro:
        assert ro.data_version() == 0
        with pytest.raises(StoreError, match="read-only"), ro.transaction():
            pass


def test_read_only_open_of_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def setting(store: Store, name: str) -> str:
    return str(store.query(f"SELECT current_setting('{name}') AS v")["v"].iloc[0])


def test_memory_limit_is_two_gib_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setattr("os.sysconf", lambda name: {"SC_PAGE_SIZE": 4096}.get(name, 2**22))
    assert memory_limit() == "2048MiB"  # 16 GiB machine: 2 GiB is less than 80%
    monkeypatch.setattr("os.sysconf", lambda name: {"SC_PAGE_SIZE": 4096}.get(name, 2**19))
    assert memory_limit() == "1638MiB"  # 2 GiB machine: 80% of it, DuckDB's own default
    monkeypatch.undo()
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    with Store(tmp_path / "m.duckdb") as s:
        expected = {"2048MiB": "2.0 GiB"}.get(memory_limit())
        if expected:  # machines with at least 2.5 GiB
            assert setting(s, "memory_limit") == expected
        # It spills next to the file instead of growing.
        assert setting(s, "temp_directory") == str(tmp_path / "m.duckdb.tmp")


def test_memory_limit_from_the_environment_and_work_past_it_spills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "64MiB")
    with Store(tmp_path / "m.duckdb") as s:
        assert setting(s, "memory_limit") == "64.0 MiB"
        # A window over 4M strings (about 200 MB to sort) still runs, through the temp directory,
        # with external access off.
        got = s.query(
            "SELECT count(*) AS n, max(rn) AS top, min(rn) AS bottom FROM ("
            "  SELECT row_number() OVER (ORDER BY x::VARCHAR || repeat('x', 36)) AS rn"
            "  FROM range(4000000) t(x))"
        )
    assert got.iloc[0].tolist() == [4_000_000, 4_000_000, 1]


@pytest.mark.parametrize("value", ["lots", "2", "2 GBs", "-1GB"])
def test_a_bad_memory_limit_says_how_to_write_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, value)
    with pytest.raises(StoreError, match=r"RETENTION_MEMORY_LIMIT=.* is not a memory size.*2GB"):
        Store(tmp_path / "m.duckdb")
    assert not (tmp_path / "m.duckdb").exists()


def test_not_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(path)


def test_table_counts_lists_every_table(tiny_store: Store) -> None:
    counts = tiny_store.table_counts().set_index("table")["rows"].to_dict()
    assert counts["orders"] == 7
    assert counts["customers"] == 2
    assert counts["order_items"] == 3
    assert counts["customer_summary"] == 2
    assert counts["imports"] == 3


def test_migration_2_adds_and_fills_order_facts(tiny_store: Store) -> None:
    path = tiny_store.path
    with tiny_store.transaction() as tx:  # make the file look like schema version 1
        tx.execute("DROP TABLE order_facts")
        tx.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    tiny_store.close()
    with Store(path) as migrated:
        assert migrated.schema_version() == SCHEMA_VERSION
        facts = migrated.query("SELECT order_id, order_number FROM order_facts ORDER BY order_id")
    # counted orders of the tiny shop: o1 o2 o3 (customer a: 1, 2, 3), o5 (b: 1), o7 (guest)
    assert facts["order_id"].tolist() == ["o1", "o2", "o3", "o5", "o7"]
    assert facts["order_number"].tolist()[:4] == [1, 2, 3, 1]
    assert pd.isna(facts["order_number"].iloc[4])


def test_reads_run_in_read_only_transactions(store: Store) -> None:
    """Even a statement that slipped past the statement check could not write: the reading
    cursor's transaction is READ ONLY in the engine itself."""
    import duckdb

    with store._reader("SELECT 1") as cur, pytest.raises(duckdb.Error, match="read-only"):
        cur.execute("INSERT INTO meta VALUES ('x', 'y')")
    assert store.scalar("SELECT count(*) FROM meta WHERE key = 'x'") == 0


def test_readers_see_the_last_commit_while_a_write_is_open(store: Store) -> None:
    """An import in progress is invisible to readers until it commits (snapshot isolation)."""
    before = store.data_version()
    with store.transaction() as tx:
        tx.execute("INSERT INTO meta VALUES ('in_progress', '1')")
        assert store.scalar("SELECT count(*) FROM meta WHERE key = 'in_progress'") == 0
        assert store.data_version() == before
    assert store.scalar("SELECT count(*) FROM meta WHERE key = 'in_progress'") == 1
    assert store.data_version() == before + 1
