"""The whole benchmark suite in one command: page queries, whole pages, import, model fits, at
one shop size, and a 1M-row export.

    .venv/bin/python bench/run_all.py [--orders 1000000] [--quick] [--out bench/results/all.md]

Runs, one after the other (never in parallel: the timings would disturb each other):

1. ``bench/run_pages.py``: each page's queries, cold and warm, against a bare DuckDB scan of the
   same rows and against the pandas notebook computation (tutorial and tuned cohort matrix);
2. ``bench/run_app_pages.py``: every page run whole by Streamlit's AppTest, cold (caches
   cleared) and warm, on the same shop;
3. ``bench/import_csv.py``: an orders CSV imported by Retention Lab against a bare DuckDB
   ``read_csv`` into a table, with peak memory;
4. ``bench/fit_models.py``: BG/NBD + Gamma-Gamma against lifetimes and pymc-marketing (MAP),
   in their own environment (built on first run under ``bench/.cache/``);
5. ``bench/export_rows.py``: a target list of 1,000,000 customers exported by Retention Lab
   (CSV and Parquet, holdout drawn, export recorded) against the pandas notebook that reads the
   same rows and writes them, with peak memory. Always 1M rows (a sample shop of 1M customers,
   about 2.87M orders), whatever --orders says: the issue asks for a 1M-row export.

Each script writes its own table under ``bench/results/``; this one prints them together, with
the commands and the wall time of each part, and writes them to --out. ``--quick`` uses fewer
repeats (for a first look, not for figures to quote).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ORDERS_PER_CUSTOMER = 2.87  # the sample shop's average (retention/sample.py)
EXPORT_CUSTOMERS = 1_000_000  # the export part's list size, whatever the shop size


def parts(orders: int, quick: bool) -> list[tuple[str, list[str], Path]]:
    """(title, command, the Markdown file it writes) for each part of the suite."""
    suffix = "" if orders == 1_000_000 else f"-{orders // 1_000_000 or orders}m"
    repeat = "2" if quick else "5"
    customers = str(int(orders / ORDERS_PER_CUSTOMER))
    pages = RESULTS / f"pages{suffix}.md"
    imported = RESULTS / f"import{suffix}.md"
    # Always suffixed: fit.md holds the 1M-customer run (bench/fit_models.py's default).
    fits = RESULTS / f"fit-{orders // 1_000_000 or orders}m.md"
    app_pages = RESULTS / f"app-pages{suffix}.md"
    exported = RESULTS / "export.md"
    py = sys.executable
    return [
        (
            "Page queries",
            [py, "bench/run_pages.py", "--orders", str(orders), "--repeat", repeat,
             "--out", str(pages)],
            pages,
        ),
        (
            "Pages, whole (AppTest)",
            [py, "bench/run_app_pages.py", "--orders", str(orders),
             "--repeat", "1" if quick else "3", "--out", str(app_pages)],
            app_pages,
        ),
        (
            "Import",
            [py, "bench/import_csv.py", "--orders", str(orders),
             "--repeat", "1" if quick else "3", "--out", str(imported)],
            imported,
        ),
        (
            "Model fits",
            [py, "bench/fit_models.py", "--customers", customers, "--repeat", repeat,
             "--peer-repeat", "1" if quick else "3", "--out", str(fits)],
            fits,
        ),
        (
            "Export (1M rows)",
            [py, "bench/export_rows.py", "--customers", str(EXPORT_CUSTOMERS),
             "--repeat", "1" if quick else "3", *(["--no-profile"] if quick else []),
             "--out", str(exported)],
            exported,
        ),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a first look")
    parser.add_argument("--out", type=Path, default=RESULTS / "all.md")
    args = parser.parse_args()

    sections = [f"# Benchmarks at about {args.orders:,} orders\n"]
    failed = 0
    for title, cmd, out in parts(args.orders, args.quick):
        shown = " ".join(Path(c).name if c == sys.executable else c for c in cmd)
        print(f"== {title}: {shown}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT)
        took = time.perf_counter() - start
        if proc.returncode != 0:
            failed += 1
            sections.append(f"## {title}\n\nFailed (exit {proc.returncode}): `{shown}`\n")
            continue
        body = out.read_text() if out.exists() else "(no table written)\n"
        sections.append(f"## {title}\n\n`{shown}` ({took / 60:,.1f} min)\n\n{body}")
    report = "\n".join(sections)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
