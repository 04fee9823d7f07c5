"""Benchmark: exporting a target list of about 1M customers with Retention Lab against the pandas
notebook that writes the same customers to a file, in the same run.

    .venv/bin/python bench/export_rows.py [--customers 1000000] [--repeat 3] [--no-profile]
        [--out bench/results/export.md]

The shop: the sample generator (``retention.sample``, its default seed 42) with N customers,
built once into ``bench/.cache/shop-N.duckdb`` by ``build_sample_db`` (the file
``bench/run_pages.py`` caches for the same customer count), copied to
``bench/.cache/export-N.duckdb`` and prepared as ``python -m retention sample`` leaves a shop:
models fitted (``refresh_models``: scores and the holdout check), then one segment saved
through ``retention.segments.saved.save_segment``: "Bought at least once" (``orders >= 1``),
which every customer of the sample matches. Each session copies that file to a scratch copy
(not timed), so the exports recorded by the runs never reach the cache.

What is timed: each run is a whole command in a fresh process (interpreter, imports, reading
the database file, building the list, writing the file), wall time from launch to exit and its
peak resident memory (``wait4``; the parent never holds the data, so the child's peak is its
own). Runs are interleaved round-robin over the commands. The list is every member of the
segment, consent not checked (``--all-customers``), so that it is the whole 1M customers:

- **bare DuckDB COPY**: ``COPY (members query) TO file.csv`` in DuckDB, the floor: the same
  rows and database columns, no holdout;
- **pandas**: ``duckdb.connect(file, read_only=True).sql(members query).df()`` then
  ``to_csv(index=False)``, as a notebook would; the members query is the app's own
  (``CUSTOMER_ATTRIBUTES_SQL`` + the segment's members), so the notebook is given the SQL for
  free and only the reading and writing are compared;
- **pandas + holdout**: the same, with an exact-size random holdout (``df.sample(n=k,
  random_state=0)``, k = 10% of the rows) written as a ``group`` column; and the same to
  ``to_parquet`` (pyarrow);
- **ours**: ``python -m retention export --segment NAME --all-customers --out FILE`` (what the
  Export page runs: ``build_target_list``: members query, deterministic blake2b holdout
  ``assign_groups``, reason codes; ``write_target_file``: formula cells neutralised, CSV with a
  BOM; ``record_export`` of the list in the database; atomic rename), once with the peer's
  columns (``--columns`` the 13 database columns, plus ``group``) and once with the default
  columns (18: adds segment, reason code, reason text and offer); and ``--format parquet``.

After the first round, its files are compared (in a subprocess): ours with the peer's columns
and pandas + holdout must hold the same customers in the same order with the same values
(cells ours neutralised aside) and holdouts of the same size. With profiling on (the
default), one more run of ours (default columns, CSV) under cProfile reports where its time
goes. Prints a Markdown table and writes it to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
SEGMENT = "Bought at least once"
SEGMENT_RULES = {"op": "and", "rules": [{"attribute": "orders", "operator": ">=", "value": 1}]}
SEGMENT_DESCRIPTION = "Every customer with a counted order (benchmark segment)."
HOLDOUT_PCT = 10.0
DB_COLUMNS = (
    "customer_id", "email", "name", "country", "rfm_segment", "r_score", "f_score", "m_score",
    "predicted_cltv", "predicted_cltv_low", "predicted_cltv_high", "p_alive", "churn_risk",
)  # fmt: skip
"""The database columns of a target list (``retention.targets._MEMBERS_SQL`` less consent)."""


def members_sql(segment_id: int) -> str:
    """The members of the segment with their database columns, ordered by customer id: the
    app's attribute SQL and the join ``retention.targets`` makes (consent not filtered)."""
    from retention.segments.attributes import CUSTOMER_ATTRIBUTES_SQL

    columns = ", ".join(f"ca.{c}" for c in DB_COLUMNS)
    return (
        CUSTOMER_ATTRIBUTES_SQL + f"SELECT {columns}\nFROM segment_members AS m\n"
        "JOIN customer_attributes AS ca USING (customer_id)\n"
        f"WHERE m.segment_id = {int(segment_id)}\nORDER BY ca.customer_id\n"
    )


# --- workers (each in its own process) ----------------------------------------------------


