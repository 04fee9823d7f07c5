"""The import pipeline up to the database: read, map, validate, type. Nothing is written here.

``prepare_import`` turns a file's bytes into a :class:`PreparedImport`: the valid rows typed
by the table's contract, the rejected rows with a reason each, warnings, and (for a Shopify
orders export) the related ``order_items`` and ``customers`` frames. Whole-file problems raise
:class:`~retention.ingest.errors.IngestError` with a message that says what to fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa

from retention.ingest.errors import IngestError, MappingError
from retention.ingest.mapping import (
    SYNONYMS,
    collapse_shopify_orders,
    is_shopify_orders_export,
    normalise_header,
    shopify_column,
    shopify_status,
    suggest_mapping,
)
from retention.ingest.options import MAX_UPLOAD_BYTES, ReadOptions
from retention.ingest.readers import SourceFrame, delimiter_name, read_source, sniff_delimiter
from retention.ingest.validate import (
    Rejections,
    check_field_sizes,
    check_rows,
    coerce,
    finalize,
    parse_amounts,
    parse_bools,
    parse_counts,
    reject_duplicate_keys,
    rejected_frame,
    stage,
)
from retention.schema import IMPORTABLE_TABLES, Table, table

__all__ = ["PreparedImport", "prepare_import", "resolve_mapping"]


@dataclass(frozen=True)
class PreparedImport:
    """A file read, mapped and validated, ready to load.

    ``valid`` has exactly the table's columns (id/text: pandas ``str`` dtype with NA;
    timestamp/date: ``datetime64[us]``, UTC-naive; money: float64; count/int: int64, Int64
    when nullable; bool: bool), one row per key. ``rejected`` has line_number, raw (JSON of
    source column to text) and reason, sorted by line.
    """

    table: str
    source_name: str
    source_format: str
    file_sha256: str
    file_bytes: int
    options: ReadOptions
    mapping: dict[str, str]
    rows_read: int
    valid: pd.DataFrame
    rejected: pd.DataFrame
    related: dict[str, pd.DataFrame]
    warnings: tuple[str, ...]
    is_shopify: bool


def prepare_import(
    data: bytes,
    source_name: str,
    table: str,
    *,
    options: ReadOptions = ReadOptions(),  # noqa: B008 - frozen, so a safe default
    mapping: Mapping[str, str] | None = None,
    today: date | None = None,
    max_bytes: int | None = MAX_UPLOAD_BYTES,
) -> PreparedImport:
    """Read, map and validate ``data`` for ``table``; see the module docstring.

    ``mapping`` is source column -> canonical column (None: suggest one from the headers);
    ``today`` is the day after which dates count as future (default: today in UTC).
    """
    prepared = _prepare(data, source_name, table, options, mapping, today, max_bytes)
    # Arrow's allocator keeps the blocks of the freed text frames for reuse; the load that
    # follows allocates in DuckDB, which cannot use them, so hand them back to the system
    # (at 1M orders the import's peak memory drops by a quarter).
    pa.default_memory_pool().release_unused()
    return prepared


def _prepare(
    data: bytes,
    source_name: str,
    table: str,
    options: ReadOptions,
    mapping: Mapping[str, str] | None,
    today: date | None,
    max_bytes: int | None,
) -> PreparedImport:
    contract = _contract(table)
    source = read_source(data, source_name, options, max_bytes=max_bytes)
    columns = [str(c) for c in source.frame.columns]
    _check_delimiter(source, contract, source_name)
    applied = resolve_mapping(columns, table, mapping)
    day = today or datetime.now(UTC).date()
    shopify = (
        table == "orders"
        and is_shopify_orders_export(columns)
        and normalise_header(_source_of(applied, "order_id")) == "name"
    )
    frame, lines = source.frame, source.line_numbers
    if shopify:
        frame, lines = collapse_shopify_orders(frame, lines, _source_of(applied, "order_id"))
    rejections = Rejections(frame.index)
    check_field_sizes(frame, rejections)
    staged = stage(frame, applied)
    if shopify:
        staged = _shopify_stage(staged, frame, applied)
    decimal = source.options.decimal or "."
    typed, warnings = coerce(
        staged,
        contract,
        rejections,
        decimal=decimal,
        date_format=source.options.date_format,
        sources={dst: src for src, dst in applied.items()},
    )
    if shopify:
        _shopify_refunds(typed, frame, applied, rejections, decimal)
    warnings += check_rows(staged, typed, contract, rejections, day)
    del staged  # the text copy of every mapped column; only the typed values are used now
    reject_duplicate_keys(typed, contract, lines, rejections)
    if table != "orders" and is_shopify_orders_export(columns):
        warnings.append(
            "This is a Shopify orders export: import it into orders instead, and its order "
            "items and customers are imported with it."
        )
    alive = ~rejections.mask
    related: dict[str, pd.DataFrame] = {}
    if shopify:
        related, notes = _shopify_related(source, frame[alive], typed[alive], decimal)
        warnings += notes
    return PreparedImport(
        table=table,
        source_name=source_name,
        source_format=source.source_format,
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_bytes=len(data),
        options=source.options,
        mapping=dict(applied),
        rows_read=source.rows_read,
        valid=finalize(typed if alive.all() else typed[alive], contract),
        rejected=rejected_frame(frame, lines, rejections, source.problems),
        related=related,
        warnings=tuple(warnings),
        is_shopify=shopify,
    )


def _contract(name: str) -> Table:
    if name not in IMPORTABLE_TABLES:
        raise IngestError(
            f"cannot import into {name!r}; choose one of: {', '.join(IMPORTABLE_TABLES)}"
        )
    return table(name)


def _source_of(mapping: Mapping[str, str], target: str) -> str:
    return next((src for src, dst in mapping.items() if dst == target), "")


def _names(columns: Sequence[str], limit: int = 25) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _check_delimiter(source: SourceFrame, contract: Table, source_name: str) -> None:
    """One column where the table needs several: the delimiter is almost surely wrong."""
    columns = [str(c) for c in source.frame.columns]
    if source.source_format != "csv" or len(columns) != 1:
        return
    header = columns[0]
    guess = sniff_delimiter(header + "\n")
    needs = contract.required_columns
    if len(needs) < 2 and guess == source.options.delimiter:
        return
    used = delimiter_name(source.options.delimiter or ",")
    seems = (
        f"the file seems to use {delimiter_name(guess)}, so set the delimiter to "
        f"{delimiter_name(guess)} (or leave it empty to detect it)"
        if guess != source.options.delimiter
        else "check that the file is a table with one column per field, and set the delimiter"
    )
    raise IngestError(
        f"{source_name}: found 1 column ({header[:80]!r}) reading with delimiter {used}, but "
        f"{contract.name} needs several ({', '.join(needs)}); {seems}."
    )


def resolve_mapping(
    columns: Sequence[str], table_name: str, mapping: Mapping[str, str] | None
) -> dict[str, str]:
    """Check a mapping against the file and the table (None: suggest one). Raises MappingError."""
    contract = _contract(table_name)
    applied = (
        suggest_mapping(columns, table_name)
        if mapping is None
        else {str(s): str(d) for s, d in mapping.items() if d}
    )
    unknown = [s for s in applied if s not in columns]
    if unknown:
        raise MappingError(
            f"the mapping names file column {unknown[0]!r}, which is not in the file. "
            f"The file's columns: {_names(columns)}. Map one of those instead."
        )
    targets = [d for d in applied.values() if d not in contract.column_names]
    if targets:
        raise MappingError(
            f"{targets[0]!r} is not a column of {table_name}; its columns are "
            f"{', '.join(contract.column_names)}. Fix the mapping."
        )
    seen: dict[str, str] = {}
    for src, dst in applied.items():
        if dst in seen:
            raise MappingError(
                f"file columns {seen[dst]!r} and {src!r} are both mapped to {dst}; "
                "map only one of them."
            )
        seen[dst] = src
    missing = [c for c in contract.required_columns if c not in seen]
    if missing:
        name = missing[0]
        hints = ", ".join(SYNONYMS.get(table_name, {}).get(name, (name,))[:5])
        raise MappingError(
            f"required column {name!r} of {table_name} is not mapped: no file column is named "
            f"like it (for example {hints}). The file's columns: {_names(columns)}. "
            f"Map one of them to {name}, or rename it in the file."
        )
    return applied


# -- Shopify --------------------------------------------------------------------------------


def _shopify_stage(
    staged: pd.DataFrame, frame: pd.DataFrame, mapping: Mapping[str, str]
) -> pd.DataFrame:
    """Shopify's status rule, and e-mails as customer ids in lower case."""
    staged = staged.copy()
    if normalise_header(_source_of(mapping, "status")) == "financialstatus":
        status = shopify_status(frame)
        if status is not None:
            staged["status"] = status
    if normalise_header(_source_of(mapping, "customer_id")) == "email":
        staged["customer_id"] = staged["customer_id"].str.lower()
    return staged


