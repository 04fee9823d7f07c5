"""Date and timestamp columns: detect the format per column, parse vectorised, to UTC-naive.

Known formats (the date part; a time ``hh:mm[:ss[.ffffff]]`` with optional AM/PM and an offset
``Z`` / ``+05:30`` / `` -0500`` may follow any of them, separated by a space or ``T``):

======================  ============================================
``%Y-%m-%d``            ISO 8601, Shopify (``2024-01-15 10:23:45 -0500``)
``%Y/%m/%d``            ``2024/01/15``
``%Y-%m``               a month, read as its first day (monthly spend)
``%d.%m.%Y``            ``31.01.2024`` (German, Russian ...)
``%d/%m/%Y``            ``31/01/2024`` (UK, France ...)
``%m/%d/%Y``            ``01/31/2024`` (US)
``%d-%m-%Y``            ``31-01-2024``
``%m-%d-%Y``            ``01-31-2024``
======================  ============================================

A column whose values fit both ``dd/mm`` and ``mm/dd`` (every day and month <= 12) raises
:class:`AmbiguousDateFormat`. A column with values of two formats is read with the format most
values have; the others are rejected row by row, and a warning says so. Values with an offset
are converted to UTC; values without one are taken as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from retention.ingest.errors import AmbiguousDateFormat

__all__ = ["KNOWN_DATE_FORMATS", "ParsedDates", "parse_dates"]

KNOWN_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y-%m",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
)

_SHAPE = re.compile(  # RE2 syntax too: no back-references
    r"(?P<a>\d{1,4})(?P<s1>[-./])(?P<b>\d{1,2})(?:(?P<s2>[-./])(?P<c>\d{1,4}))?"
    r"(?:(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)
_ISO_START = r"\d{4}-\d{1,2}-\d{1,2}"
# Date-part orders of the formats above; the ambiguous pairs share a "family".
_ORDERS: dict[str, tuple[str, str]] = {
    "%Y-%m-%d": ("ymd", "-"),
    "%Y/%m/%d": ("ymd", "/"),
    "%Y.%m.%d": ("ymd", "."),
    "%Y-%m": ("ym", "-"),
    "%d.%m.%Y": ("dmy", "."),
    "%m.%d.%Y": ("mdy", "."),
    "%d/%m/%Y": ("dmy", "/"),
    "%m/%d/%Y": ("mdy", "/"),
    "%d-%m-%Y": ("dmy", "-"),
    "%m-%d-%Y": ("mdy", "-"),
}
_DATE_PART = re.compile(r"%[dmY][-./]%[dmY](?:[-./]%[dmY])?")


@dataclass(frozen=True)
class ParsedDates:
    """One column parsed: ``values`` (NaT where missing or bad), ``reasons`` for bad values
    (indexed like the bad rows), the ``date_format`` used and an optional ``warning``."""

    values: pd.Series
    reasons: pd.Series
    date_format: str | None
    warning: str | None


def parse_dates(values: pd.Series, column: str, date_format: str | None = None) -> ParsedDates:
    """Parse a text column (stripped, NA for empty) into UTC-naive datetimes.

    ``column`` names the column in messages. ``date_format`` (strftime) is used when it fits at
    least as many values as the detected format; otherwise the detected one wins, with a
    warning. Raises AmbiguousDateFormat when dd/mm and mm/dd both fit and none was given.
    """
    present = values.dropna()
    empty_reasons = pd.Series([], dtype="str", index=pd.Index([], dtype=values.index.dtype))
    if present.empty:
        return ParsedDates(_nat_like(values), empty_reasons, date_format, None)
    if date_format in (None, "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        fast = _iso_fast(present)
        if fast is not None:
            return ParsedDates(_expand(fast, values.index), empty_reasons, "%Y-%m-%d", None)
    parts = _components(present)
    counts = _fit_counts(parts)
    detected, evidence = _detect(parts, counts, column, present, date_format is not None)
    warning = None
    chosen = detected
    if date_format is not None:
        given_fit = _fits(parts, date_format, present)
        if detected is None or int(given_fit.sum()) >= counts.get(detected, 0):
            chosen = date_format
        else:
            warning = (
                f"Column {column!r}: the date format {date_format} fits {int(given_fit.sum()):,} "
                f"values but {detected} fits {counts[detected]:,}, so {detected} was used."
            )
    if chosen is None:
        reasons = _quoted(present) + f" in column {column!r} is not a date"
        return ParsedDates(_nat_like(values), reasons, None, None)
    parsed = _parse_with(parts, chosen, present)
    bad = parsed.isna()
    fits = _fits(parts, chosen, present)
    reasons = pd.Series([], dtype="str", index=pd.Index([], dtype=values.index.dtype))
    if bad.any():
        other = bad & ~fits & (parts["family"] > 0)
        nodate = bad & ~other
        reasons = pd.concat(
            [
                _quoted(present[other])
                + f" in column {column!r} does not match the column's date format {chosen}",
                _quoted(present[nodate]) + f" in column {column!r} is not a valid date "
                f"(format {chosen})",
            ]
        ).sort_index()
        mixed = {f: n for f, n in counts.items() if f != chosen and n and f != evidence}
        if other.any() and warning is None:
            others = ", ".join(f"{n:,} look like {f}" for f, n in mixed.items())
            warning = (
                f"Column {column!r} mixes date formats: {int(fits.sum()):,} values are "
                f"{chosen} (used), {others or f'{int(other.sum()):,} are in another format'}; "
                "those rows were rejected. Make the column use one format."
            )
    return ParsedDates(_expand(parsed, values.index), reasons, chosen, warning)


def _nat_like(values: pd.Series) -> pd.Series:
    return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")


def _expand(parsed: pd.Series, index: pd.Index) -> pd.Series:
    return parsed.astype("datetime64[us]").reindex(index)


def _quoted(values: pd.Series) -> pd.Series:
    text = values.astype("str").str.slice(0, 60)
    return ("date '" + text + "'").astype("str")


def _iso_fast(present: pd.Series) -> pd.Series | None:
    """Every value ISO 8601 (the common case, and 1M rows in well under a second)?"""
    if not present.str.match(_ISO_START).all():
        return None
    parsed = pd.to_datetime(present, format="ISO8601", utc=True, errors="coerce")
    if parsed.isna().any():
        return None
    return parsed.dt.tz_localize(None)


_FAMILIES: dict[str, int] = {
    "ymd-": 1,
    "ymd/": 2,
    "ymd.": 3,
    "ym-": 4,
    "xy.": 5,
    "xy/": 6,
    "xy-": 7,
}
"""Date shapes by code: year first with a separator, year-month, and day/month-first pairs."""


def _components(present: pd.Series) -> pd.DataFrame:
    """Split values into numeric parts; ``family`` is the shape code (0 when none fits).

    pyarrow's RE2 and compute kernels do the work, so a million values take about a second.
    """
    struct = pc.extract_regex(pa.array(present.astype("str")), "^" + _SHAPE.pattern + "$")
    if isinstance(struct, pa.ChunkedArray):
        struct = struct.combine_chunks()
    field = {name: struct.field(name) for name in struct.type.names}
    parts = pd.DataFrame(index=present.index)
    for name in ("a", "b", "c", "H", "M", "S"):
        parts[name] = _number(field[name])
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(field["f"], 6, "0"), 0, 6)
    parts["us"] = np.nan_to_num(_number(frac))
    ampm = pc.utf8_lower(field["ampm"])
    parts["am"] = _flag(pc.equal(ampm, "am"))
    parts["pm"] = _flag(pc.equal(ampm, "pm"))
    parts["offset_min"] = _offset_minutes(field["tz"])
    a_len = _number(pc.utf8_length(field["a"]))
    c_len = _number(pc.utf8_length(field["c"]))
    s1 = field["s1"]
    same_sep = _flag(pc.or_(pc.equal(field["s2"], ""), pc.equal(field["s2"], s1)))
    has_time = _flag(pc.not_equal(field["H"], ""))
    family = np.zeros(len(present), dtype=np.int8)
    for sep in "-/.":
        on_sep = _flag(pc.equal(s1, sep))
        family[(a_len == 4) & (c_len >= 1) & (c_len <= 2) & same_sep & on_sep] = _FAMILIES[
            "ymd" + sep
        ]
        family[(a_len >= 1) & (a_len <= 2) & (c_len == 4) & same_sep & on_sep] = _FAMILIES[
            "xy" + sep
        ]
    family[(a_len == 4) & (c_len == 0) & _flag(pc.equal(s1, "-")) & ~has_time] = _FAMILIES["ym-"]
    parts["family"] = family
    return parts


def _flag(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False).astype(bool)


def _number(array: pa.Array) -> np.ndarray:
    """Digits (or lengths) as float; empty and missing as NaN."""
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        array = pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)
    return pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)


def _offset_minutes(tz: pa.Array) -> np.ndarray:
    text = pc.replace_substring(pc.fill_null(tz, ""), ":", "")
    sign = np.where(_flag(pc.starts_with(text, "-")), -1, 1)
    digits = pc.if_else(pc.match_substring_regex(text, r"^[+-]\d{4}$"), text, "+0000")
    hours = _number(pc.utf8_slice_codeunits(digits, 1, 3))
    minutes = _number(pc.utf8_slice_codeunits(digits, 3, 5))
    return (sign * (hours * 60 + minutes)).astype(np.int64)


def _fit_counts(parts: pd.DataFrame) -> dict[str, int]:
    """How many values each known format could read (before checking day and month ranges)."""
    return {fmt: int(_shape_fits(parts, fmt).sum()) for fmt in KNOWN_DATE_FORMATS}


def _shape_fits(parts: pd.DataFrame, fmt: str) -> pd.Series:
    order, sep = _ORDERS[fmt]
    family = parts["family"]
    if order in ("ymd", "ym"):
        return family == _FAMILIES[order + sep]
    in_family = family == _FAMILIES["xy" + sep]
    if sep == "." and order == "mdy":
        return in_family & False
    day = parts["a"] if order == "dmy" else parts["b"]
    month = parts["b"] if order == "dmy" else parts["a"]
    return in_family & (month <= 12) & (day <= 31)


def _detect(
    parts: pd.DataFrame, counts: dict[str, int], column: str, present: pd.Series, given: bool
) -> tuple[str | None, str | None]:
    """The format most values fit, and its ambiguous twin when a dd/mm-mm/dd pair ties."""
    best = max(KNOWN_DATE_FORMATS, key=lambda f: counts[f])  # first on a tie
    if counts[best] == 0:
        return None, None
    order, sep = _ORDERS[best]
    if order not in ("dmy", "mdy") or sep == ".":
        return best, None
    dmy, mdy = f"%d{sep}%m{sep}%Y", f"%m{sep}%d{sep}%Y"
    if counts[dmy] != counts[mdy]:
        return best, None
    if given:
        return best, (mdy if best == dmy else dmy)
    examples = tuple(present[_shape_fits(parts, dmy)].head(3).astype(str))
    raise AmbiguousDateFormat(column, (dmy, mdy), examples)


def _date_part(fmt: str) -> str | None:
    match = _DATE_PART.match(fmt)
    if match is None:
        return None
    part = match.group(0)
    return part if part in _ORDERS else None


def _fits(parts: pd.DataFrame, fmt: str, present: pd.Series) -> pd.Series:
    known = _date_part(fmt)
    if known is not None:
        return _shape_fits(parts, known)
    return pd.to_datetime(present, format=fmt, errors="coerce").notna()


def _parse_with(parts: pd.DataFrame, fmt: str, present: pd.Series) -> pd.Series:
    """Datetimes for the values of ``fmt``'s shape (NaT for the others and for bad dates)."""
    known = _date_part(fmt)
    if known is None:
        parsed = pd.to_datetime(present, format=fmt, errors="coerce", utc=True)
        return parsed.dt.tz_localize(None)
    order, _sep = _ORDERS[known]
    fits = _shape_fits(parts, known)
    if order == "ymd":
        year, month, day = parts["a"], parts["b"], parts["c"]
    elif order == "ym":
        year, month, day = parts["a"], parts["b"], pd.Series(1, index=parts.index)
    elif order == "dmy":
        day, month, year = parts["a"], parts["b"], parts["c"]
    else:
        month, day, year = parts["a"], parts["b"], parts["c"]
    hour = parts["H"].fillna(0)
    am, pm = parts["am"], parts["pm"]
    bad_hour = (am | pm) & ((hour < 1) | (hour > 12))
    hour = hour.where(~pm, hour % 12 + 12).where(~am, hour % 12)
    stamp = pd.to_datetime(
        pd.DataFrame(
            {
                "year": year.where(fits),
                "month": month,
                "day": day,
                "hour": hour,
                "minute": parts["M"].fillna(0),
                "second": parts["S"].fillna(0),
                "us": parts["us"],
            }
        ),
        errors="coerce",
    )
    stamp = stamp.where(~bad_hour)
    return stamp - pd.to_timedelta(parts["offset_min"], unit="m")
