"""20 concurrent sessions on every page while an editor imports orders on the Data page.

Runs ``bench/load_sessions.py --start`` as a user would: it builds its own small sample shop
and starts its own server, so the shared e2e server's database is left alone. Only counts are
asserted (no timings): no errors of any kind, a successful import, every page run, and page
runs that overlapped the import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, _require_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPT = ROOT / "bench" / "load_sessions.py"
SESSIONS = 20
# A small shop and pauses of a few seconds between page views keep the run (the import
# refits the models while 20 sessions compete for two cores) well under two minutes.
ARGS = [
    "--start",
    "--customers", "800",
    "--sessions", str(SESSIONS),
    "--duration", "15",
    "--think", "6",
    "--import-at", "2",
    "--import-rows", "1000",
    "--after-import", "8",
]  # fmt: skip


def test_sessions_keep_working_during_an_import(tmp_path: Path) -> None:
    _require_chromium()
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *ARGS, "--cache-dir", str(tmp_path), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    report = f"exit {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert out.exists(), report
    summary = json.loads(out.read_text())

    assert summary["sessions"] == SESSIONS
    assert summary["errors"] == 0, report
    assert all(count == 0 for count in summary["errors_by_kind"].values()), report
    assert summary["import"]["ok"], report
    assert "Import #" in summary["import"]["message"], report
    assert "1,000 loaded" in summary["import"]["message"], report
    for name, page in summary["pages"].items():
        assert page["ok"] >= 1, f"page {name} never ran cleanly\n{report}"
    assert not summary["pages_not_run"], report
    overlap = summary["import_overlap"]
    assert overlap["runs_ok_overlapping"] >= 1, report
    assert overlap["runs_completed_inside"] >= 1, report
    assert overlap["runs_ok_after"] >= 1, report
    assert summary["passed"], report
    assert proc.returncode == 0, report


def test_refuses_a_remote_url() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", "http://192.0.2.10:8501"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "only a loopback app" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sessions", "51"], "--sessions must be between 1 and 50"),
        (["--duration", "601"], "at most 600 s"),
    ],
)
def test_refuses_unbounded_load(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", "http://127.0.0.1:1", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
