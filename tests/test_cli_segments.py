"""`python -m retention segment save|list|delete`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retention.cli import main
from retention.store import Store
from tests.segments.test_rules import shop  # noqa: F401 (fixture)

LAPSED = json.dumps(
    {"op": "and", "rules": [{"attribute": "recency_days", "operator": ">", "value": 30}]}
)


def test_save_list_delete(shop: Store, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    db = str(shop.path)
    shop.close()  # one process, one writer: the CLI opens the file itself
    assert main(["segment", "save", "Lapsed", "--db", db, "--rules", LAPSED]) == 0
    out = capsys.readouterr().out
    assert "saved segment 'Lapsed': 2 customers" in out  # b and d (tests/segments/test_rules)
    assert "Days since last order is more than 30" in out
    assert main(["segment", "save", "Lapsed", "--db", db, "--rules", LAPSED]) == 2
    assert "exists already" in capsys.readouterr().err
    narrower = LAPSED.replace("30", "100")
    assert main(["segment", "save", "Lapsed", "--db", db, "--rules", narrower, "--replace"]) == 0
    assert "1 customers" in capsys.readouterr().out
    assert main(["segment", "list", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("Lapsed\t1 customers\t")
    assert main(["segment", "delete", "Lapsed", "--db", db]) == 0
    assert main(["segment", "list", "--db", db]) == 0
    assert "no segments saved yet" in capsys.readouterr().out


def test_bad_rules_and_missing_file(
    shop: Store,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = str(shop.path)
    shop.close()
    assert main(["segment", "save", "X", "--db", db, "--rules", "{not json"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    rules = json.dumps({"attribute": "password", "operator": "=", "value": 1})
    assert main(["segment", "save", "X", "--db", db, "--rules", rules]) == 2
    assert "unknown attribute 'password'" in capsys.readouterr().err
    assert main(["segment", "delete", "nope", "--db", db]) == 2
    assert main(["segment", "list", "--db", str(tmp_path / "missing.duckdb")]) == 2
