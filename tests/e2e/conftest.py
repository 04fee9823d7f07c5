"""Browser harness: a real ``streamlit run`` of the app over a sample shop, driven by Chromium.

The suite uses Debian's ``/usr/bin/chromium`` through Playwright's sync API (never the
browsers that ``playwright install`` would download). Without that binary the tests are
skipped, unless ``$CI`` is set: then a missing browser is a failure, not a silent skip.

Fixtures:

- ``app_db``: the sample shop DuckDB file (``python -m retention sample``), session scope.
- ``app_server``: the base URL of a running app over ``app_db``, session scope.
- ``server_log``: the path of that server's stdout/stderr log.
- ``browser`` (session) and ``page`` (one fresh context per test, 1400x2400 viewport).
- ``shot``: ``shot(page, "name")`` saves a full-page screenshot to ``tests/e2e/artifacts/``.

Helpers: ``wait_for_app(page)`` and ``assert_no_error(page)``. When a test fails, a
``FAILED-<test>.png`` screenshot is saved and the server log's tail is added to the report.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 2400}
SAMPLE_CUSTOMERS = 2000
STARTUP_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 30.0

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e carries the ``e2e`` marker (``-m "not e2e"`` skips them)."""
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item, so fixtures can tell that a test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --------------------------------------------------------------------------------------
# The app


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} is missing; install Debian's chromium "
        "(apt-get install chromium) to run the e2e tests"
    )
    if "CI" in os.environ:
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, chars: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return text[-chars:]


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


def build_sample_shop(db: Path, customers: int = SAMPLE_CUSTOMERS) -> Path:
    """A sample shop built by the CLI, exactly as a user would build one."""
    proc = subprocess.run(
        [sys.executable, "-m", "retention", "sample", "--db", str(db)]
        + ["--customers", str(customers)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0 or not db.exists():
        pytest.fail(
            f"`python -m retention sample` failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    return db


@pytest.fixture(scope="session")
def app_db(e2e_dir: Path) -> Path:
    """A small sample shop for the shared app server."""
    _require_chromium()
    return build_sample_shop(e2e_dir / "shop.duckdb")


@pytest.fixture(scope="session")
def server_log(e2e_dir: Path) -> Path:
    return e2e_dir / "streamlit-server.log"


@contextmanager
def running_app(
    db: Path, log_path: Path, *, port: int | None = None, host: str = "127.0.0.1",
    extra_args: Sequence[str] = (),
) -> Iterator[str]:  # fmt: skip
    """``streamlit run app.py`` over ``db`` on a loopback port until the block ends; yields
    ``http://<host>:<port>``. Fails the test with the log's tail when it does not start."""
    port = port or _free_port()
    base = f"http://{host}:{port}"
    env = {**os.environ, "RETENTION_DB": str(db), "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        # config.toml hides error details from users (a hosted setting); tests want them.
        "--client.showErrorDetails", "full",
        *extra_args,
    ]  # fmt: skip
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"streamlit exited with {proc.returncode} before answering; "
                    f"log {log_path}:\n{_log_tail(log_path)}",
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer /_stcore/health within {STARTUP_TIMEOUT_S:.0f}s; "
                    f"log {log_path}:\n{_log_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / log_path.name)


@pytest.fixture(scope="session")
def app_server(app_db: Path, server_log: Path) -> Iterator[str]:
    """The shared app over ``app_db``; yields the base URL."""
    with running_app(app_db, server_log) as base:
        yield base


# --------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def new_page(browser: Browser) -> Page:
    """A page in a fresh browser context (own cookies, own Streamlit session)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(RUN_TIMEOUT_S * 1000)
    return context.new_page()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, server_log: Path) -> Iterator[Page]:
    p = new_page(browser)
    yield p
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        name = _slug(request.node.name)
        try:
            save_screenshot(p, f"FAILED-{name}")
        except Exception as exc:  # best effort: the test already failed
            rep.sections.append(("e2e screenshot", f"could not save: {exc}"))
        rep.sections.append(("streamlit server log (tail)", _log_tail(server_log)))
    p.context.close()


@pytest.fixture
def shot() -> Callable[..., Path]:
    return save_screenshot


# --------------------------------------------------------------------------------------
# Helpers


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``tests/e2e/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{_slug(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


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


def wait_for_app(page: Page, timeout_s: float = RUN_TIMEOUT_S, settle_ms: int = 400) -> None:
    """Wait until the app is connected and its script run is over, then let it settle.

    A run counts as over when ``stApp`` says the script is not running, no "Running" status
    indicator is left and no ``stSkeleton`` placeholder remains (Streamlit draws one while a
    widget's code is still being lazy-loaded, often a second or two after the run ended),
    seen on two polls in a row and unchanged after a short settle (a rerun triggered by the
    last action may take a moment to start).
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet = 0
    state = ""
    while time.monotonic() < deadline:
        state = page.evaluate(_RUN_STATE_JS)
        connection, script, status, skeletons = (state.split("|") + ["", "", "", ""])[:4]
        done = (
            connection == "CONNECTED"
            and script in ("notRunning", "compilationError")
            and status == "idle"
            and skeletons == "skeletons=0"
        )
        quiet = quiet + 1 if done else 0
        if quiet >= 2:
            page.wait_for_timeout(settle_ms)
            if page.evaluate(_RUN_STATE_JS) == state:
                return
            quiet = 0
        page.wait_for_timeout(150)
    raise AssertionError(f"the app was still running after {timeout_s:.0f}s (state {state!r})")


def goto(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_for_app(page)


def assert_no_error(page: Page, *, alerts: bool = False) -> None:
    """Fail if the page shows an exception; with ``alerts=True`` also on ``st.error`` boxes.

    ``st.error`` is a legitimate answer to bad input, so it is only checked when asked.
    """
    found = []
    for el in page.locator('[data-testid="stException"]').all():
        found.append(f"exception: {el.inner_text()[:2000]}")
    if alerts:
        for el in page.locator('[data-testid="stAlertContentError"]').all():
            found.append(f"st.error: {el.inner_text()[:1000]}")
    assert not found, "the page shows errors:\n" + "\n---\n".join(found)


def multiselect(page: Page, label: str) -> Locator:
    """The multiselect widget with this label."""
    return page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True)
    )


def selected_values(widget: Locator) -> list[str]:
    """The chosen options of a multiselect (react-aria tags; baseweb tags in older Streamlit)."""
    tags = widget.locator('[data-tag] [title], [data-baseweb="tag"] span[title]')
    return [t.get_attribute("title") or t.inner_text() for t in tags.all()]