def prepare(customers: int) -> dict[str, object]:
    """Build (once) the cached shop and its prepared copy; facts about the segment."""
    sys.path.insert(0, str(ROOT))
    from retention.sample import build_sample_db
    from retention.store import Store

    CACHE.mkdir(parents=True, exist_ok=True)
    shop = CACHE / f"shop-{customers}.duckdb"
    prepared = CACHE / f"export-{customers}.duckdb"
    if not prepared.exists():
        if not shop.exists():
            print(f"building the sample shop of {customers:,} customers ...", file=sys.stderr)
            build_sample_db(shop, customers)
        from retention.models.runs import refresh_models
        from retention.segments.saved import save_segment

        print("fitting the models and saving the segment ...", file=sys.stderr)
        partial = prepared.with_name(f".{prepared.name}.{os.getpid()}.building")
        shutil.copyfile(shop, partial)
        with Store(partial) as store:
            for message in refresh_models(store):
                print(f"  models: {message}", file=sys.stderr)
            save_segment(store, SEGMENT, SEGMENT_RULES, SEGMENT_DESCRIPTION)
            store.checkpoint()
        Path(f"{partial}.wal").unlink(missing_ok=True)
        os.replace(partial, prepared)
    with Store(prepared) as store:  # writable once: a file cached by an older version migrates
        store.checkpoint()
    with Store(prepared, read_only=True) as store:
        segment_id = int(
            store.query("SELECT segment_id FROM segments WHERE name = $n", {"n": SEGMENT}).iloc[
                0, 0
            ]
        )
        facts = store.query(
            "SELECT (SELECT count(*) FROM segment_members WHERE segment_id = $id) AS members, "
            "(SELECT count(*) FROM customers) AS customers, "
            "(SELECT count(*) FROM orders) AS orders, "
            "(SELECT count(*) FROM customer_scores) AS scores",
            {"id": segment_id},
        ).iloc[0]
    return {"segment_id": segment_id, **{k: int(v) for k, v in facts.items()}}


def peer(kind: str, db: Path, segment_id: int, out: Path) -> None:
    """One notebook-style export (run as its own process)."""
    import duckdb

    sql = members_sql(segment_id)
    con = duckdb.connect(str(db), read_only=True)
    if kind == "copy":
        target = str(out).replace("'", "''")
        con.execute(f"COPY ({sql}) TO '{target}' (HEADER, DELIMITER ',')")
        return
    df = con.sql(sql).df()
    con.close()
    if kind.endswith("holdout"):
        k = round(len(df) * HOLDOUT_PCT / 100)
        df["group"] = "target"
        df.loc[df.sample(n=k, random_state=0).index, "group"] = "holdout"
    if kind.startswith("parquet"):
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)


def check(ours: Path, theirs: Path) -> dict[str, object]:
    """Ours (peer's columns) against pandas + holdout: same customers, values and holdout size."""
    import numpy as np
    import pandas as pd

    read = {"dtype": {"customer_id": str}, "keep_default_na": False, "low_memory": False}
    a = pd.read_csv(ours, encoding="utf-8-sig", **read)
    b = pd.read_csv(theirs, **read)
    if list(a.columns) != list(b.columns):
        raise SystemExit(f"columns differ: {list(a.columns)} vs {list(b.columns)}")
    if len(a) != len(b) or not a["customer_id"].equals(b["customer_id"]):
        raise SystemExit(f"customers differ: {len(a):,} rows vs {len(b):,}")
    neutralised = 0
    for col in DB_COLUMNS[1:]:
        x, y = a[col].astype(str), b[col].astype(str)
        if pd.api.types.is_numeric_dtype(b[col]) or col.startswith(("predicted", "p_", "churn")):
            xn = pd.to_numeric(a[col], errors="coerce").to_numpy(float)
            yn = pd.to_numeric(b[col], errors="coerce").to_numpy(float)
            if not np.allclose(xn, yn, rtol=1e-9, atol=1e-9, equal_nan=True):
                raise SystemExit(f"{col}: values differ")
            continue
        differ = x != y
        apostrophe = differ & (x == "'" + y)
        if (differ & ~apostrophe).any():
            raise SystemExit(f"{col}: {int((differ & ~apostrophe).sum())} values differ")
        neutralised += int(apostrophe.sum())
    holdout = (a["group"] == "holdout").sum(), (b["group"] == "holdout").sum()
    if holdout[0] != holdout[1]:
        raise SystemExit(f"holdout sizes differ: {holdout[0]:,} vs {holdout[1]:,}")
    return {"rows": len(a), "holdout": int(holdout[0]), "neutralised": neutralised}


