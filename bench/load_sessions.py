"""Load check: N concurrent Streamlit sessions on every page while an editor imports orders.

    .venv/bin/python bench/load_sessions.py [--sessions 20] [--duration 60] [--think 5]
    .venv/bin/python bench/load_sessions.py --url http://127.0.0.1:8501 [--sessions 20] ...

By default (``--start``) it builds a sample shop once (``python -m retention sample``, cached
in ``bench/.cache/``), copies it into a temporary folder and serves the copy with ``streamlit
run app.py`` from the repository root, as ``tests/e2e/conftest.py`` does (``RETENTION_DB``
pointing at the copy; secrets read from an empty file, so the app runs open without login;
full tracebacks in exception elements, for the report). ``--url`` attaches to a running app
instead; only loopback addresses are accepted, since the import writes into its database.
At most 50 sessions and 600 s.

Sessions speak Streamlit's own websocket protocol (``/_stcore/stream``, binary protobuf
``BackMsg`` / ``ForwardMsg``) with the ``websockets`` client that Streamlit already depends on
(Streamlit 1.67 serves through Starlette and uvicorn; tornado is no longer installed). This
was chosen over one browser page per session because a session then costs a few kB and a
little parsing on the client, so 20 to 50 of them fit next to the server on two cores and
the load measures the app, not Chromium. Each session is one websocket, as one browser tab:
it sends ``rerun_script`` with a ``ClientState`` whose ``page_name`` is the page's URL path
(the page file's stem, ``""`` for the default page Overview) and, once the ``navigation``
message has named them, its ``page_script_hash``, then reads ``ForwardMsg``s until the run's
``script_finished``; it pauses ``--think`` seconds on average and goes to the next page.
It sends no widget states, so every page runs with its defaults, and no cached message
hashes, so the server sends every message in full. Counted per run: exception elements
(``Element.exception``), ``st.error`` boxes, statuses other than ``FINISHED_SUCCESSFULLY``
and compile errors, runs that did not draw the page asked for or got "page not found",
timeouts (``--run-timeout``) and dropped connections (the session then reconnects, as the
browser does); with ``--start`` also tracebacks in the server log. ``st.rerun`` ends a run
with ``FINISHED_EARLY_FOR_RERUN`` and the run goes on (counted as restarts, not errors).

The editor is one headless Chromium page (Debian's ``/usr/bin/chromium`` through Playwright,
started before the load) that opens the Data page ``--import-at`` seconds into the load,
uploads a generated orders CSV (``--import-rows`` new order ids, half of them for existing
sample customers) and clicks Import, as ``tests/e2e/test_import.py`` does. The import window
runs from the click to the page's "Import #..." success box. The Data page always refits the
models after a new import (``ui.models_view.refresh_after_import``; the UI has no way to skip
it, so there is no ``--refit`` switch), so the window includes the refit. The load runs for
``--duration`` seconds and until ``--after-import`` seconds after the import (never past
600 s).

Output: a Markdown summary on stdout (``--markdown FILE`` also writes it; ``--json FILE``
writes the numbers and every run). Exit 0 when there was no error of any kind, every page
ran cleanly and the import succeeded; 1 otherwise; 2 for refused arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import ipaddress
import json
import math
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The page files under pages/, in navigation order; Overview is the default page (URL "/").
PAGES = (
    "overview",
    "cohorts",
    "churn",
    "conversion",
    "value",
    "model_quality",
    "segments",
    "export",
    "scenarios",
    "data",
)
DEFAULT_PAGE = "overview"
MAX_SESSIONS = 50
MAX_DURATION_S = 600.0
LOOPBACK_NAMES = {"localhost", "localhost."}
ERROR_KINDS = (
    "exception",
    "error_alert",
    "bad_status",
    "wrong_page",
    "timeout",
    "disconnect",
    "server_log_traceback",
)
SAMPLE_CHANNELS = ("organic", "paid_search", "social", "email", "referral", "marketplace", "direct")


class UsageError(Exception):
    """An argument the script refuses (exit 2)."""


# --------------------------------------------------------------------------------------
# Arguments


def page_url_path(page: str) -> str:
    """The URL path Streamlit's navigation gives a page file (the default page is "")."""
    return "" if page == DEFAULT_PAGE else page


