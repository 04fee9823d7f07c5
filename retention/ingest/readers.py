"""Read CSV, Parquet and Excel files into text frames, sniffing what CSV leaves unsaid.

Every cell comes back as text (no type inference: the validator types each column by its
contract), with the file's line number of every row, so rejected rows can be pointed at.

CSV sniffing looks at a sample only: the encoding (UTF-8 with or without BOM, UTF-16 with BOM,
else cp1251 or cp1252, told apart by how the words look), the delimiter (``,`` ``;`` tab ``|``)
and the decimal mark. Parsing uses pyarrow's CSV reader with every column as a string (fast,
and it reports each record with a wrong number of fields, which come back as ``problems``).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import PurePath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from retention.ingest.errors import (
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    IngestError,
    NotTextFile,
    UnsupportedFile,
)
from retention.ingest.options import MAX_UPLOAD_BYTES, ReadOptions

__all__ = [
    "SourceFrame",
    "read_source",
    "source_format_of",
    "sniff_delimiter",
    "sniff_decimal",
    "delimiter_name",
    "DELIMITERS",
]

_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
_PROBLEM_COLUMNS = ("line_number", "raw", "reason")


@dataclass(frozen=True)
class SourceFrame:
    """A file read as text.

    ``frame``: one column per header name (stripped), pandas ``str`` dtype, missing cells NA,
    rows in file order (fully empty rows dropped). ``line_numbers``: 1-based line (CSV: the
    physical line where the record starts, header = 1; Excel: sheet row; Parquet: row + 1).
    ``problems``: records that are not rows at all (wrong number of fields), with
    ``line_number``, ``raw`` (JSON of column to text) and ``reason``.
    """

    frame: pd.DataFrame
    line_numbers: np.ndarray
    source_format: str
    options: ReadOptions
    problems: pd.DataFrame

    @property
    def rows_read(self) -> int:
        """Data rows in the file: records plus lines that could not be read as records."""
        return len(self.frame) + len(self.problems)


def source_format_of(source_name: str) -> str:
    """'csv', 'parquet' or 'xlsx' from the file name; UnsupportedFile for anything else."""
    suffix = PurePath(source_name).suffix.lower()
    if suffix in _FORMATS:
        return _FORMATS[suffix]
    hint = (
        " Old .xls workbooks: open in Excel and save as .xlsx, or export as CSV."
        if suffix == ".xls"
        else ""
    )
    raise UnsupportedFile(
        f"{source_name}: files ending in {suffix or '(no extension)'!r} cannot be imported. "
        f"Use CSV (.csv, .tsv, .txt), Excel (.xlsx) or Parquet (.parquet).{hint}"
    )


def read_source(
    data: bytes,
    source_name: str,
    options: ReadOptions = ReadOptions(),  # noqa: B008 - frozen, so a safe default
    *,
    max_bytes: int | None = MAX_UPLOAD_BYTES,
) -> SourceFrame:
    """Read ``data`` (the file's bytes) as text; raise IngestError when it cannot be imported."""
    if max_bytes is not None and len(data) > max_bytes:
        raise FileTooLarge(
            f"{source_name} is {_size(len(data))}, over the upload limit of {_size(max_bytes)}. "
            f"Import it from a terminal instead, which has no limit: "
            f"python -m retention import {source_name}"
        )
    fmt = source_format_of(source_name)
    if not data.strip():
        raise EmptyFile(
            f"{source_name} is empty ({len(data)} bytes). Choose a file with a header row "
            "and at least one data row."
        )
    if fmt == "csv":
        frame, lines, problems, options = _read_csv(data, source_name, options)
    elif fmt == "parquet":
        frame, lines, problems = _read_parquet(data, source_name), None, _no_problems()
    else:
        frame, lines, sheet = _read_xlsx(data, source_name, options.sheet)
        problems = _no_problems()
        options = replace(options, sheet=sheet)
    if lines is None:
        lines = np.arange(1, len(frame) + 1, dtype=np.int64)
    frame, lines = _drop_empty_rows(frame, lines)
    if frame.empty and problems.empty:
        raise EmptyFile(
            f"{source_name} has a header ({_columns_list(frame.columns)}) but no data rows. "
            "Add rows below the header, or check that you exported the right file."
        )
    if options.decimal is None:
        options = replace(options, decimal=sniff_decimal(_sample_values(frame), options.delimiter))
    return SourceFrame(frame, lines, fmt, options, problems)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _columns_list(columns: Iterable[object], limit: int = 30) -> str:
    names = [str(c) for c in columns]
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"columns: {shown}" + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _no_problems() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line_number": pd.Series([], dtype="int64"),
            "raw": pd.Series([], dtype="str"),
            "reason": pd.Series([], dtype="str"),
        }
    )


