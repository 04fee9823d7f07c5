"""Benchmark: importing an orders CSV with Retention Lab against a bare DuckDB ``read_csv``.

    .venv/bin/python bench/import_csv.py [--orders 1000000] [--repeat 3] [--out FILE.md]

The CSV is the sample shop's orders table written once to ``bench/.cache/`` (the sample
generator, any size). Each run starts from a fresh database file in its own process, timed as a
whole command with its peak resident memory (``wait4``):

- **bare read_csv**: ``CREATE TABLE orders AS SELECT * FROM read_csv(file)`` in DuckDB, what a
  user would do by hand, with no checks;
- **ours**: ``python -m retention import file --table orders --no-fit`` (sniffing, mapping,
  validation with rejected rows kept, the atomic load and the derived-table refresh), without
  the model refit, which is timed by ``bench/fit_models.py``;
- **of which the derived-table refresh**: the part of *ours* that rebuilds the derived tables
  (``customer_summary``, ``order_facts``, ``cohort_activity`` ...). It is timed in a separate
  process on the database file that *ours* just loaded: the process opens the file, then times
  one transaction that runs ``refresh_derived`` and commits, as the import does (the seconds
  exclude starting Python and opening the file; the peak memory is that whole process's). The
  rebuild reads the same orders the import loaded and writes the same tables, so it is the same
  work the import did at its end; the import's own figure already includes it.

Prints a Markdown table with medians, min–max, the ratio and peak memory, and notes the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
ORDERS_PER_CUSTOMER = 2.87  # the sample shop's average (retention/sample.py)

BARE_SQL = "CREATE TABLE orders AS SELECT * FROM read_csv(?)"


@dataclass
class Run:
    seconds: float
    peak_mib: float


@dataclass
class Result:
    name: str
    runs: list[Run]

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def row(self, baseline: Result | None) -> str:
        s = [r.seconds for r in self.runs]
        peak = max(r.peak_mib for r in self.runs)
        ratio = f"{self.median / baseline.median:.2f}x" if baseline else "1.00x"
        return (
            f"| {self.name} | {self.median:,.2f} ({min(s):,.2f}–{max(s):,.2f}) | {ratio} "
            f"| {peak:,.0f} |"
        )


def machine() -> str:
    from machine import describe  # bench/machine.py, next to this script

    return describe("duckdb")


def orders_csv(orders: int) -> Path:
    """The sample shop's orders as a CSV of about ``orders`` rows (built once, cached).

    Built in a child process: a child's peak resident memory (``ru_maxrss``) starts from its
    parent's at the fork, so the parent that starts the timed runs must stay small.
    """
    customers = int(orders / ORDERS_PER_CUSTOMER)
    path = CACHE / f"orders-{customers}.csv"
    if not path.exists():
        print(f"generating a sample shop of {customers:,} customers ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, __file__, "--write-csv", str(customers), str(path)],
            cwd=ROOT,
            check=True,
        )
    return path


def write_orders_csv(customers: int, path: Path) -> None:
    """Generate the sample shop and write its orders to ``path`` (via a partial file)."""
    from retention.sample import generate_sample

    path.parent.mkdir(parents=True, exist_ok=True)
    shop = generate_sample(customers)
    partial = path.with_suffix(".partial")
    shop.orders.to_csv(partial, index=False, date_format="%Y-%m-%d %H:%M:%S")
    partial.rename(path)


def own_peak_mib() -> float:
    """This process's peak resident memory, MiB (every timed child starts from at least it)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_process(cmd: list[str], *, reports_seconds: bool = False) -> Run:
    """Run ``cmd`` to completion; its wall time and peak resident memory.

    With ``reports_seconds`` the seconds are the number the command prints last on stdout (the
    time of the step it measures itself) instead of the whole process's wall time.
    """
    start = time.perf_counter()
    out = subprocess.PIPE if reports_seconds else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{err[-3000:]}")
    if reports_seconds and proc.stdout is not None:
        seconds = float(proc.stdout.read().decode().split()[-1])
    return Run(seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def bare_cmd(csv: Path, db: Path) -> list[str]:
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
        f"c.execute({BARE_SQL!r}, [sys.argv[2]]); c.close()"
    )
    return [sys.executable, "-c", code, str(db), str(csv)]


def ours_cmd(csv: Path, db: Path) -> list[str]:
    return [
        sys.executable, "-m", "retention", "import", str(csv),
        "--table", "orders", "--db", str(db), "--no-fit",
    ]  # fmt: skip


DERIVED_CODE = """
import sys, time
from retention.ingest.derived import refresh_derived
from retention.store import Store
with Store(sys.argv[1]) as store:
    start = time.perf_counter()
    with store.transaction() as tx:
        refresh_derived(tx)
    print(time.perf_counter() - start)
"""


def derived_cmd(db: Path) -> list[str]:
    """Time the derived-table refresh alone on an already loaded database file."""
    return [sys.executable, "-c", DERIVED_CODE, str(db)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "import.md")
    parser.add_argument(
        "--write-csv", nargs=2, metavar=("CUSTOMERS", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    if args.write_csv:
        write_orders_csv(int(args.write_csv[0]), Path(args.write_csv[1]))
        return 0
    csv = orders_csv(args.orders)
    rows = sum(1 for _ in csv.open("rb")) - 1
    size_mib = csv.stat().st_size / 2**20
    print(f"{csv.name}: {rows:,} rows, {size_mib:,.0f} MiB", file=sys.stderr)

    bare = Result("bare DuckDB read_csv into a table", [])
    ours = Result("Retention Lab import", [])
    derived = Result("of which the derived-table refresh (separate process)", [])
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        for i in range(args.repeat):
            for result, make in ((bare, bare_cmd), (ours, ours_cmd)):
                db = Path(tmp) / f"run-{i}-{make.__name__}.duckdb"
                result.runs.append(timed_process(make(csv, db)))
                print(f"{result.name}: {result.runs[-1].seconds:.2f} s", file=sys.stderr)
                if result is ours:
                    derived.runs.append(timed_process(derived_cmd(db), reports_seconds=True))
                    print(f"{derived.name}: {derived.runs[-1].seconds:.2f} s", file=sys.stderr)
                db.unlink(missing_ok=True)
                Path(f"{db}.wal").unlink(missing_ok=True)
    results = [bare, ours, derived]

    table = (
        f"Orders CSV of {rows:,} rows ({size_mib:,.0f} MiB), {args.repeat} runs each, every run "
        f"a fresh database file in its own process.\nMachine: {machine()}.\n\n"
        "The derived-table refresh is part of the import's time; it is timed again on its own "
        f"(see the script's docstring). Peak memory is each process's own (the parent that "
        f"started them peaked at {own_peak_mib():,.0f} MiB).\n\n"
        "| command | seconds, median (min–max) | vs bare read_csv | peak memory MiB |\n"
        "|---|---:|---:|---:|\n"
        + "\n".join(r.row(results[0] if r is not results[0] else None) for r in results)
        + "\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