def check_loopback(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise UsageError unless it is loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url must look like http://127.0.0.1:PORT, not {url!r}")
    host = parts.hostname.lower()
    loopback = host in LOOPBACK_NAMES
    if not loopback:
        with contextlib.suppress(ValueError):
            loopback = ipaddress.ip_address(host) in (
                ipaddress.ip_address("127.0.0.1"),
                ipaddress.ip_address("::1"),
            )
    if not loopback:
        raise UsageError(
            f"refusing {url!r}: only a loopback app (127.0.0.1, localhost or ::1) is loaded, "
            "because the import writes into its database"
        )
    return url.rstrip("/")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Drive concurrent Streamlit sessions through every page while an "
        "editor imports orders on the Data page; report errors and latency.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--start",
        action="store_true",
        help="start an app over a copy of a sample shop (the default)",
    )
    mode.add_argument("--url", help="attach to a running app, e.g. http://127.0.0.1:8501")
    p.add_argument("--sessions", type=int, default=20, help=f"1..{MAX_SESSIONS} (default 20)")
    p.add_argument(
        "--duration", type=float, default=60.0, help=f"seconds, at most {MAX_DURATION_S:.0f}"
    )
    p.add_argument(
        "--think",
        type=float,
        default=5.0,
        help="mean pause between a session's page runs, s (default 5; 0.5 is a stress test)",
    )
    p.add_argument("--run-timeout", type=float, default=90.0, help="one page run's limit (s)")
    p.add_argument("--customers", type=int, default=20_000, help="sample shop size (--start)")
    p.add_argument("--db", type=Path, help="with --start: serve a copy of this file instead")
    p.add_argument("--cache-dir", type=Path, default=CACHE, help="where sample shops are kept")
    p.add_argument("--import-rows", type=int, default=5_000, help="orders in the import file")
    p.add_argument("--import-at", type=float, default=5.0, help="seconds before the editor opens")
    p.add_argument(
        "--after-import", type=float, default=5.0, help="seconds of load after the import"
    )
    p.add_argument("--no-import", action="store_true", help="sessions only, no editor")
    p.add_argument("--seed", type=int, default=1, help="seed for page order and pauses")
    p.add_argument("--json", type=Path, help="write the numbers as JSON")
    p.add_argument("--markdown", type=Path, help="also write the summary to this file")
    p.add_argument("--keep", action="store_true", help="keep the work folder (log, CSV, shots)")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        raise UsageError(f"--sessions must be between 1 and {MAX_SESSIONS}, not {args.sessions}")
    if not 0 < args.duration <= MAX_DURATION_S:
        raise UsageError(
            f"--duration must be more than 0 and at most {MAX_DURATION_S:.0f} s, "
            f"not {args.duration:g}"
        )
    if args.url:
        args.url = check_loopback(args.url)
    if args.run_timeout <= 0 or min(args.think, args.import_at, args.after_import) < 0:
        raise UsageError(
            "--run-timeout must be positive; --think, --import-at, --after-import not negative"
        )
    if not 1 <= args.import_rows <= 200_000:
        raise UsageError("--import-rows must be between 1 and 200,000")
    if args.customers < 100:
        raise UsageError("--customers must be at least 100")
    return args