# --- the suite ------------------------------------------------------------------------------


@dataclass
class Command:
    name: str
    fmt: str
    columns: int
    peer: str | None  # the row this one is compared with
    argv: list[str]  # {db} and {out} are filled in per run
    seconds: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    file_mib: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def commands(segment_id: int) -> list[Command]:
    py, me = sys.executable, str(Path(__file__).resolve())
    n = len(DB_COLUMNS)

    def worker(kind: str) -> list[str]:
        return [py, me, "--peer", kind, "--db", "{db}", "--segment-id", str(segment_id),
                "--file", "{out}"]  # fmt: skip

    ours = [py, "-m", "retention", "export", "--segment", SEGMENT, "--db", "{db}",
            "--all-customers", "--holdout-pct", f"{HOLDOUT_PCT:g}", "--out", "{out}"]  # fmt: skip
    peer_csv = "pandas .df() + holdout + to_csv"
    return [
        Command("bare DuckDB COPY (query) TO csv", "csv", n, None, worker("copy")),
        Command("pandas .df() + to_csv", "csv", n, None, worker("csv")),
        Command(peer_csv, "csv", n + 1, None, worker("csv-holdout")),
        Command("ours, the peer's columns", "csv", n + 1, peer_csv,
                [*ours, "--columns", *DB_COLUMNS]),
        Command("ours, default columns", "csv", 18, peer_csv, ours),
        Command("pandas .df() + holdout + to_parquet", "parquet", n + 1, None,
                worker("parquet-holdout")),
        Command("ours, default columns, Parquet", "parquet", 18,
                "pandas .df() + holdout + to_parquet", [*ours, "--format", "parquet"]),
    ]  # fmt: skip


def run(argv: list[str]) -> tuple[float, float]:
    """Run to completion in a fresh process: wall seconds and peak RSS in MiB (``wait4``)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed (exit {code}):\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def helper(*args: str) -> dict[str, object]:
    """This script in another process (so the parent never holds the data); its JSON answer."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def profile(argv: list[str], tmp: Path) -> str:
    """One run of ours under cProfile: where the time goes, as a Markdown table."""
    stats_file = tmp / "export.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(stats_file), *argv[1:]]
    run(cmd)
    report = helper("--summarise-profile", str(stats_file))
    return str(report["table"])