def _header_names(raw: Sequence[object], source_name: str) -> list[str]:
    """Stripped header names; blanks become 'column N'; a repeated name is an error."""
    names = []
    for i, value in enumerate(raw):
        name = "" if value is None else str(value).strip()
        names.append(name or f"column {i + 1}")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise IngestError(
                f"{source_name}: the header names column {name!r} twice (columns "
                f"{seen[name] + 1} and {i + 1}). Rename one of them in the file and try again."
            )
        seen[name] = i
    return names


def _drop_empty_rows(frame: pd.DataFrame, lines: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if frame.empty or not len(frame.columns):
        return frame.reset_index(drop=True), lines
    filled = np.zeros(len(frame), dtype=bool)
    for name in frame.columns:
        col = frame[name]
        filled |= (col.notna() & (col.str.strip() != "")).to_numpy(dtype=bool)
        if filled.all():  # usually after the first column (an id is rarely empty)
            return frame, lines
    return frame[filled].reset_index(drop=True), lines[filled]


def _sample_values(frame: pd.DataFrame, rows: int = 2000) -> list[str]:
    head = frame.head(rows)
    out: list[str] = []
    for name in head.columns:
        out.extend(v for v in head[name].dropna().tolist() if isinstance(v, str))
    return out


# -- CSV ------------------------------------------------------------------------------------


def _read_csv(
    data: bytes, source_name: str, options: ReadOptions
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, ReadOptions]:
    text, encoding = decode(data, source_name, options.encoding)
    if not text.strip():
        raise EmptyFile(f"{source_name} has no text in it. Choose a file with a header row.")
    sample = sample_lines(text)
    delimiter = options.delimiter or sniff_delimiter(sample)
    if len(delimiter) != 1:
        raise IngestError(
            f"the delimiter must be one character, got {delimiter!r}; use ',', ';', tab or '|'"
        )
    utf8 = _utf8_bytes(data, text, encoding)
    del text  # as large as the file; only the sample is needed from here on
    header = header_fields(sample, delimiter)
    names = _header_names(header, source_name)
    table, bad = _parse_csv(utf8, delimiter, len(names))
    frame = table.to_pandas()
    frame.columns = names
    frame = _drop_unnamed_empty(frame, header)
    # Record r (1-based, header = 1) starts on physical line r + line breaks inside earlier ones.
    n_records = 1 + table.num_rows + len(bad)
    breaks = np.zeros(n_records + 1, dtype=np.int64)
    is_valid = np.ones(n_records + 1, dtype=bool)
    is_valid[0] = is_valid[1] = False
    for number, _text, _count in bad:
        is_valid[number] = False
    if b'"' in utf8:
        breaks[1] = sum(_count_breaks(h) for h in header)
        per_row = np.zeros(table.num_rows, dtype=np.int64)
        for name in frame.columns:
            per_row += frame[name].str.count(r"\r\n|\r|\n").fillna(0).to_numpy(dtype=np.int64)
        breaks[is_valid] = per_row
        for number, raw_text, _count in bad:
            breaks[number] = _count_breaks(raw_text)
    starts = np.arange(n_records + 1, dtype=np.int64)
    starts[1:] += np.concatenate(([0], np.cumsum(breaks[1:-1])))
    lines = starts[is_valid]
    problems = _csv_problems(bad, names, starts, delimiter)
    resolved = replace(options, delimiter=delimiter, encoding=encoding)
    return frame, lines, problems, resolved


def _utf8_bytes(data: bytes, text: str, encoding: str) -> bytes:
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    return text.encode("utf-8")


def _count_breaks(value: str) -> int:
    return len(re.findall(r"\r\n|\r|\n", value))


def _parse_csv(
    utf8: bytes, delimiter: str, width: int
) -> tuple[pa.Table, list[tuple[int, str, int]]]:
    """All records after the header as strings; records of the wrong width are set aside."""
    bad: list[tuple[int, str, int]] = []

    def on_bad(row: pacsv.InvalidRow) -> str:
        bad.append((int(row.number), row.text, int(row.actual_columns)))
        return "skip"

    names = [f"f{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(utf8),  # reads the bytes in place, without copying them
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, use_threads=False, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_bad,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),  # what pandas str holds
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise IngestError(
            f"the file could not be read as CSV with delimiter {delimiter_name(delimiter)}: {exc}. "
            'Check the delimiter, or look for an unclosed quote (") in the file.'
        ) from None
    # pyarrow numbers records from the start of the file, the skipped header being record 1.
    return table, bad


def _drop_unnamed_empty(frame: pd.DataFrame, header: Sequence[str]) -> pd.DataFrame:
    """Drop columns with no header name and no values (a trailing delimiter on every line)."""
    drop = [
        name
        for raw, name in zip(header, list(frame.columns), strict=True)
        if not raw.strip() and not (frame[name].str.strip() != "").any()
    ]
    return frame.drop(columns=drop) if drop else frame


def _csv_problems(
    bad: list[tuple[int, str, int]], names: Sequence[str], starts: np.ndarray, delimiter: str
) -> pd.DataFrame:
    if not bad:
        return _no_problems()
    rows = []
    width = len(names)
    for number, raw_text, count in bad:
        fields = header_fields(raw_text, delimiter) if raw_text.strip() else []
        keys = [*names, *(f"extra field {i + 1}" for i in range(max(0, len(fields) - width)))]
        raw = json.dumps(dict(zip(keys, fields, strict=False)), ensure_ascii=False)
        if count < width:
            reason = f"truncated line: {count} of {width} fields"
            if raw_text.count('"') % 2:
                reason += " (an unclosed quote joined it with the lines after it)"
        else:
            reason = (
                f"too many fields: {count} where the header has {width}; a value may contain "
                f"the delimiter {delimiter_name(delimiter)} without quotes"
            )
        rows.append((int(starts[number]), raw, reason))
    out = pd.DataFrame(rows, columns=list(_PROBLEM_COLUMNS))
    out["line_number"] = out["line_number"].astype("int64")
    return out


# -- Parquet --------------------------------------------------------------------------------


def _read_parquet(data: bytes, source_name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptFile(
            f"{source_name} cannot be read as a Parquet file ({exc}). It may be damaged or "
            "not Parquet at all; export it again, or export as CSV."
        ) from None
    names = _header_names(table.column_names, source_name)
    columns = {name: _arrow_text(table.column(i)) for i, name in enumerate(names)}
    frame = pd.DataFrame(columns) if columns else pd.DataFrame()
    return frame.astype("str") if len(frame.columns) else frame


def _arrow_text(column: pa.ChunkedArray) -> pd.Series:
    """A Parquet column as text: ISO dates, shortest float repr, true/false."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        column = pc.cast(column, pa.timestamp(kind.unit))  # stored as UTC already
    try:
        text = pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        values = [None if v is None else str(v) for v in column.to_pylist()]
        return pd.Series(values, dtype="str")
    return text.to_pandas(types_mapper=None).astype("str")


# -- Excel ----------------------------------------------------------------------------------


def _read_xlsx(
    data: bytes, source_name: str, sheet: str | None
) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Read one sheet as text. Formulas are never evaluated: a formula cell gives the value
    Excel cached when it saved the file, or the formula's text when there is none."""
    rows, sheet_name = _xlsx_rows(data, source_name, sheet, data_only=False)
    formula_cells = [
        (r, c)
        for r, row in enumerate(rows)
        for c, value in enumerate(row)
        if isinstance(value, str) and value.startswith("=")
    ]
    if formula_cells:
        cached, _ = _xlsx_rows(data, source_name, sheet_name, data_only=True)
        for r, c in formula_cells:
            value = cached[r][c] if r < len(cached) and c < len(cached[r]) else None
            if value is not None:
                rows[r][c] = value
    texts = [[_cell_text(v) for v in row] for row in rows]
    first = next((i for i, row in enumerate(texts) if any(v not in (None, "") for v in row)), None)
    if first is None:
        raise EmptyFile(
            f"sheet {sheet_name!r} of {source_name} is empty. Choose the sheet that holds "
            "the data, or put a header row and data rows on the first sheet."
        )
    header = texts[first]
    while header and header[-1] in (None, ""):
        header = header[:-1]
    names = _header_names(header, source_name)
    width = len(names)
    body = [(row + [None] * width)[:width] for row in texts[first + 1 :]]
    frame = pd.DataFrame(body, columns=names, dtype="str") if body else _empty_frame(names)
    lines = np.arange(first + 2, first + 2 + len(body), dtype=np.int64)
    return frame, lines, sheet_name


def _empty_frame(names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({n: pd.Series([], dtype="str") for n in names})


def _xlsx_rows(
    data: bytes, source_name: str, sheet: str | None, *, data_only: bool
) -> tuple[list[list[object]], str]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise CorruptFile(
            f"{source_name} cannot be opened as an Excel .xlsx workbook ({exc}). It may be "
            "damaged or another format; open it in Excel and save it as .xlsx, or export as CSV."
        ) from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise IngestError(
                f"{source_name} has no sheet named {sheet!r}; its sheets: "
                f"{', '.join(repr(s) for s in book.sheetnames)}. Choose one of them."
            )
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        return rows, ws.title
    finally:
        book.close()


def _cell_text(value: object) -> str | None:
    """A cell's value as text; dates in ISO form, whole floats without '.0'."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


# -- sniffing -------------------------------------------------------------------------------

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
"""Delimiters the sniffer tries, in order of preference on a tie."""

_SAMPLE_BYTES = 256 * 1024
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive, e.g. an Excel .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls or other Office file"),
    (b"PAR1", "a Parquet file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]+")


def delimiter_name(delimiter: str) -> str:
    """How to show a delimiter in a message: 'tab' or the quoted character."""
    return "tab" if delimiter == "\t" else repr(delimiter)


def _binary_error(source_name: str, kind: str) -> NotTextFile:
    return NotTextFile(
        f"{source_name} is not a text CSV file; it looks binary ({kind}). "
        "Export it as CSV (UTF-8) from the program that made it, or, if it is an Excel "
        "workbook, upload the .xlsx file itself."
    )


def check_not_binary(data: bytes, source_name: str) -> None:
    """Raise NotTextFile for bytes that are clearly not text (magic numbers, NUL bytes)."""
    head = data[:_SAMPLE_BYTES]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise _binary_error(source_name, kind)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    if b"\x00" in head:
        raise _binary_error(source_name, "it contains NUL bytes, e.g. a zip, xlsx or image file")


def decode(data: bytes, source_name: str, encoding: str | None) -> tuple[str, str]:
    """Decode the whole file; return (text, encoding used). ``None`` sniffs the encoding."""
    if encoding is not None:
        name = _canonical(encoding)
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            return data.decode(name), name
        except UnicodeDecodeError as exc:
            raise NotTextFile(
                f"{source_name} cannot be read as {encoding}: byte {exc.start} is not valid in "
                "that encoding. Choose another encoding (for example utf-8, cp1251 or cp1252), "
                "or leave it empty to detect it."
            ) from None
    check_not_binary(data, source_name)
    if data.startswith(codecs.BOM_UTF8):
        candidates: Iterable[str] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", *_single_byte_order(data[:_SAMPLE_BYTES]))
    for name in candidates:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        sample = text[:_SAMPLE_BYTES]
        if len(_CONTROL.findall(sample)) > max(16, len(sample) // 20):
            raise _binary_error(source_name, "it is full of control characters")
        return text, name
    raise _binary_error(source_name, "its bytes are not valid UTF-8, cp1251 or cp1252 text")


def _canonical(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise NotTextFile(
            f"unknown encoding {encoding!r}; use a name such as utf-8, utf-8-sig, cp1251 or cp1252"
        ) from None
    return {"utf_8": "utf-8"}.get(name, name)


def _single_byte_order(sample: bytes) -> tuple[str, ...]:
    """cp1251 (Cyrillic) or cp1252 (Western) first, judged by how words look once decoded.

    Cyrillic bytes read as cp1252 become words made only of accented letters ("Èâàí"); real
    Western text has a few accented letters among plain ones ("José").
    """
    try:
        western = sample.decode("cp1252", errors="replace")
    except LookupError:  # pragma: no cover - cp1252 always exists
        return ("cp1251", "cp1252")
    words = [w for w in _WORD.findall(western) if not w.isascii()]
    if not words:
        return ("cp1252", "cp1251")
    share = sum(sum(not c.isascii() for c in w) / len(w) for w in words) / len(words)
    return ("cp1251", "cp1252") if share > 0.6 else ("cp1252", "cp1251")


def _records(sample: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter, quotechar='"', strict=False)
    out: list[list[str]] = []
    try:
        for row in reader:
            if row:
                out.append(row)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def sample_lines(text: str, max_chars: int = 64 * 1024) -> str:
    """The start of the text cut at a line end (so no record is cut in half)."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max_chars)
    return text[: cut + 1] if cut > 0 else text[:max_chars]


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's records into the most, consistent, fields."""
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        rows = _records(sample, delimiter)
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        body = rows[1:-1] if len(rows) > 2 else rows[1:]  # the last row may be cut short
        consistent = sum(len(r) == width for r in body) / len(body) if body else 1.0
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def header_fields(sample: str, delimiter: str) -> list[str]:
    """The first record (the header) split with ``delimiter``."""
    rows = _records(sample, delimiter, limit=1)
    return rows[0] if rows else []


_COMMA_DECIMAL = re.compile(r"[-+]?(\d+,(\d{1,2}|\d{4,})|\d{1,3}(\.\d{3})+,\d+)")
_DOT_DECIMAL = re.compile(r"[-+]?(\d+\.(\d{1,2}|\d{4,})|\d{1,3}(,\d{3})+\.\d+)")


def sniff_decimal(values: Iterable[str], delimiter: str | None) -> str:
    """'.' or ',' by counting values that only make sense with one decimal mark.

    ``12,50`` and ``1.234,50`` vote for a comma; ``12.50`` and ``1,234.50`` for a dot;
    ``1,234`` votes for neither. With no votes a ';' delimited file gets ',', else '.'.
    """
    comma = dot = 0
    for value in values:
        value = value.strip()
        if not value or len(value) > 40:
            continue
        if _COMMA_DECIMAL.fullmatch(value):
            comma += 1
        elif _DOT_DECIMAL.fullmatch(value):
            dot += 1
    if comma == dot:
        return "," if delimiter == ";" else "."
    return "," if comma > dot else "."