# --------------------------------------------------------------------------------------
# The app server (--start)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_shop(customers: int, cache_dir: Path) -> Path:
    """The cached sample shop of ``customers`` customers, built by the CLI when missing."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"load-shop-{customers}.duckdb"
    if path.exists():
        return path
    partial = path.with_suffix(".building.duckdb")
    partial.unlink(missing_ok=True)
    print(f"building a sample shop of {customers:,} customers into {path} ...", file=sys.stderr)
    cmd = [sys.executable, "-m", "retention", "sample", "--db", str(partial)]
    proc = subprocess.run(
        [*cmd, "--customers", str(customers)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0 or not partial.exists():
        raise RuntimeError(
            f"`python -m retention sample` failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    partial.rename(path)
    return path


def log_tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no server log)"


@contextlib.contextmanager
def app_server(db: Path, workdir: Path, timeout_s: float = 90.0) -> Iterator[str]:
    """``streamlit run app.py`` over ``db`` on a free loopback port; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    secrets = workdir / "secrets.toml"
    secrets.write_text("# empty: the load server runs without [auth]\n")
    log_path = workdir / "server.log"
    env = {**os.environ, "RETENTION_DB": str(db), "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--secrets.files",
        str(secrets),
        "--client.showErrorDetails",
        "full",  # tracebacks in the exception elements, for the report
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"streamlit exited with {proc.returncode} before answering:\n"
                        f"{log_tail(log_path)}"
                    )
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                        if r.read().decode().strip() == "ok":
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit did not answer within {timeout_s:.0f} s:\n{log_tail(log_path)}"
                    )
                time.sleep(0.25)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def server_log_tracebacks(path: Path) -> list[str]:
    """The tracebacks in a server log, each shortened to its last lines."""
    lines = log_tail(path, chars=2_000_000).splitlines()
    found: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            end = i + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            found.append("\n".join(lines[max(i - 1, 0) : end + 1][-8:]))
    return found


# --------------------------------------------------------------------------------------
# The import file


def write_orders_csv(path: Path, rows: int, stamp: str, seed: int = 1) -> None:
    """Orders with new ids (``LOAD-<stamp>-n``), half by existing sample customers, in the
    last three months of the sample shop; plain comma-separated UTF-8 with ISO timestamps."""
    rng = random.Random(seed)
    start = datetime(2026, 8, 1)
    span_s = int(timedelta(days=91).total_seconds())
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "customer_id", "ordered_at", "revenue", "status", "channel"])
        for n in range(1, rows + 1):
            if rng.random() < 0.5:
                customer = f"C{rng.randint(1, 100):06d}"  # in every sample shop of 100+
            else:
                customer = f"LOAD-{stamp}-C{rng.randint(1, max(rows // 3, 1))}"
            ordered = start + timedelta(seconds=rng.randrange(span_s))
            status = rng.choices(("completed", "refunded", "cancelled"), (0.94, 0.04, 0.02))[0]
            w.writerow(
                [
                    f"LOAD-{stamp}-{n:07d}",
                    customer,
                    ordered.strftime("%Y-%m-%d %H:%M:%S"),
                    f"{rng.lognormvariate(3.8, 0.6):.2f}",
                    status,
                    rng.choice(SAMPLE_CHANNELS),
                ]
            )


# --------------------------------------------------------------------------------------
# Sessions: Streamlit's websocket protocol


@dataclass
class Run:
    """One page run of one session (times in seconds since the load started)."""

    session: int
    page: str
    start: float
    end: float
    outcome: str  # "ok" or one of ERROR_KINDS
    reruns: int = 0
    detail: str = ""


@dataclass
class LoadState:
    """What the sessions share: the clock, when to stop, and every run and error so far."""

    t0: float
    stop_at: float
    hard_stop: float
    import_done: asyncio.Event
    ended: float | None = None
    runs: list[Run] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def should_stop(self) -> bool:
        now = self.now()
        return now >= self.hard_stop or (now >= self.stop_at and self.import_done.is_set())

    def error(self, kind: str, session: int, page: str, detail: str) -> None:
        self.errors.append(
            {
                "kind": kind,
                "session": session,
                "page": page,
                "at_s": round(self.now(), 2),
                "detail": detail[:1500],
            }
        )


