"""Benchmark: every page of the app, whole, on a sample shop of about 1M (or 10M) orders.

    .venv/bin/python bench/run_app_pages.py [--orders 1000000] [--repeat 3] [--out FILE.md]

``bench/run_pages.py`` times the queries behind the pages against a bare DuckDB scan and the
pandas notebook; this script times what a user waits for: each page run by Streamlit's
``AppTest`` (the app's frame, sidebar, queries, charts and tables, in this process), on the
same cached shop database (``bench/.cache/shop-N.duckdb``, built by the sample generator).

- **cold**: the page's first run after Streamlit's caches are cleared (``st.cache_data`` and
  ``st.cache_resource``, so the database is opened again too): what the first visitor after
  an import or a restart waits for (libraries are imported by an untimed first pass);
- **warm**: the median of ``--repeat`` reruns of the same page in the same session, as when a
  user comes back to it (results cached on the data version).

The shop has no fitted models (the sample builder does not fit them), so the Customer value,
Model quality and Scenarios pages show their "fit the models first" state; their model work is
timed by ``bench/fit_models.py`` and ``bench/refit.py``. Every page must run without an
exception or error box, or the script stops. Prints a Markdown table and writes it to --out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import describe  # noqa: E402  (bench/machine.py, next to this script)

from retention.sample import build_sample_db  # noqa: E402

ORDERS_PER_CUSTOMER = 2.87  # the sample shop's average (retention/sample.py)
ENTRY = ROOT / "tests" / "app_entry.py"  # runs app.py from a folder without pages/
PAGES = (
    ("Overview", "pages/overview.py"),
    ("Cohorts", "pages/cohorts.py"),
    ("Churn", "pages/churn.py"),
    ("Conversion & AOV", "pages/conversion.py"),
    ("Customer value (no models)", "pages/value.py"),
    ("Model quality (no models)", "pages/model_quality.py"),
    ("Segments", "pages/segments.py"),
    ("Scenarios (no models)", "pages/scenarios.py"),
    ("Export", "pages/export.py"),
    ("Data", "pages/data.py"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    customers = int(args.orders / ORDERS_PER_CUSTOMER)
    cache = ROOT / "bench" / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / f"shop-{customers}.duckdb"
    if not db.exists():
        build_sample_db(db, customers)
    os.environ["RETENTION_DB"] = str(db)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # One untimed pass first: Python imports each library once per process (plotly, scipy,
    # statsmodels ...), a cost of the server's start, not of a page.
    at = AppTest.from_file(str(ENTRY), default_timeout=900)
    at.run()
    for _title, page in PAGES:
        at.switch_page(str(ROOT / page)).run()

    rows = []
    for title, page in PAGES:
        at = AppTest.from_file(str(ENTRY), default_timeout=900)
        at.run()
        st.cache_data.clear()
        st.cache_resource.clear()
        start = time.perf_counter()
        at.switch_page(str(ROOT / page)).run()
        cold = time.perf_counter() - start
        problems = [e.value for e in at.exception] + [e.value for e in at.error]
        if problems:
            raise SystemExit(f"{title}: {problems[0]}")
        warm = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - start)
        row = (
            f"| {title} | {cold:,.2f} | {statistics.median(warm):,.2f} "
            f"({min(warm):,.2f}–{max(warm):,.2f}) |"
        )
        print(row, flush=True)
        rows.append(row)

    table = (
        f"Every page run whole by Streamlit's AppTest on the sample shop of {customers:,} "
        f"customers (about {args.orders:,} orders); warm = median of {args.repeat} reruns.\n"
        f"Machine: {describe('streamlit', 'duckdb', 'pandas')}.\n\n"
        "| page | cold s (caches cleared) | warm s (min–max) |\n|---|---:|---:|\n"
        + "\n".join(rows)
        + "\n"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
    print("\n" + table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