def summarise_profile(stats_file: Path) -> dict[str, object]:
    """The functions that take the time: ``retention`` functions by cumulative time, then the
    largest own-time entries anywhere."""
    import pstats

    stats = pstats.Stats(str(stats_file))
    raw = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]  (the whole profiled run)

    def where(key: tuple[str, int, str]) -> str:
        path, line, name = key
        if path == "~":
            return name
        p = Path(path)
        for top in ("retention", "pandas", "duckdb", "pyarrow", "numpy"):
            if top in p.parts:
                rel = "/".join(p.parts[p.parts.index(top) :])
                return f"{rel}:{line} {name}"
        return f"{p.name}:{line} {name}"

    ours = sorted(
        ((k, v) for k, v in raw.items() if "/retention/" in k[0] and v[3] >= 0.02 * total),
        key=lambda kv: -kv[1][3],
    )[:16]
    own = sorted(raw.items(), key=lambda kv: -kv[1][2])[:8]
    lines = [
        "| function | calls | own s | cumulative s | share of the run |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, (_, nc, tt, ct, _) in ours:
        lines.append(f"| `{where(key)}` | {nc:,} | {tt:,.2f} | {ct:,.2f} | {ct / total:.0%} |")
    lines.append("| *largest own time, any module:* | | | | |")
    for key, (_, nc, tt, ct, _) in own:
        lines.append(
            f"| `{where(key)}` | {nc:,} | {tt:,.2f} | {ct:,.2f} | {tt / total:.0%} (own) |"
        )
    lines.append(f"| *the whole run* | | | {total:,.2f} | 100% |")
    return {"table": "\n".join(lines), "total": total}


def machine() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import describe  # bench/machine.py, next to this script

    return describe("pandas", "duckdb", "pyarrow")


def table(cmds: list[Command], repeat: int) -> str:
    by_name = {c.name: c for c in cmds}
    lines = [
        "| command | format | columns | file MiB | seconds, median (min–max) "
        "| vs pandas + holdout, same format | peak memory MiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in cmds:
        s = c.seconds
        ratio = f"{c.median / by_name[c.peer].median:.2f}x" if c.peer else "—"
        lines.append(
            f"| {c.name} | {c.fmt} | {c.columns} | {c.file_mib:,.{0 if c.file_mib >= 10 else 1}f} "
            f"| {c.median:,.2f} ({min(s):,.2f}–{max(s):,.2f}) | {ratio} "
            f"| {max(c.peak_mib):,.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "export.md")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--segment-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--summarise-profile", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.prepare:
        print(json.dumps(prepare(args.customers)))
        return 0
    if args.peer:
        peer(args.peer, args.db, args.segment_id, args.file)
        return 0
    if args.check:
        print(json.dumps(check(*args.check)))
        return 0
    if args.summarise_profile:
        print(json.dumps(summarise_profile(args.summarise_profile)))
        return 0

    t = time.perf_counter()
    facts = helper("--prepare", "--customers", str(args.customers))
    print(f"shop ready in {time.perf_counter() - t:.0f} s: {facts}", file=sys.stderr)
    if not facts["scores"]:
        raise SystemExit("the prepared shop has no model scores")
    cmds = commands(int(str(facts["segment_id"])))
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="export-", dir=CACHE) as scratch:
        tmp = Path(scratch)
        db = tmp / "shop.duckdb"
        shutil.copyfile(CACHE / f"export-{args.customers}.duckdb", db)
        for i in range(args.repeat):
            for j, c in enumerate(cmds):
                out = tmp / f"run{i}-{j}.{c.fmt}"
                argv = [a.replace("{db}", str(db)).replace("{out}", str(out)) for a in c.argv]
                loads.append(os.getloadavg()[0])
                seconds, peak = run(argv)
                c.seconds.append(seconds)
                c.peak_mib.append(peak)
                c.file_mib = out.stat().st_size / 2**20
                print(f"  run {i + 1} {c.name}: {seconds:.2f} s, {peak:,.0f} MiB", file=sys.stderr)
                if i > 0:
                    out.unlink()
            if i == 0:
                same = helper("--check", str(tmp / "run0-3.csv"), str(tmp / "run0-2.csv"))
                print(f"  ours and pandas + holdout agree: {same}", file=sys.stderr)
                for f in tmp.glob("run0-*"):
                    f.unlink()
        where = ""
        if not args.no_profile:
            out = tmp / "profiled.csv"
            ours = cmds[4]  # ours, default columns, CSV
            argv = [a.replace("{db}", str(db)).replace("{out}", str(out)) for a in ours.argv]
            where = profile(argv, tmp)
    parent_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    body = table(cmds, args.repeat)
    report = (
        f"Target list of {same['rows']:,} customers (every member of the saved segment "
        f"'{SEGMENT}' of the sample shop with {facts['customers']:,} customers and "
        f"{facts['orders']:,} orders; consent not checked), {HOLDOUT_PCT:g}% holdout "
        f"({same['holdout']:,}); {args.repeat} runs of each command, each a fresh process, "
        f"interleaved. Seconds: launch to exit (interpreter, imports, reading the database "
        f"file, building the list, writing the file; ours also records the export). Peak "
        f"memory: `wait4` of the process (the parent's own peak was {parent_mib:,.0f} MiB). "
        f"Ours and pandas + holdout were checked to write the same customers, in the same "
        f"order, with the same values ({same['neutralised']:,} cells ours neutralised against "
        f"formulas aside) and holdouts of the same size.\n"
        f"Machine: {machine()}; 1-minute load average before each run "
        f"{min(loads):.2f}–{max(loads):.2f}.\n\n{body}\n"
    )
    if where:
        report += (
            "\nWhere ours' time goes: one more run of `python -m retention export` (default "
            "columns, CSV) under cProfile. Seconds under the profiler (it slows Python-level "
            "calls, so they can exceed the timed runs'); the shares are of the profiled run:\n\n"
            f"{where}\n"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