class RunFailed(Exception):
    """The run ended without a clean script_finished (kind in ERROR_KINDS)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _rerun_message(page: str, page_hash: str) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_name = page_url_path(page)
    msg.rerun_script.page_script_hash = page_hash
    return msg.SerializeToString()


async def run_page(
    ws: Any, page: str, hashes: dict[str, str], session: int, state: LoadState
) -> int:
    """Ask for one run of ``page`` and read it to its end; return the number of st.rerun
    restarts. Errors shown in the run are recorded; a broken run raises RunFailed."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    await ws.send(_rerun_message(page, hashes.get(page, "")))
    reruns = 0
    active: set[str] = set()
    found: list[tuple[str, str]] = []
    while True:
        data = await ws.recv()
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "delta":
            if msg.metadata.active_script_hash:
                active.add(msg.metadata.active_script_hash)
            if msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception":
                    e = element.exception
                    warn = " (warning)" if e.is_warning else ""
                    found.append(("exception", f"{e.type}{warn}: {e.message}\n{e.stack_trace}"))
                elif which == "alert" and element.alert.format == element.alert.ERROR:
                    found.append(("error_alert", element.alert.body))
        elif kind == "navigation":
            for app_page in msg.navigation.app_pages:
                name = app_page.url_pathname or DEFAULT_PAGE
                hashes[name] = app_page.page_script_hash
        elif kind == "page_not_found":
            found.append(("wrong_page", f"page not found: {msg.page_not_found.page_name!r}"))
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            e = msg.session_event.script_compilation_exception
            found.append(("bad_status", f"compilation error {e.type}: {e.message}"))
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                reruns += 1
                active.clear()
                continue
            if status != ForwardMsg.FINISHED_SUCCESSFULLY:
                found.append(("bad_status", ForwardMsg.ScriptFinishedStatus.Name(status)))
            expected = hashes.get(page)
            if expected and expected not in active:
                found.append(("wrong_page", f"no element of page {page} in the run"))
            for error_kind, detail in found:
                state.error(error_kind, session, page, detail)
            if found:
                raise RunFailed(found[0][0], found[0][1][:300])
            return reruns


async def session_worker(index: int, url: str, state: LoadState, args: argparse.Namespace) -> None:
    """One browser tab's worth of traffic: every page in turn, from a staggered start."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    ws_url = "ws" + url[len("http") :] + "/_stcore/stream"
    rng = random.Random(args.seed * 1000 + index)
    order = list(PAGES[index % len(PAGES) :] + PAGES[: index % len(PAGES)])
    await asyncio.sleep(min(index * 0.1, 3.0))
    step = 0
    while not state.should_stop():
        hashes: dict[str, str] = {}
        try:
            ws = await connect(
                ws_url,
                subprotocols=["streamlit"],  # type: ignore[list-item]
                max_size=None,
                ping_interval=None,  # a browser tab does not ping either
                proxy=None,
                open_timeout=30,
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            state.error("disconnect", index, "-", f"cannot connect: {exc!r}")
            state.runs.append(Run(index, "-", state.now(), state.now(), "disconnect"))
            await asyncio.sleep(1.0)
            continue
        try:
            while not state.should_stop():
                page = order[step % len(order)]
                step += 1
                start = state.now()
                outcome, reruns, detail = "ok", 0, ""
                try:
                    reruns = await asyncio.wait_for(
                        run_page(ws, page, hashes, index, state), args.run_timeout
                    )
                except RunFailed as exc:
                    outcome, detail = exc.kind, exc.detail
                except TimeoutError:
                    outcome, detail = "timeout", f"no script_finished in {args.run_timeout:g} s"
                    state.error("timeout", index, page, detail)
                except ConnectionClosed as exc:
                    outcome, detail = "disconnect", f"connection closed: {exc!r}"
                    state.error("disconnect", index, page, detail)
                state.runs.append(Run(index, page, start, state.now(), outcome, reruns, detail))
                if outcome in ("timeout", "disconnect"):
                    break  # reconnect: a fresh session, as the browser would open
                await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))
        finally:
            with contextlib.suppress(Exception):
                await ws.close()


# --------------------------------------------------------------------------------------
# The editor: an import through the Data page in Chromium

_RUN_STATE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return 'no-app';
    const running = document.querySelector(
        '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]');
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    const text = status ? status.innerText : '';
    const skeletons = document.querySelectorAll('[data-testid="stSkeleton"]').length;
    return [app.getAttribute('data-test-connection-state') || '',
            app.getAttribute('data-test-script-state') || '',
            (running || /Running/.test(text)) ? 'busy' : 'idle',
            'skeletons=' + skeletons].join('|');
}"""


