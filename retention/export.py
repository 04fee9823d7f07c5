"""Writers for files users download. Cells that a spreadsheet would run as a formula are
neutralised (OWASP "CSV injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, tab
or carriage return gets a leading apostrophe, which Excel and LibreOffice show as text.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_formulas", "to_csv_bytes"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a formula. Numbers are left alone."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        text = column.astype("string")
        risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
        if risky.any():
            out[name] = column.astype(object).where(~risky, "'" + text.astype(object))
    return out


def to_csv_bytes(frame: pd.DataFrame, *, delimiter: str = ",", bom: bool = True) -> bytes:
    """CSV bytes, formulas neutralised; UTF-8 with BOM by default so Excel reads accents."""
    text = neutralise_formulas(frame).to_csv(index=False, sep=delimiter)
    return text.encode("utf-8-sig" if bom else "utf-8")
