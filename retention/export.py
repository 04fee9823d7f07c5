"""Writers for files users download. Cells that a spreadsheet would run as a formula are
neutralised (OWASP "CSV injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, tab
or carriage return gets a leading apostrophe, which Excel and LibreOffice show as text.

CSV is written in the dialect of pandas' ``DataFrame.to_csv(index=False)`` (the standard
library's ``csv`` writer, minimal quoting, ``os.linesep`` line ends, missing cells empty, floats
as numpy's shortest repr). Frames whose columns are all text, numbers or booleans (target lists)
are encoded with pyarrow compute in row blocks, byte for byte the same as pandas writes them;
any other frame (dates, nullable extension types, mixed object columns, one column) goes
through pandas itself. See ``tests/test_export.py`` for the byte comparison.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FORMULA_PREFIXES",
    "csv_blocks",
    "neutralise_formulas",
    "to_csv_bytes",
    "write_csv",
]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

BOM = b"\xef\xbb\xbf"
BLOCK_ROWS = 100_000
"""Rows encoded at a time: bounds the memory the encoding needs besides the frame itself."""

_LINE_END = os.linesep  # pandas' default lineterminator


def _quoted_characters(delimiter: str) -> str:
    """Characters that make the ``csv`` writer (as pandas calls it) quote a field.

    Probed rather than assumed: Python 3.12 started quoting a field with ``\\r`` or ``\\n``
    whatever the line terminator; 3.11 quotes only the delimiter, ``"`` and the terminator's
    characters."""
    out = {delimiter, '"', *_LINE_END}
    for ch in "\r\n":
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator=_LINE_END).writerow([f"a{ch}b"])
        if buffer.getvalue().startswith('"'):
            out.add(ch)
    return "".join(sorted(out))


def _risky(text: pa.Array) -> pa.Array:
    """Boolean array: the cell starts with a formula prefix (null stays null)."""
    masks = [pc.starts_with(text, p) for p in FORMULA_PREFIXES]
    out = masks[0]
    for mask in masks[1:]:
        out = pc.or_(out, mask)
    return out


def _any_risky(column: pd.Series) -> bool | None:
    """Whether a column of text has a cell that starts with a formula prefix; None when it
    holds something else than text and gaps. An object column is looked at through its
    distinct values (a target list's repeat a few sentences)."""
    if pd.api.types.is_object_dtype(column.dtype):
        try:
            column = pd.Series(pd.unique(column.to_numpy()), dtype=object)
        except TypeError:  # unhashable cells
            return None
    cells = _string_cells(column)
    return None if cells is None else bool(pc.any(_risky(cells)).as_py())


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a formula. Numbers are left alone.

    A text column with no risky cell is kept as it is (same dtype); one with risky cells
    becomes an object column with an apostrophe before each of them."""
    out = frame.copy(deep=False)  # copy-on-write: assigning a column leaves ``frame`` alone
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        # Test the prefixes in Arrow first (pandas' str.startswith goes cell by cell).
        if _any_risky(column) is False:
            continue
        text = column.astype("string")
        risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
        if risky.any():
            out.isetitem(position, column.astype(object).where(~risky, "'" + text.astype(object)))
    return out


# --- CSV --------------------------------------------------------------------------------


def _float_text(values: np.ndarray) -> pa.Array:
    """Floats as pandas hands them to the csv writer (numpy's ``str``: shortest round-trip
    digits, ``3.0``, ``1e-05``, ``1e+16``), NaN empty.

    Arrow's cast gives the same shortest digits but its own layout (``3``, ``0.00001``,
    ``1e+14``), so it is used where both write plain decimals (0 and 1e-4 <= |x| < 1e16 where
    Arrow wrote no exponent; a missing ``.0`` added) and numpy formats the rest."""
    text = pc.cast(pa.array(values), pa.string())
    plain = np.zeros(len(values), dtype=bool)
    if values.dtype == np.float64:
        magnitude = np.abs(values)
        plain = (magnitude == 0) | ((magnitude >= 1e-4) & (magnitude < 1e16))  # NaN: False
        plain &= ~pc.match_substring(text, "e").to_numpy(zero_copy_only=False)
        whole = pc.invert(pc.match_substring(text, "."))
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    if not plain.all():
        rest = values[~plain]
        numpy_text = rest.astype(str)
        numpy_text[np.isnan(rest)] = ""
        text = pc.replace_with_mask(text, pa.array(~plain), pa.array(numpy_text, type=pa.string()))
    return text


def _finish_text(cells: pa.Array, specials: str) -> pa.Array:
    """Text cells neutralised (apostrophe before a formula prefix), missing ones empty, and
    quoted as the csv writer quotes them."""
    cells = cells.cast(pa.string())
    risky = _risky(cells)
    if pc.any(risky).as_py():
        cells = pc.if_else(risky, pc.binary_join_element_wise("'", cells, ""), cells)
    return _quote(cells.fill_null(""), specials)


def _text_cells(column: pd.Series, specials: str) -> pa.Array | None:
    """The column as pandas' CSV writer renders it, neutralised and quoted, as an Arrow string
    array with no nulls; None when the column is of a kind left to pandas."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return _quote(pc.cast(pa.array(column.to_numpy()), pa.string()), specials)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return _quote(pc.if_else(pa.array(column.to_numpy()), "True", "False"), specials)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _quote(_float_text(column.to_numpy()), specials)
    if not (isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype)):
        return None
    if pd.api.types.is_object_dtype(dtype):
        # Object columns of a target list repeat a few strings (segment, reason, offer,
        # group): render each distinct value once, then spread them to the rows.
        try:
            codes, uniques = pd.factorize(column.to_numpy())
        except TypeError:  # unhashable cells (lists ...): pandas writes those
            return None
        if len(uniques) * 4 < len(column):
            distinct = _string_cells(pd.Series(uniques, dtype=object))
            if distinct is None:
                return None
            table = pa.concat_arrays([_finish_text(distinct, specials), pa.array([""])])
            return pc.take(table, np.where(codes < 0, len(uniques), codes))
    cells = _string_cells(column)
    return None if cells is None else _finish_text(cells, specials)