def _shopify_refunds(
    typed: pd.DataFrame,
    frame: pd.DataFrame,
    mapping: Mapping[str, str],
    rejections: Rejections,
    decimal: str,
) -> None:
    """revenue = Subtotal - Refunded Amount (in place)."""
    refunded_text = shopify_column(frame, "Refunded Amount")
    if normalise_header(_source_of(mapping, "revenue")) != "subtotal" or refunded_text is None:
        return
    refunded = parse_amounts(refunded_text, decimal)
    bad = refunded_text.notna() & refunded.isna()
    rejections.add(
        bad, "amount '" + refunded_text.str.slice(0, 60) + "' in 'Refunded Amount' is not a number"
    )
    typed["revenue"] = typed["revenue"] - refunded.fillna(0.0)


def _shopify_related(
    source: SourceFrame, orders_text: pd.DataFrame, orders: pd.DataFrame, decimal: str
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """order_items and customers of the valid orders, typed by their contracts."""
    items, notes = _shopify_items(source, set(orders["order_id"].dropna()), decimal)
    related = {"order_items": items}
    customers = _shopify_customers(orders_text, orders)
    if not customers.empty:
        related["customers"] = customers
    return related, notes


def _shopify_items(
    source: SourceFrame, order_ids: set[str], decimal: str
) -> tuple[pd.DataFrame, list[str]]:
    frame = source.frame
    order = shopify_column(frame, "Name")
    assert order is not None  # a Shopify export always has Name
    keep = order.isin(order_ids).to_numpy()
    frame, order, lines = frame[keep], order[keep], source.line_numbers[keep]
    sku = shopify_column(frame, "Lineitem sku")
    name = shopify_column(frame, "Lineitem name")
    empty = pd.Series(pd.NA, index=frame.index, dtype="str")
    product_id = (sku if sku is not None else empty).fillna(name if name is not None else empty)
    qty_text = shopify_column(frame, "Lineitem quantity")
    price_text = shopify_column(frame, "Lineitem price")
    disc_text = shopify_column(frame, "Lineitem discount")
    quantity = parse_counts(qty_text if qty_text is not None else empty, decimal)[0]
    price = parse_amounts(price_text if price_text is not None else empty, decimal)
    discount = parse_amounts(disc_text, decimal) if disc_text is not None else 0.0
    line_revenue = quantity.astype("float64") * price - pd.Series(discount, index=frame.index)
    ok = product_id.notna() & quantity.notna() & (quantity >= 0) & line_revenue.notna()
    ok = ok.fillna(False).astype(bool)
    lines_data = pd.DataFrame(
        {
            "order_id": order,
            "product_id": product_id,
            "product_name": name if name is not None else empty,
            "quantity": quantity,
            "line_revenue": line_revenue.fillna(0.0),
        }
    )[ok]
    grouped = lines_data.groupby(["order_id", "product_id"], sort=False, as_index=False).agg(
        product_name=("product_name", "first"),
        quantity=("quantity", "sum"),
        line_revenue=("line_revenue", "sum"),
    )
    notes = []
    skipped = ~ok.to_numpy() & (product_id.notna() | qty_text.notna()).to_numpy()
    if skipped.any():
        shown = ", ".join(str(n) for n in lines[skipped][:5])
        notes.append(
            f"{int(skipped.sum()):,} Shopify line items were left out of order_items because "
            f"their quantity or price is not a number (lines {shown})."
        )
    return finalize(grouped, table("order_items")), notes


def _shopify_customers(orders_text: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """One row per e-mail; the newest order's name, country and marketing consent win."""
    frame = pd.DataFrame(
        {
            "customer_id": orders["customer_id"],
            "email": orders["customer_id"],
            "name": _maybe(orders_text, "Billing Name"),
            "country": _maybe(orders_text, "Billing Country"),
            "accepts_marketing": parse_bools(_maybe(orders_text, "Accepts Marketing")),
            "_at": orders["ordered_at"],
        }
    )
    frame = frame[frame["customer_id"].notna()]
    if frame.empty:
        return frame
    frame = frame.sort_values("_at", ascending=False, kind="stable")
    newest = frame.groupby("customer_id", sort=True, as_index=False).first()
    return finalize(newest.drop(columns="_at"), table("customers"))


def _maybe(frame: pd.DataFrame, header: str) -> pd.Series:
    values = shopify_column(frame, header)
    return values if values is not None else pd.Series(pd.NA, index=frame.index, dtype="str")