@dataclass
class ImportResult:
    """The editor's import: whether the page reported success, and when each step ended."""

    ok: bool = False
    message: str = ""
    rows: int = 0
    opened_s: float | None = None  # Data page drawn
    validated_s: float | None = None  # file read and checked, Import offered
    clicked_s: float | None = None  # Import clicked: the import window opens
    done_s: float | None = None  # success box shown: the window closes
    models: str = ""
    screenshot: str = ""

    @property
    def import_s(self) -> float | None:
        if self.clicked_s is None or self.done_s is None:
            return None
        return self.done_s - self.clicked_s


async def wait_for_app(page: Any, timeout_s: float, settle_ms: int = 400) -> None:
    """Wait until the page is connected, idle and unchanged for a moment (as the e2e tests)."""
    await page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet, state = 0, ""
    while time.monotonic() < deadline:
        state = await page.evaluate(_RUN_STATE_JS)
        connection, script, status, skeletons = (state.split("|") + ["", "", "", ""])[:4]
        done = (
            connection == "CONNECTED"
            and script in ("notRunning", "compilationError")
            and status == "idle"
            and skeletons == "skeletons=0"
        )
        quiet = quiet + 1 if done else 0
        if quiet >= 2:
            await page.wait_for_timeout(settle_ms)
            if await page.evaluate(_RUN_STATE_JS) == state:
                return
            quiet = 0
        await page.wait_for_timeout(150)
    raise TimeoutError(f"the app was still running after {timeout_s:.0f} s (state {state!r})")


async def page_errors(page: Any) -> list[str]:
    found = []
    for el in await page.locator('[data-testid="stException"]').all():
        found.append("exception: " + (await el.inner_text())[:1500])
    for el in await page.locator('[data-testid="stAlertContentError"]').all():
        found.append("st.error: " + (await el.inner_text())[:800])
    return found


async def run_import(
    browser: Any,
    url: str,
    csv_path: Path,
    rows: int,
    state: LoadState,
    workdir: Path,
    timeout_s: float,
) -> ImportResult:
    """Open the Data page, upload ``csv_path``, click Import and wait for the success box."""
    from playwright.async_api import expect

    result = ImportResult(rows=rows)
    ms = timeout_s * 1000
    context = await browser.new_context(viewport={"width": 1400, "height": 2400})
    context.set_default_timeout(ms)
    page = await context.new_page()
    try:
        await page.goto(f"{url}/data", wait_until="domcontentloaded")
        await wait_for_app(page, timeout_s)
        await expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()
        result.opened_s = state.now()
        uploader = page.get_by_test_id("stFileUploader").locator('input[type="file"]')
        await uploader.set_input_files(csv_path)
        will_load = (
            page.get_by_test_id("stMetric")
            .filter(
                has=page.get_by_test_id("stMetricLabel").get_by_text("Will be loaded", exact=True)
            )
            .get_by_test_id("stMetricValue")
        )
        await expect(will_load).to_have_text(f"{rows:,}", timeout=ms)
        await wait_for_app(page, timeout_s)
        button = page.get_by_test_id("stButton").get_by_role("button", name="Import", exact=True)
        await expect(button).to_be_enabled()
        result.validated_s = state.now()
        await button.click()
        result.clicked_s = state.now()
        success = page.get_by_test_id("stAlertContentSuccess")
        await expect(success).to_contain_text("Import #", timeout=ms)
        result.done_s = state.now()
        text = (await success.inner_text()).strip()
        result.message = next((ln for ln in text.splitlines() if "Import #" in ln), text)
        await wait_for_app(page, timeout_s)
        captions = page.get_by_test_id("stCaptionContainer").filter(has_text="Models:")
        if await captions.count():
            result.models = (await captions.first.inner_text()).strip()
        errors = await page_errors(page)
        if errors:
            result.message += "\nthe page also shows:\n" + "\n".join(errors)
        else:
            result.ok = True
    except Exception as exc:  # any failure of the flow is the import's failure
        errors = await page_errors(page)
        result.message = f"{type(exc).__name__}: {exc}"[:1500] + (
            "\nthe page shows:\n" + "\n".join(errors) if errors else ""
        )
    finally:
        if not result.ok:
            shot = workdir / "import-failed.png"
            with contextlib.suppress(Exception):
                await page.screenshot(path=str(shot), full_page=True)
                result.screenshot = str(shot)
        await context.close()
    return result


