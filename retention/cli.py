"""Command line: the same functions as the app, from a terminal.

    python -m retention sample [--db PATH] [--customers N] [--seed S]
    python -m retention import FILE [--db PATH] [--table T] [--map SRC=DST ...] [--delimiter D]
                               [--decimal C] [--encoding E] [--date-format F]
    python -m retention fit [--db PATH] [--calibration-end DATE] [--horizon-days N]
                            [--unit day|week] [--margin M] [--discount-rate R] [--check]
    python -m retention segment save NAME --rules JSON [--description TEXT] [--replace] [--db PATH]
    python -m retention segment list [--db PATH]
    python -m retention segment delete NAME [--db PATH]
    python -m retention export --segment NAME [--db PATH] [--columns NAME ...]
                               [--format csv|xlsx|parquet] [--holdout-pct P] [--seed S]
                               [--out FILE] [--all-customers] [--delimiter , | ;] [--no-bom]
    python -m retention lift --export-id ID [--db PATH] [--end DATE] [--confidence C]
                             [--format text|json]
    python -m retention simulate --kind discount|loyalty --segment NAME [--param NAME=VALUE ...]
                                 [--horizon-days N] [--draws N] [--seed S] [--format text|json]
    python -m retention tables [--db PATH]
    python -m retention table NAME [--db PATH] [--period week|month|quarter] [--start DATE]
                              [--end DATE] [--channel C ...] [--country C ...]
                              [--days N] [--inactivity-days N] [--split none|channel|cohort]
                              [--format csv|json]

``--db`` defaults to ``$RETENTION_DB``, else the sample shop file. Exit codes: 0 success,
1 the import failed (nothing changed), 2 bad arguments or a question to answer (for example an
ambiguous date format).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from retention.paths import default_db_path
from retention.schema import IMPORTABLE_TABLES

__all__ = ["main", "build_parser"]

_ESCAPES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m retention",
        description="Retention Lab: customer retention analytics over one DuckDB file.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_db(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db",
            type=Path,
            default=None,
            help="DuckDB file (default: $RETENTION_DB, else sample_data/shop.duckdb)",
        )

    p_sample = sub.add_parser("sample", help="build the sample shop into the database file")
    add_db(p_sample)
    p_sample.add_argument("--customers", type=int, default=None, help="number of customers")
    p_sample.add_argument("--seed", type=int, default=None, help="random seed")
    p_sample.add_argument(
        "--no-fit", action="store_true", help="do not fit the models after building"
    )

    p_import = sub.add_parser("import", help="import a CSV, Parquet or Excel file")
    add_db(p_import)
    p_import.add_argument("file", type=Path, help="file to import (.csv, .parquet, .xlsx)")
    p_import.add_argument(
        "--table",
        choices=IMPORTABLE_TABLES,
        default=None,
        help="target table (default: guessed from the file's columns)",
    )
    p_import.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SRC=DST",
        help="map a file column to a table column; repeat for several (default: suggested)",
    )
    p_import.add_argument(
        "--delimiter", default=None, help="CSV delimiter: , ; tab (default: sniffed)"
    )
    p_import.add_argument("--decimal", default=None, choices=[".", ","], help="decimal mark")
    p_import.add_argument("--encoding", default=None, help="text encoding, e.g. utf-8, cp1251")
    p_import.add_argument(
        "--date-format", default=None, help="strftime format of dates, e.g. %%d.%%m.%%Y"
    )

    p_import.add_argument(
        "--no-fit",
        action="store_true",
        help="do not refit the models after the import (run `fit` later)",
    )

    p_fit = sub.add_parser(
        "fit", help="fit the purchase, spend and churn-risk models and store customer scores"
    )
    add_db(p_fit)
    p_fit.add_argument(
        "--calibration-end",
        type=_date,
        default=None,
        help="fit on orders up to this day, YYYY-MM-DD (default: all orders)",
    )
    p_fit.add_argument(
        "--horizon-days", type=int, default=None, help="prediction horizon (default: 365)"
    )
    p_fit.add_argument("--unit", choices=["day", "week"], default=None, help="model time unit")
    p_fit.add_argument(
        "--margin", type=float, default=None, help="gross margin share, e.g. 0.4 (default: 1)"
    )
    p_fit.add_argument(
        "--discount-rate", type=float, default=None, help="annual discount rate (default: 0.10)"
    )
    p_fit.add_argument(
        "--check",
        action="store_true",
        help="instead: the holdout check (fit up to --calibration-end, default 3/4 of the "
        "history, and compare with the orders after it)",
    )

    p_segment = sub.add_parser("segment", help="save, list or delete segments")
    segment_sub = p_segment.add_subparsers(dest="segment_command", required=True, metavar="ACTION")
    p_seg_save = segment_sub.add_parser("save", help="save a segment from rules (JSON)")
    add_db(p_seg_save)
    p_seg_save.add_argument("name", help="segment name")
    p_seg_save.add_argument(
        "--rules",
        required=True,
        help='rules as JSON, e.g. \'{"op": "and", "rules": [{"attribute": "recency_days", '
        '"operator": ">", "value": 90}]}\'',
    )
    p_seg_save.add_argument("--description", default="", help="what the segment is for")
    p_seg_save.add_argument(
        "--replace", action="store_true", help="overwrite the rules of an existing segment"
    )
    p_seg_list = segment_sub.add_parser("list", help="list saved segments with their sizes")
    add_db(p_seg_list)
    p_seg_delete = segment_sub.add_parser("delete", help="delete a saved segment")
    add_db(p_seg_delete)
    p_seg_delete.add_argument("name", help="segment name")

    _add_export_and_lift(sub, add_db)

    p_sim = sub.add_parser(
        "simulate", help="simulate a discount campaign or a loyalty programme on a segment"
    )
    add_db(p_sim)
    p_sim.add_argument("--kind", choices=["discount", "loyalty"], required=True)
    p_sim.add_argument("--segment", required=True, help="saved segment to target")
    p_sim.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a scenario input, e.g. discount=0.15 reach=0.6 uplift_low=0.05 uplift_high=0.2 "
        "margin=0.4 cost_per_contact=0.1 uplift_mode=reactivation (discount) or enrolment=0.3 "
        "points_per_unit=1 point_value=0.01 redemption=0.7 fixed_cost=5000 "
        "cost_per_member=1 (loyalty); repeat for several",
    )
    p_sim.add_argument("--horizon-days", type=int, default=None, help="default: the model's")
    p_sim.add_argument("--draws", type=int, default=2000, help="Monte Carlo draws")
    p_sim.add_argument("--seed", type=int, default=0)
    p_sim.add_argument("--format", choices=["text", "json"], default="text")

    p_tables = sub.add_parser("tables", help="list the tables and their row counts")
    add_db(p_tables)

    p_table = sub.add_parser(
        "table", help="print a page's main table (kpis, cohort-retention, churn, ...)"
    )
    add_db(p_table)
    p_table.add_argument("name", help="table name; run with an unknown name to list them")
    p_table.add_argument("--period", choices=["week", "month", "quarter"], default="month")
    p_table.add_argument("--start", type=_date, default=None, help="first day, YYYY-MM-DD")
    p_table.add_argument("--end", type=_date, default=None, help="last day, YYYY-MM-DD")
    p_table.add_argument("--channel", action="append", default=[], help="acquisition channel")
    p_table.add_argument("--country", action="append", default=[], help="country")
    p_table.add_argument("--days", type=int, default=None, help="kpis: period length in days")
    p_table.add_argument(
        "--inactivity-days", type=int, default=None, help="churn threshold in days"
    )
    p_table.add_argument(
        "--split",
        choices=["none", "channel", "cohort"],
        default=None,
        help="survival: curves per acquisition channel or cohort quarter",
    )
    p_table.add_argument("--format", choices=["csv", "json"], default="csv")
    return parser


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    db = args.db or default_db_path()
    try:
        if args.command == "sample":
            return _sample(db, args)
        if args.command == "import":
            return _import(db, args)
        if args.command == "fit":
            return _fit(db, args)
        if args.command == "segment":
            return _segment(db, args)
        if args.command == "simulate":
            return _simulate(db, args)
        if args.command == "export":
            return _export(db, args)
        if args.command == "lift":
            return _lift(db, args)
        if args.command == "tables":
            return _tables(db)
        if args.command == "table":
            return _table(db, args)
    except KeyboardInterrupt:
        print("interrupted; nothing was changed by the unfinished step", file=sys.stderr)
        return 130
    raise AssertionError(args.command)


def _missing(db: Path) -> bool:
    """True (after saying so) when the database file does not exist."""
    if db.exists():
        return False
    print(f"error: {db} does not exist", file=sys.stderr)
    return True


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def _sample(db: Path, args: argparse.Namespace) -> int:
    from retention.sample import DEFAULT_CUSTOMERS, DEFAULT_SEED, build_sample_db

    customers = args.customers if args.customers is not None else DEFAULT_CUSTOMERS
    seed = args.seed if args.seed is not None else DEFAULT_SEED
    if customers < 1:
        print("error: --customers must be at least 1", file=sys.stderr)
        return 2
    build_sample_db(db, customers, seed, progress=_progress)
    if not args.no_fit:
        from retention.models.runs import refresh_models
        from retention.store import Store

        with Store(db) as store:
            for message in refresh_models(store, progress=_progress):
                print(f"models: {message}", file=sys.stderr)
            store.checkpoint()
    return _tables(db)


def _parse_map(items: Sequence[str]) -> dict[str, str] | None:
    if not items:
        return None
    mapping: dict[str, str] = {}
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise ValueError(f"--map {item!r}: write it as SOURCE_COLUMN=TABLE_COLUMN")
        mapping[src.strip()] = dst.strip()
    return mapping


def _import(db: Path, args: argparse.Namespace) -> int:
    from retention.ingest.errors import AmbiguousDateFormat, IngestError
    from retention.ingest.load import LoadError, load_prepared
    from retention.ingest.mapping import suggest_table
    from retention.ingest.options import ReadOptions
    from retention.ingest.prepare import prepare_import
    from retention.ingest.readers import read_source
    from retention.store import Store, StoreError

    path: Path = args.file
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    try:
        mapping = _parse_map(args.map)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    delimiter = _ESCAPES.get(args.delimiter, args.delimiter) if args.delimiter else None
    options = ReadOptions(
        delimiter=delimiter,
        decimal=args.decimal,
        encoding=args.encoding,
        date_format=args.date_format,
    )
    data = path.read_bytes()
    try:
        table_name = args.table
        if table_name is None:
            # Keep only the column names: the text frame is several times the size of the file.
            columns = list(read_source(data, path.name, options, max_bytes=None).frame.columns)
            table_name = suggest_table(columns)
            print(f"table: {table_name} (guessed from the columns; set --table to choose)")
        prepared = prepare_import(
            data, path.name, table_name, options=options, mapping=mapping, max_bytes=None
        )
        del data  # the file's bytes; the load needs only the prepared frames
    except AmbiguousDateFormat as exc:
        formats = " or ".join(f"--date-format '{c}'" for c in exc.candidates)
        print(f"question: {exc}\nrun again with {formats}", file=sys.stderr)
        return 2
    except IngestError as exc:
        print(f"error: {exc}\nnothing was imported.", file=sys.stderr)
        return 1
    for warning in prepared.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        with Store(db) as store:
            report = load_prepared(store, prepared, progress=_progress)
            store.checkpoint()
    except (LoadError, StoreError) as exc:
        print(f"error: {exc}\nnothing was imported.", file=sys.stderr)
        _print_rejected(prepared.rejected)
        return 1
    print(f"rows read: {prepared.rows_read}")
    print(f"rows loaded: {report.rows_loaded}")
    print(f"rows rejected: {len(prepared.rejected)}")
    print(report.summary())
    _print_rejected(prepared.rejected)
    if not args.no_fit and report.already_imported_as is None:
        from retention.models.runs import refresh_models

        with Store(db) as store:
            for message in refresh_models(store, progress=_progress):
                print(f"models: {message}", file=sys.stderr)
    return 0


def _fit(db: Path, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from retention.models.runs import NoOrdersError, fit_scores, run_holdout
    from retention.models.settings import load_settings
    from retention.store import Store, StoreError

    if _missing(db):
        return 2
    overrides = {
        k: v
        for k, v in {
            "horizon_days": args.horizon_days,
            "unit": args.unit,
            "margin": args.margin,
            "annual_discount_rate": args.discount_rate,
        }.items()
        if v is not None
    }
    try:
        with Store(db) as store:
            settings = replace(load_settings(store), **overrides)
            if args.check:
                run = run_holdout(
                    store,
                    calibration_end=args.calibration_end,
                    settings=settings,
                    progress=_progress,
                )
            else:
                run = fit_scores(
                    store,
                    calibration_end=args.calibration_end,
                    settings=settings,
                    progress=_progress,
                )
            store.checkpoint()
    except (NoOrdersError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"model run {run.run_id} ({run.purpose}), orders up to {run.calibration_end}")
    bg = run.bgnbd
    unit = bg.get("unit", settings.unit)
    params = ", ".join(f"{k} = {v:.4g}" for k, v in bg["params"].items())
    print(f"BG/NBD ({unit}s): {params}; log-likelihood {bg['log_likelihood']:.2f}")
    if run.gamma_gamma:
        gg = run.gamma_gamma
        params = ", ".join(f"{k} = {v:.4g}" for k, v in gg["params"].items())
        print(f"Gamma-Gamma: {params}; log-likelihood {gg['log_likelihood']:.2f}")
    if run.churn_risk:
        metrics = run.churn_risk.get("metrics", {})
        auc = metrics.get("auc_model")
        if auc is not None:
            print(f"churn risk: ROC AUC {auc:.3f} on the later time split")
    for sentence in run.summary.get("verdict", []):
        print(sentence)
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{run.seconds:.1f} s")
    return 0


def _print_rejected(rejected: object, limit: int = 10) -> None:
    import pandas as pd

    assert isinstance(rejected, pd.DataFrame)
    if rejected.empty:
        return
    print(f"first rejected rows (of {len(rejected)}):", file=sys.stderr)
    for row in rejected.head(limit).itertuples(index=False):
        print(f"  line {row.line_number}: {row.reason}", file=sys.stderr)


def _scenario_inputs(kind: str, items: Sequence[str]) -> dict[str, object]:
    """--param NAME=VALUE pairs as the scenario's inputs (numbers where they parse)."""
    values: dict[str, object] = {"kind": kind}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param {item!r}: write it as NAME=VALUE")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            values[name.strip()] = text.strip()
    return values


