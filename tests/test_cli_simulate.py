"""`python -m retention simulate`: the same numbers as simulate() with the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retention.cli import main
from retention.scenarios import DiscountScenario, segment_baseline, simulate
from retention.segments.saved import get_segment, save_segment
from retention.store import Store
from tests.apptest_helpers import fitted_shop

EVERYONE = {"op": "and", "rules": []}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fitted_shop(Path(tmp_path_factory.mktemp("simulate")) / "shop.duckdb", 600)
    with Store(path) as s:
        save_segment(s, "Everyone", EVERYONE)
    return path


def test_discount_json_equals_the_library(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--db", str(shop), "--kind", "discount", "--segment", "Everyone",
            "--param", "discount=0.1", "--param", "reach=0.5", "--param", "uplift_low=0.05",
            "--param", "uplift_high=0.2", "--horizon-days", "90", "--draws", "300",
            "--seed", "7", "--format", "json"]  # fmt: skip
    assert main(args) == 0
    got = json.loads(capsys.readouterr().out)
    with Store(shop, read_only=True) as s:
        baseline = segment_baseline(s, get_segment(s, "Everyone").segment_id, horizon_days=90)
    expected = simulate(
        baseline,
        DiscountScenario(discount=0.1, reach=0.5, uplift_low=0.05, uplift_high=0.2),
        draws=300,
        seed=7,
    ).to_dict()
    assert got == json.loads(json.dumps(expected, allow_nan=False))


def test_text_and_errors(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["simulate", "--db", str(shop), "--segment", "Everyone", "--draws", "100"]
    assert main([*base, "--kind", "loyalty", "--param", "enrolment=0.4"]) == 0
    out = capsys.readouterr().out
    assert "loyalty scenario on 'Everyone'" in out and "probability of losing money" in out
    assert main([*base, "--kind", "discount", "--param", "discount=2"]) == 2
    assert "discount" in capsys.readouterr().err
    assert main([*base, "--kind", "discount", "--param", "bogus=1"]) == 2
    assert main([*base, "--kind", "discount", "--param", "discount"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    missing = ["simulate", "--db", str(shop), "--kind", "discount", "--segment", "Nope"]
    assert main(missing) == 2
    assert "No segment is called 'Nope'" in capsys.readouterr().err