# --------------------------------------------------------------------------------------
# The run and its summary


async def drive(url: str, args: argparse.Namespace, workdir: Path) -> tuple[LoadState, Any]:
    """Run the sessions and, unless --no-import, the editor's import; return what happened.

    Chromium starts before the sessions do (starting it on a busy machine takes a while);
    the editor opens the Data page ``--import-at`` seconds into the load. The load goes on for
    ``--duration`` seconds and at least ``--after-import`` seconds after the import."""
    async with contextlib.AsyncExitStack() as stack:
        browser = None
        if not args.no_import:
            from playwright.async_api import async_playwright

            pw = await stack.enter_async_context(async_playwright())
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            stack.push_async_callback(browser.close)
        state = LoadState(
            t0=time.monotonic(),
            stop_at=args.duration,
            hard_stop=MAX_DURATION_S,
            import_done=asyncio.Event(),
        )
        result: ImportResult | None = None
        workers = [
            asyncio.create_task(session_worker(i, url, state, args)) for i in range(args.sessions)
        ]
        if browser is None:
            state.import_done.set()
        else:
            stamp = datetime.now().strftime("%Y%m%d%H%M%S") + f"-{os.getpid()}"
            csv_path = workdir / f"load-orders-{stamp}.csv"
            write_orders_csv(csv_path, args.import_rows, stamp, args.seed)
            await asyncio.sleep(args.import_at)
            try:
                result = await run_import(
                    browser, url, csv_path, args.import_rows, state, workdir,
                    timeout_s=max(MAX_DURATION_S - state.now() - 5.0, 10.0),
                )  # fmt: skip
            finally:
                state.stop_at = max(state.stop_at, state.now() + args.after_import)
                state.import_done.set()
        await asyncio.gather(*workers)
        state.ended = state.now()
    return state, result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def latency(values: list[float]) -> dict[str, float | int | None]:
    """Count, median, p95 and max of run times in seconds."""
    return {
        "runs": len(values),
        "median_s": round(statistics.median(values), 3) if values else None,
        "p95_s": round(percentile(values, 0.95), 3) if values else None,
        "max_s": round(max(values), 3) if values else None,
    }