def _string_cells(column: pd.Series) -> pa.Array | None:
    """The column as an Arrow string array (missing: null); None if it holds anything else."""
    try:
        cells = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if pa.types.is_null(cells.type):
        return pa.nulls(len(cells), type=pa.string())
    if not (pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)):
        return None  # numbers, dates ... in an object column: pandas renders those
    return cells


def _quote(cells: pa.Array, specials: str) -> pa.Array:
    """Minimal quoting: a cell holding a special character is wrapped in ``"``, with ``"``
    doubled inside."""
    data = cells.buffers()[2]
    raw = data.to_pybytes() if data is not None else b""
    if not any(c.encode() in raw for c in specials):  # quick look at the whole block first
        return cells
    pattern = "[" + "".join(f"\\x{ord(c):02x}" for c in specials) + "]"
    need = pc.match_substring_regex(cells, pattern)
    if not pc.any(need).as_py():
        return cells
    doubled = pc.replace_substring(cells, '"', '""')
    return pc.if_else(need, pc.binary_join_element_wise('"', doubled, '"', ""), cells)


def _quote_text(value: str, specials: str) -> str:
    if any(c in value for c in specials):
        return '"' + value.replace('"', '""') + '"'
    return value


def _arrow_ready(frame: pd.DataFrame) -> bool:
    """Whether :func:`csv_blocks` encodes ``frame`` itself (else pandas writes it)."""
    if frame.shape[1] < 2:  # the csv writer quotes a lone empty field ("")
        return False
    if not all(isinstance(c, str) for c in frame.columns):
        return False
    head, specials = frame.iloc[:1000], _quoted_characters(",")
    return all(_text_cells(head.iloc[:, i], specials) is not None for i in range(frame.shape[1]))


def csv_blocks(frame: pd.DataFrame, *, delimiter: str = ",") -> Iterator[bytes | memoryview]:
    """The UTF-8 CSV of ``frame`` (header first, no BOM), formulas neutralised, as successive
    pieces: the bytes pandas' ``to_csv(index=False, sep=delimiter)`` would write."""
    if not _arrow_ready(frame):
        text = neutralise_formulas(frame).to_csv(index=False, sep=delimiter)
        yield text.encode("utf-8")
        return
    specials = _quoted_characters(delimiter)
    header = delimiter.join(_quote_text(str(c), specials) for c in frame.columns)
    yield (header + _LINE_END).encode("utf-8")
    for start in range(0, len(frame), BLOCK_ROWS):
        block = frame.iloc[start : start + BLOCK_ROWS]
        cells: list[pa.Array] = []
        for i in range(block.shape[1]):
            text = _text_cells(block.iloc[:, i], specials)
            if text is None:  # a later block holds what the first rows did not show
                yield from _pandas_rows(frame.iloc[start:], delimiter)
                return
            cells.append(text)
        lines = pc.binary_join_element_wise(*cells, delimiter)
        lines = pc.binary_join_element_wise(lines, "", _LINE_END)
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32)[[lines.offset, lines.offset + len(lines)]]
        yield memoryview(data)[int(bounds[0]) : int(bounds[1])]


def _pandas_rows(frame: pd.DataFrame, delimiter: str) -> Iterator[bytes]:
    """Rows of ``frame`` (no header) as pandas writes them, neutralised."""
    text = neutralise_formulas(frame).to_csv(index=False, header=False, sep=delimiter)
    yield text.encode("utf-8")


def write_csv(
    frame: pd.DataFrame, handle: BinaryIO, *, delimiter: str = ",", bom: bool = True
) -> int:
    """Write the CSV of ``frame`` (formulas neutralised; UTF-8, with a BOM by default) to a
    binary file handle block by block; return the number of bytes written."""
    written = 0
    if bom:
        written += handle.write(BOM)
    for piece in csv_blocks(frame, delimiter=delimiter):
        written += handle.write(piece)
    return written


def to_csv_bytes(frame: pd.DataFrame, *, delimiter: str = ",", bom: bool = True) -> bytes:
    """CSV bytes, formulas neutralised; UTF-8 with BOM by default so Excel reads accents."""
    buffer = io.BytesIO()  # grows in place; getvalue() hands its buffer over without a copy
    write_csv(frame, buffer, delimiter=delimiter, bom=bom)
    return buffer.getvalue()