def _simulate(db: Path, args: argparse.Namespace) -> int:
    import json

    from retention.scenarios import scenario_from_dict, segment_baseline, simulate
    from retention.segments.saved import SegmentError, get_segment
    from retention.store import Store, StoreError

    if _missing(db):
        return 2
    try:
        scenario = scenario_from_dict(_scenario_inputs(args.kind, args.param))
        with Store(db, read_only=True) as store:
            segment = get_segment(store, args.segment)
            baseline = segment_baseline(store, segment.segment_id, horizon_days=args.horizon_days)
        result = simulate(baseline, scenario, draws=args.draws, seed=args.seed)
    except (ValueError, TypeError, SegmentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=1, allow_nan=False) + "\n")
        return 0
    level = f"{result.interval:.0%}"
    print(
        f"{args.kind} scenario on {segment.name!r}: {result.customers:,} customers, "
        f"{result.horizon_days} days, {args.draws:,} draws (seed {args.seed})"
    )
    print(f"{'outcome':<28} {'estimate':>14} {level + ' interval':>30}")
    for name, row in result.summary.iterrows():
        print(f"{name:<28} {row['estimate']:>14,.2f} {row['low']:>14,.2f} to {row['high']:>12,.2f}")
    print(f"probability of losing money: {result.p_loss:.1%}")
    if result.break_even_uplift is None:
        print("break-even uplift: none within the allowed range")
    else:
        print(f"break-even uplift: {result.break_even_uplift:.2%}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _segment(db: Path, args: argparse.Namespace) -> int:
    from retention.segments.rules import RuleError
    from retention.segments.saved import (
        SegmentError,
        delete_segment,
        list_segments,
        save_segment,
        update_segment,
    )
    from retention.store import Store, StoreError

    if _missing(db):
        return 2
    try:
        if args.segment_command == "list":
            with Store(db, read_only=True) as store:
                segments = list_segments(store)
            if not segments:
                print("no segments saved yet; save one with `segment save NAME --rules JSON`")
            for seg in segments:
                print(f"{seg.name}\t{seg.customers:,} customers\t{seg.rules.describe()}")
            return 0
        with Store(db) as store:
            if args.segment_command == "delete":
                delete_segment(store, args.name)
                print(f"deleted segment {args.name!r}")
                return 0
            exists = args.name.strip() in {s.name for s in list_segments(store)}
            if exists and args.replace:
                seg = update_segment(store, args.name, rules=args.rules,
                                     description=args.description or None)  # fmt: skip
            else:
                seg = save_segment(store, args.name, args.rules, args.description)
            print(f"saved segment {seg.name!r}: {seg.customers:,} customers")
            print(f"rules: {seg.rules.describe()}")
            return 0
    except (RuleError, SegmentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _tables(db: Path) -> int:
    from retention.store import Store, StoreError

    if not db.exists():
        print(
            f"error: {db} does not exist; build the sample shop with "
            f"`python -m retention sample --db {db}` or import a file",
            file=sys.stderr,
        )
        return 2
    try:
        with Store(db, read_only=True) as store:
            counts = store.table_counts()
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    width = max(len(t) for t in counts["table"])
    print(f"{'table'.ljust(width)}  rows")
    for row in counts.itertuples(index=False):
        print(f"{row.table.ljust(width)}  {row.rows:,}")
    return 0


def _table(db: Path, args: argparse.Namespace) -> int:
    import retention.metrics  # noqa: F401  (registers every table)
    from retention.filters import Filters
    from retention.metrics.tables import TABLE_REGISTRY, TableRequest, build_table
    from retention.store import Store, StoreError

    if args.name not in TABLE_REGISTRY:
        known = "\n".join(
            f"  {spec.name}: {spec.description}"
            for spec in sorted(TABLE_REGISTRY.values(), key=lambda s: s.name)
        )
        print(f"error: unknown table {args.name!r}; the tables are:\n{known}", file=sys.stderr)
        return 2
    if _missing(db):
        return 2
    try:
        filters = Filters(
            start=args.start,
            end=args.end,
            channels=tuple(args.channel),
            countries=tuple(args.country),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    params = {
        k: v
        for k, v in {
            "days": args.days,
            "inactivity_days": args.inactivity_days,
            "split": args.split,
        }.items()
        if v is not None
    }
    request = TableRequest(period=args.period, filters=filters, params=params)
    from retention.metrics.value import NoModelRunError

    try:
        with Store(db, read_only=True) as store:
            frame = build_table(store, args.name, request)
    except NoModelRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", indent=1))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(frame.to_csv(index=False))
    return 0


# --- export and lift ------------------------------------------------------------------------


def _add_export_and_lift(sub: argparse._SubParsersAction, add_db: Callable[..., None]) -> None:
    p_export = sub.add_parser(
        "export", help="write a segment's target list (CSV, Excel, Parquet) with a holdout group"
    )
    add_db(p_export)
    p_export.add_argument("--segment", required=True, help="name of a saved segment")
    p_export.add_argument(
        "--columns",
        nargs="+",
        default=None,
        metavar="NAME",
        help="columns in the file, by name (spaces or commas); group is always included "
        "(default: all but accepts_marketing)",
    )
    p_export.add_argument("--format", choices=["csv", "xlsx", "parquet"], default="csv")
    p_export.add_argument(
        "--holdout-pct",
        type=float,
        default=10.0,
        help="share of the list held out (not contacted) to measure lift, in %% (default: 10)",
    )
    p_export.add_argument("--seed", type=int, default=0, help="seed of the holdout draw")
    p_export.add_argument(
        "--out",
        type=Path,
        default=None,
        help="file to write (default: <segment>-<today>.<format> in the current folder)",
    )
    p_export.add_argument(
        "--all-customers",
        action="store_true",
        help="include customers who do not accept marketing (default: only those who do)",
    )
    p_export.add_argument(
        "--delimiter",
        choices=[",", ";", "comma", "semicolon"],
        default=",",
        metavar="D",
        help="CSV delimiter: , or ; (default: ,)",
    )
    p_export.add_argument(
        "--no-bom", action="store_true", help="CSV without the UTF-8 byte-order mark Excel uses"
    )

    p_lift = sub.add_parser(
        "lift", help="lift of a recorded export: orders of target vs holdout since the export"
    )
    add_db(p_lift)
    p_lift.add_argument("--export-id", type=int, required=True, help="export number")
    p_lift.add_argument(
        "--end", type=_date, default=None, help="last day counted (default: last order day)"
    )
    p_lift.add_argument(
        "--confidence", type=float, default=0.95, help="interval level (default: 0.95)"
    )
    p_lift.add_argument("--format", choices=["text", "json"], default="text")


def _export(db: Path, args: argparse.Namespace) -> int:
    import os
    import tempfile

    from retention.segments.saved import SegmentError
    from retention.store import Store, StoreError
    from retention.targets import (
        DEFAULT_COLUMNS,
        TargetError,
        build_target_list,
        default_file_name,
        record_export,
        write_target_file,
    )

    if _missing(db):
        return 2
    columns = (
        [c for item in args.columns for c in item.split(",") if c.strip()]
        if args.columns
        else DEFAULT_COLUMNS
    )
    delimiter = _ESCAPES.get(args.delimiter, args.delimiter)
    try:
        with Store(db) as store:
            targets = build_target_list(
                store,
                args.segment,
                columns,
                marketing_only=not args.all_customers,
                holdout_pct=args.holdout_pct,
                seed=args.seed,
            )
            if targets.customers == 0:
                why = (
                    f"; {targets.excluded_no_consent:,} members do not accept marketing "
                    "(--all-customers includes them)"
                    if targets.excluded_no_consent
                    else ""
                )
                print(
                    f"error: segment {targets.segment_name!r} has no customer to export{why}. "
                    "Nothing was written.",
                    file=sys.stderr,
                )
                return 1
            data = write_target_file(
                targets.frame, args.format, delimiter=delimiter, bom=not args.no_bom
            )
            out: Path = args.out or Path.cwd() / default_file_name(
                targets.segment_name, args.format, date.today()
            )
            # Write under a temporary name and rename, so a failed export leaves no half file.
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                export_id = record_export(
                    store, targets, columns=list(targets.frame.columns), file_format=args.format
                )
                os.replace(tmp, out)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except (SegmentError, TargetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (StoreError, OSError) as exc:
        print(f"error: {exc}\nnothing was exported.", file=sys.stderr)
        return 1
    settings = targets.settings
    print(f"wrote {out} ({args.format}, {len(data):,} bytes)")
    print(
        f"export {export_id}: segment {targets.segment_name!r}, {targets.customers:,} customers: "
        f"{targets.target:,} target, {targets.holdout:,} holdout "
        f"({settings.holdout_pct:g}%, seed {settings.seed})"
    )
    if settings.marketing_only:
        print(f"excluded (no marketing consent): {targets.excluded_no_consent:,}")
    else:
        print("excluded: none (--all-customers: consent not checked)")
    print(
        "contact only the rows with group=target; measure the lift later with "
        f"`python -m retention lift --export-id {export_id}`"
    )
    return 0


def _signed(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, "+" + fmt)


def _lift(db: Path, args: argparse.Namespace) -> int:
    import json

    from retention.lift import export_lift
    from retention.store import Store, StoreError
    from retention.targets import ExportNotFoundError

    if _missing(db):
        return 2
    try:
        with Store(db, read_only=True) as store:
            lift = export_lift(store, args.export_id, end=args.end, confidence=args.confidence)
    except (ExportNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(json.dumps(lift.to_dict(), indent=1, ensure_ascii=False))
        sys.stdout.write("\n")
    else:
        made = lift.created_at.date().isoformat()
        data_day = lift.data_last_day.isoformat() if lift.data_last_day else "no orders"
        print(
            f"export {lift.export_id}: segment {lift.segment_name!r}, made {made} "
            f"from orders up to {data_day}"
        )
        if lift.start is not None and lift.end is not None:
            print(f"orders from {lift.start} to {lift.end} ({lift.days} days)")
        print(f"{'group':<8} {'customers':>9} {'buyers':>7} {'repeat-purchase rate':>21} "
              f"{'revenue per customer':>21}")  # fmt: skip
        for g in (lift.target, lift.holdout):
            rate = "n/a" if g.repeat_purchase_rate is None else f"{g.repeat_purchase_rate:.1%}"
            rpc = "n/a" if g.revenue_per_customer is None else f"{g.revenue_per_customer:,.2f}"
            print(f"{g.group:<8} {g.customers:>9,} {g.buyers:>7,} {rate:>21} {rpc:>21}")
        level = f"{lift.confidence:.0%}"
        for est, scale, fmt, unit in (
            (lift.repeat_purchase_rate, 100.0, ".1f", " points"),
            (lift.revenue_per_customer, 1.0, ",.2f", ""),
        ):
            if est.difference is None:
                print(f"{est.label.lower()} lift: not measurable")
                continue
            diff = _signed(est.difference * scale, fmt)
            text = f"{est.label.lower()} lift: {diff}{unit}"
            if est.low is not None and est.high is not None:
                low, high = _signed(est.low * scale, fmt), _signed(est.high * scale, fmt)
                text += f" ({level} CI {low} to {high})"
            if est.relative_pct is not None:
                text += f", relative {est.relative_pct:+.1f}%"
            if est.p_value is not None:
                text += f", p = {est.p_value:.3g}"
            print(text)
    for warning in lift.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