def summarise(
    state: LoadState,
    result: ImportResult | None,
    args: argparse.Namespace,
    url: str,
    tracebacks: list[str],
) -> dict[str, Any]:
    """Every number of the run, JSON-ready."""
    runs = [r for r in state.runs if r.page != "-"]
    wall = state.ended if state.ended is not None else state.now()
    errors_by_kind = Counter(e["kind"] for e in state.errors)
    for tb in tracebacks:
        errors_by_kind["server_log_traceback"] += 1
        state.errors.append({"kind": "server_log_traceback", "session": -1, "page": "-",
                             "at_s": None, "detail": tb[:1500]})  # fmt: skip
    pages: dict[str, dict[str, Any]] = {}
    for name in PAGES:
        mine = [r for r in runs if r.page == name]
        done = [r.end - r.start for r in mine if r.outcome == "ok"]
        pages[name] = {
            **latency(done),
            "runs": len(mine),
            "ok": len(done),
            "failed": len(mine) - len(done),
        }
    overlap: dict[str, Any] = {}
    if result is not None and result.clicked_s is not None:
        lo = result.clicked_s
        hi = result.done_s if result.done_s is not None else wall
        during = [r for r in runs if r.start < hi and r.end > lo]
        outside = [r for r in runs if not (r.start < hi and r.end > lo)]
        overlap = {
            "latency_during": latency([r.end - r.start for r in during if r.outcome == "ok"]),
            "latency_outside": latency([r.end - r.start for r in outside if r.outcome == "ok"]),
            "window_s": [round(lo, 2), round(hi, 2)],
            "runs_overlapping": len(during),
            "runs_ok_overlapping": sum(r.outcome == "ok" for r in during),
            "runs_completed_inside": sum(lo <= r.end <= hi and r.outcome == "ok" for r in runs),
            "runs_after": sum(r.start >= hi for r in runs),
            "runs_ok_after": sum(r.start >= hi and r.outcome == "ok" for r in runs),
            "pages_overlapping": sorted({r.page for r in during}),
        }
    all_ok = [r.end - r.start for r in runs if r.outcome == "ok"]
    total_errors = sum(errors_by_kind.values())
    pages_not_run = [name for name, p in pages.items() if p["ok"] == 0]
    import_ok = True if result is None else result.ok
    passed = total_errors == 0 and not pages_not_run and import_ok and bool(runs)
    return {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "url": url,
        "mode": "attach" if args.url else "start",
        "customers": None if args.url or args.db else args.customers,
        "sessions": args.sessions,
        "duration_s": args.duration,
        "wall_s": round(wall, 1),
        "think_s": args.think,
        "run_timeout_s": args.run_timeout,
        "runs": len(runs),
        "runs_ok": len(all_ok),
        "reruns": sum(r.reruns for r in runs),
        "runs_per_s": round(len(runs) / wall, 2) if wall else None,
        "latency_all": latency(all_ok),
        "errors": total_errors,
        "errors_by_kind": {k: errors_by_kind.get(k, 0) for k in ERROR_KINDS},
        "error_samples": state.errors[:20],
        "pages": pages,
        "pages_not_run": pages_not_run,
        "import": None if result is None else {**asdict(result), "import_s": result.import_s},
        "import_overlap": overlap,
        "passed": passed,
        "run_log": [
            [r.session, r.page, round(r.start, 3), round(r.end, 3), r.outcome, r.reruns]
            for r in state.runs
        ],
    }


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        from streamlit import __version__ as streamlit_version
    except ImportError:  # pragma: no cover
        streamlit_version = "?"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
        f"Python {platform.python_version()}, Streamlit {streamlit_version}, "
        f"{platform.platform(terse=True)}"
    )


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _lat(stats: dict[str, Any]) -> str:
    return (
        f"median {_s(stats['median_s'])} s, p95 {_s(stats['p95_s'])} s, "
        f"max {_s(stats['max_s'])} s ({stats['runs']} runs)"
    )


