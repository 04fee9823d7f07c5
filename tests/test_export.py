"""Formula neutralisation of downloaded cells (OWASP CSV injection)."""

from __future__ import annotations

import io

import pandas as pd

from retention.export import neutralise_formulas, to_csv_bytes


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
