"""Formula neutralisation of downloaded cells (OWASP CSV injection)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from retention import export
from retention.export import neutralise_formulas, to_csv_bytes, write_csv


def test_risky_text_cells_get_an_apostrophe() -> None:
    df = pd.DataFrame(
        {
            "t": ["=1+2", "+SUM(A1)", "-cmd", "@x", "\tx", "\rx", "ok", None],
            "n": [-1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    out = neutralise_formulas(df)
    assert out["t"].tolist()[:7] == ["'=1+2", "'+SUM(A1)", "'-cmd", "'@x", "'\tx", "'\rx", "ok"]
    assert pd.isna(out["t"].iloc[7])
    assert out["n"].tolist() == [-1, 2, 3, 4, 5, 6, 7, 8]  # numbers untouched
    assert df["t"].iloc[0] == "=1+2"  # input not modified


def test_csv_bytes_have_bom_and_parse_back() -> None:
    data = to_csv_bytes(pd.DataFrame({"name": ["Zoë", "=cmd"]}))
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["name"].tolist() == ["Zoë", "'=cmd"]


def _pandas_csv(frame: pd.DataFrame, delimiter: str, bom: bool) -> bytes:
    """The reference: what the writer produced before the Arrow encoder (pandas' to_csv)."""
    text = neutralise_formulas(frame).to_csv(index=False, sep=delimiter)
    return text.encode("utf-8-sig" if bom else "utf-8")


def _varied(rows: int) -> pd.DataFrame:
    """Text with formula prefixes, delimiters, quotes, line breaks, accents and gaps; floats
    tiny, huge, whole, negative and missing; ints, bools; text in object and str columns."""
    rng = np.random.default_rng(5)
    words = [
        "plain", "=1+2", "+SUM(A1)", "-cmd", "@x", "\tx", "\rx", "a,b", "a;b", 'say "hi"',
        "two\nlines", "cr\rinside", "Zoë Müller", "日本", "", " lead", "trail ", "'quoted'",
        "=", "a\r\nb", "😀", "x\ty",
    ]  # fmt: skip
    pick = rng.integers(0, len(words), rows)
    text = [words[i] for i in pick]
    floats = rng.choice(
        [0.1, 1e-05, 3.2e-07, 1e16, 1.5e300, -2.5, 3.0, 0.0, -0.0, 2.251115, np.nan, np.inf],
        rows,
    )
    obj = pd.Series(text, dtype=object).where(rng.random(rows) > 0.1, None)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(rows)],
            "text str": pd.Series(text, dtype="str").where(rng.random(rows) > 0.1),
            "text;object": obj,
            'quo"ted': rng.normal(size=rows) * 10.0 ** rng.integers(-8, 12, rows),
            "floats": floats,
            "f32": floats.clip(-1e30, 1e30).astype(np.float32),
            "ints": rng.integers(-(2**40), 2**40, rows),
            "i32": rng.integers(1, 6, rows).astype(np.int32),
            "flag": rng.random(rows) > 0.5,
            "none": pd.Series([None] * rows, dtype=object),
        }
    )


@pytest.mark.parametrize(("delimiter", "bom"), [(",", True), (";", False), ("\t", True)])
def test_csv_bytes_are_those_pandas_writes(delimiter: str, bom: bool) -> None:
    frame = _varied(3000)
    expected = _pandas_csv(frame, delimiter, bom)
    assert to_csv_bytes(frame, delimiter=delimiter, bom=bom) == expected
    handle = io.BytesIO()
    assert write_csv(frame, handle, delimiter=delimiter, bom=bom) == len(expected)
    assert handle.getvalue() == expected


def test_csv_blocks_split_rows_and_fall_back_to_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "BLOCK_ROWS", 700)
    frame = _varied(3000)
    assert to_csv_bytes(frame) == _pandas_csv(frame, ",", True)
    # Frames the Arrow encoder leaves to pandas: dates, nullable ints, numbers in an object
    # column (even past the first block), one column, an empty frame.
    late = frame.copy()
    late["mixed"] = pd.Series(["a"] * 2000 + [-5] * 1000, dtype=object)
    others = [
        late,
        frame.assign(day=pd.date_range("2024-01-01", periods=3000, freq="h")),
        frame.assign(score=pd.array([1, None, 3] * 1000, dtype="Int64")),
        frame[["text str"]],
        frame.iloc[:0],
        pd.DataFrame({"a": [], "b": []}),
    ]
    for other in others:
        assert to_csv_bytes(other) == _pandas_csv(other, ",", True)


def test_neutralise_keeps_clean_text_columns_as_they_are() -> None:
    df = pd.DataFrame({"a": pd.Series(["x", "y"], dtype="str"), "b": ["=x", "y"]})
    out = neutralise_formulas(df)
    assert out["a"].dtype == df["a"].dtype and out["a"].tolist() == ["x", "y"]
    assert out["b"].tolist() == ["'=x", "y"]
    risky = neutralise_formulas(pd.DataFrame({"a": pd.Series(["-x", None], dtype="str")}))
    assert risky["a"].iloc[0] == "'-x" and pd.isna(risky["a"].iloc[1])


def test_float_text_is_numpys_str_over_the_whole_range() -> None:
    rng = np.random.default_rng(8)
    magnitudes = 10.0 ** rng.uniform(-12, 24, 200_000)
    values = np.concatenate(
        [
            rng.normal(size=200_000) * magnitudes,
            rng.integers(0, 2**64, 100_000, dtype=np.uint64).view(np.float64),  # any bits
            np.round(rng.normal(size=50_000) * 1e6) / 10.0 ** rng.integers(0, 8, 50_000),
            [0.0, -0.0, 1e-4, 9.999e-5, 1e16, 9999999999999998.0, 1e15, 5e-324, np.nan, np.inf],
        ]
    )
    expected = values.astype(str)
    expected[np.isnan(values)] = ""
    assert export._float_text(values).to_pylist() == expected.tolist()