def render(summary: dict[str, Any]) -> str:
    """The summary as Markdown."""
    shop = (
        f"a sample shop of {summary['customers']:,} customers"
        if summary["customers"]
        else "the given database"
    )
    lines = [
        f"# Load: {summary['sessions']} sessions on every page, with an import",
        "",
        f"{summary['when']}, {summary['mode']} mode ({shop}), {summary['url']}.",
        f"Machine: {summary['machine']}.",
        f"Client and server on the same machine; pause between runs {summary['think_s']:g} s "
        f"on average; run timeout {summary['run_timeout_s']:g} s.",
        "",
        f"**{'PASS' if summary['passed'] else 'FAIL'}**: {summary['runs']:,} page runs in "
        f"{summary['wall_s']:.1f} s ({summary['runs_per_s']} runs/s), {summary['errors']} "
        f"errors; {summary['reruns']} st.rerun restarts inside runs.",
        "",
        "| errors by kind | count |",
        "|---|---:|",
        *(f"| {k} | {v} |" for k, v in summary["errors_by_kind"].items()),
        "",
        "| page | runs | failed | median s | p95 s | max s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, p in summary["pages"].items():
        lines.append(
            f"| {name} | {p['runs']} | {p['failed']} | {_s(p['median_s'])} | {_s(p['p95_s'])} "
            f"| {_s(p['max_s'])} |"
        )
    a = summary["latency_all"]
    lines.append(
        f"| **all** | {summary['runs']} | {summary['runs'] - summary['runs_ok']} | "
        f"{_s(a['median_s'])} | {_s(a['p95_s'])} | {_s(a['max_s'])} |"
    )
    lines.append("")
    imp = summary["import"]
    if imp is None:
        lines.append("No import (--no-import).")
    else:
        o = summary["import_overlap"]
        lines += [
            f"Import of {imp['rows']:,} orders through the Data page: "
            f"{'succeeded' if imp['ok'] else 'FAILED'}.",
            "",
            f"- Data page drawn at {_s(imp['opened_s'])} s, file validated at "
            f"{_s(imp['validated_s'])} s, Import clicked at {_s(imp['clicked_s'])} s, success "
            f"shown at {_s(imp['done_s'])} s: import and refit took {_s(imp['import_s'])} s.",
            f"- Page: {imp['message'].splitlines()[0] if imp['message'] else '–'}",
        ]
        if imp["models"]:
            lines.append(f"- {imp['models']}")
        if o:
            lines += [
                f"- Runs overlapping the import window: {o['runs_overlapping']} "
                f"({o['runs_ok_overlapping']} clean; {o['runs_completed_inside']} finished "
                f"inside it), on {len(o['pages_overlapping'])} pages; "
                f"{o['runs_after']} runs after it ({o['runs_ok_after']} clean).",
                f"- Page run latency during the import window: {_lat(o['latency_during'])}; "
                f"outside it: {_lat(o['latency_outside'])}.",
            ]
        if not imp["ok"]:
            lines += ["", "```", imp["message"], "```"]
            if imp["screenshot"]:
                lines.append(f"Screenshot: {imp['screenshot']}")
    if summary["pages_not_run"]:
        lines += ["", f"Pages without a clean run: {', '.join(summary['pages_not_run'])}."]
    if summary["error_samples"]:
        lines += ["", "First errors:", ""]
        for e in summary["error_samples"][:10]:
            lines += [
                f"- {e['kind']} on {e['page']} (session {e['session']}, at {e['at_s']} s):",
                "",
                "  ```",
                *("  " + line for line in e["detail"].splitlines()[:12]),
                "  ```",
            ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Start or attach, drive the load, print and write the summary; return the exit code."""
    if not args.no_import and not CHROMIUM.exists():
        raise UsageError(f"{CHROMIUM} is missing (the import runs in Chromium); or --no-import")
    workdir = Path(tempfile.mkdtemp(prefix="load-sessions-"))
    keep = args.keep
    try:
        if args.url:
            try:
                with urllib.request.urlopen(f"{args.url}/_stcore/health", timeout=10) as r:
                    healthy = r.read().decode().strip() == "ok"
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                healthy = False
            if not healthy:
                raise UsageError(f"no Streamlit app answers at {args.url}/_stcore/health")
            state, result = asyncio.run(drive(args.url, args, workdir))
            summary = summarise(state, result, args, args.url, [])
        else:
            source = args.db if args.db else sample_shop(args.customers, args.cache_dir)
            if not source.exists():
                raise UsageError(f"--db {source} does not exist")
            db = workdir / "shop.duckdb"
            shutil.copyfile(source, db)
            with app_server(db, workdir) as url:
                state, result = asyncio.run(drive(url, args, workdir))
            summary = summarise(
                state, result, args, url, server_log_tracebacks(workdir / "server.log")
            )
        text = render(summary)
        print(text)
        if args.markdown:
            args.markdown.parent.mkdir(parents=True, exist_ok=True)
            args.markdown.write_text(text)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(summary, indent=2))
        keep = keep or not summary["passed"]
        return 0 if summary["passed"] else 1
    finally:
        if keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except UsageError as exc:
        print(f"load_sessions: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
