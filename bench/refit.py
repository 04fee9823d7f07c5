"""Benchmark: the app's whole model refit after an import, on the sample shop.

    .venv/bin/python bench/refit.py [--customers 348432] [--repeat 3] [--code DIR ...]
        [--out bench/results/refit.md]

What users wait for after an import is ``retention.models.runs.refresh_models`` (the CLI's
``import`` and the Data page call it once the orders are loaded): a scores run
(``fit_scores``: RFM summary, BG/NBD and Gamma-Gamma fits, per-customer predictions with
intervals and the cohort × channel × country cells, the churn-risk model with its
evaluation, writing ``customer_scores``, ``score_cells`` and segment members) and then the
holdout check (``run_holdout``, with the churn model evaluated at the same date).
``bench/fit_models.py`` times only the two model fits inside it.

Data: the sample shop (``retention.sample.build_sample_db``, seed 42) with N customers,
about 2.87 orders each (348,432 customers = 1M orders), built once into ``bench/.cache/`` and
never written to afterwards. Every run copies it to a fresh file in a temporary folder and
runs, in a fresh process, the refit the import runs::

    with Store(db) as store:
        refresh_models(store)
    store.checkpoint()

timed as a whole process (launch to exit, with Python start, imports and opening the file)
and as the refit alone (the seconds the process prints), with the process's CPU time and
peak resident memory from ``os.wait4``. With ``--code DIR`` (repeatable) the same runs use the
``retention`` package found in DIR instead (e.g. an earlier commit unpacked by
``git archive``), interleaved round-robin with the others, so that two versions are compared
under the same load. The 1-minute load average is noted before every run.

Prints a Markdown table (medians, min–max, peak memory) and writes it to --out.
"""

from __future__ import annotations

import argparse
import os
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
ORDERS_PER_CUSTOMER = 2.87  # the sample shop's average (retention/sample.py)

REFIT_CODE = """
import sys, time
start = time.perf_counter()
from retention.models.runs import refresh_models
from retention.store import Store
with Store(sys.argv[1]) as store:
    begin = time.perf_counter()
    messages = refresh_models(store)
    store.checkpoint()
    refit = time.perf_counter() - begin
for message in messages:
    print(message, file=sys.stderr)
if not any(m.startswith("holdout check stored") for m in messages):
    raise SystemExit("the refit did not store both runs")
print(refit)
"""


@dataclass
class Run:
    process_s: float
    refit_s: float
    cpu_s: float
    peak_mib: float
    load: float


@dataclass
class Version:
    name: str
    code: Path
    runs: list[Run] = field(default_factory=list)

    def row(self) -> str:
        def stat(values: list[float]) -> str:
            return f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f})"

        refit = [r.refit_s for r in self.runs]
        process = [r.process_s for r in self.runs]
        cpu = [r.cpu_s for r in self.runs]
        peak = max(r.peak_mib for r in self.runs)
        loads = [r.load for r in self.runs]
        return (
            f"| {self.name} | {stat(refit)} | {stat(process)} | {stat(cpu)} | {peak:,.0f} "
            f"| {min(loads):.1f}–{max(loads):.1f} |"
        )


def machine() -> str:
    from machine import describe  # bench/machine.py, next to this script

    return describe("duckdb", "numpy", "scipy", "pandas", "sklearn")


def shop_db(customers: int) -> Path:
    """The sample shop with ``customers`` customers (built once into the cache, then only
    read: every run works on a copy)."""
    path = CACHE / f"shop-{customers}.duckdb"
    if path.exists():
        return path
    from retention.sample import build_sample_db

    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"building a sample shop of {customers:,} customers ...", file=sys.stderr)
    return build_sample_db(path, customers)


def timed_refit(code: Path, db: Path) -> Run:
    """One refit in a fresh process on ``db``: wall time, printed refit time, peak RSS."""
    load = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": str(code)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", REFIT_CODE, str(db)],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Read the pipes before waiting so a chatty child never blocks on a full pipe.
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code_ = os.waitstatus_to_exitcode(status)
    if code_ != 0:
        raise SystemExit(f"refit failed (exit {code_}):\n{err.decode(errors='replace')[-3000:]}")
    refit = float(out.decode().split()[-1])
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, refit, cpu, usage.ru_maxrss / 1024, load)  # ru_maxrss: KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=348_432)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--code",
        type=Path,
        action="append",
        default=[],
        help="a folder with another version of the retention package, compared round-robin",
    )
    parser.add_argument(
        "--shop",
        type=Path,
        default=None,
        help="copy this shop file for every run instead of the cached sample shop (only read)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "refit.md")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    source = args.shop or shop_db(args.customers)
    import duckdb

    with duckdb.connect(str(source), read_only=True) as con:
        orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]  # type: ignore[index]
        customers = con.execute(
            "SELECT count(DISTINCT customer_id) FROM orders WHERE customer_id IS NOT NULL"
        ).fetchone()[0]  # type: ignore[index]
    versions = [Version("this checkout", ROOT)] + [
        Version(f"`{path}`", path.resolve()) for path in args.code
    ]
    with tempfile.TemporaryDirectory(prefix="bench-refit-") as tmp:
        for i in range(args.repeat):
            for version in versions:
                db = Path(tmp) / f"run-{i}.duckdb"
                shutil.copyfile(source, db)
                version.runs.append(timed_refit(version.code, db))
                run = version.runs[-1]
                print(
                    f"{version.name}: refit {run.refit_s:.1f} s, process {run.process_s:.1f} s, "
                    f"CPU {run.cpu_s:.1f} s, peak {run.peak_mib:,.0f} MiB, load {run.load:.1f}",
                    file=sys.stderr,
                )
                db.unlink(missing_ok=True)
                Path(f"{db}.wal").unlink(missing_ok=True)

    table = (
        f"Refit after an import (`refresh_models`: scores run + holdout check) on the sample "
        f"shop `{source.name}`: {customers:,} customers with orders, {orders:,} orders, "
        f"{args.repeat} runs per version, each on a fresh copy of the database file in its "
        "own process.\n"
        f"Machine: {machine()}.\n\n"
        "**refit** is `refresh_models` and the checkpoint (the seconds the process prints); "
        "**process** is launch to exit (Python start, imports, opening the file, refit); "
        "**CPU** is the process's user + system CPU seconds (`os.wait4`), which the other "
        "work on the machine disturbs less than the wall time. "
        "Peak memory is the process's maximum resident set (`os.wait4`). Load is the 1-minute "
        "load average before each run (the machine is shared).\n\n"
        "| code | refit s, median (min–max) | process s | CPU s | peak MiB | load |\n"
        "|---|---:|---:|---:|---:|---:|\n" + "\n".join(v.row() for v in versions) + "\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
