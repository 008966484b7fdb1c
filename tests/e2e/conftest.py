"""Fixtures for the browser tests (headless Debian Chromium driving a live server).

Fixtures (all defined here):

* ``browser`` (session) - a Playwright ``Browser`` (Debian Chromium). Skips when
  /usr/bin/chromium is missing, fails instead when ``CI`` is set.
* ``context`` / ``page`` (function) - a fresh context and page per test; 15 s default
  timeouts for actions, navigation and ``expect``. On failure the page's full screenshot, HTML,
  console log and the server logs are saved to ``tests/e2e/artifacts/<test name>/``.
* ``new_page`` (function) - factory: ``new_page("manager")`` opens a page in another fresh
  context (its own cookies: a second person or browser), with the same options, recorded by the
  same ``request_recorder``, and its own failure artefacts (files prefixed ``manager-``).
* ``request_recorder`` (function) - :class:`harness.RequestRecorder` attached to the context
  (and to every context opened with ``new_page``).
* ``portal_db_path`` (function) - ``<tmp_path>/portal.duckdb``; override it to seed the database
  before the server opens it (DuckDB lets only one process open the file).
* ``portal_env`` (function) - the server's PORTAL_* variables (fresh key, bcrypt rounds 4);
  seed with the same ones: ``harness.run_portal([...], portal_env, input=...)``.
* ``portal_server`` (function) / ``portal_server_module`` (module) - ``python -m portal serve``
  on a free port with a fresh PORTAL_SECRET_KEY and PORTAL_BCRYPT_ROUNDS=4; yields a
  :class:`harness.Server` (``.url``, ``.base_url``, ``.port``, ``.log_path``, ``.db_path``).
  Indirect parametrisation: ``{"env": {...}, "args": [...]}``.
* ``portal_url`` (function) - ``portal_server.url``.

Set ``E2E_TRACE=1`` to also keep a Playwright trace (``trace.zip``) of failing tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

if __package__:  # tests/e2e is a package (tests/__init__.py + tests/e2e/__init__.py)
    from . import harness
else:  # rootdir-relative "prepend" import of a plain directory
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import harness  # type: ignore[no-redef]
# One module object whichever way it was imported: test modules may "import harness" or
# "from tests.e2e.harness import ...", and isinstance(x, harness.Server) must hold for both.
sys.modules.setdefault("harness", harness)
Server = harness.Server

E2E_DIR = Path(__file__).resolve().parent
TIMEOUT_MS = int(os.environ.get("E2E_TIMEOUT_MS", harness.DEFAULT_TIMEOUT_MS))

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_LOGS = pytest.StashKey[list[Path]]()
_TIMINGS = pytest.StashKey[dict[str, list[float]]]()


# --------------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives the real server in headless Chromium")
    config.stash[_TIMINGS] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Everything under tests/e2e is an e2e test, even if a module forgets its pytestmark.
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    timings = config.stash.get(_TIMINGS, {})
    if not timings:
        return
    terminalreporter.section("e2e timings")
    for name, values in sorted(timings.items()):
        avg = sum(values) / len(values)
        terminalreporter.write_line(
            f"{name}: n={len(values)} avg={avg:.2f}s min={min(values):.2f}s max={max(values):.2f}s"
        )


def _record_timing(config: pytest.Config, name: str, seconds: float) -> None:
    config.stash.setdefault(_TIMINGS, {}).setdefault(name, []).append(seconds)


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(reports[w].failed for w in ("setup", "call") if w in reports)


def artifacts_dir_for(item: pytest.Item) -> Path:
    """``tests/e2e/artifacts/<test name>/`` (name sanitised for the file system)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_") or "test"
    return harness.ARTIFACTS_DIR / name[:150]


def _fresh_artifacts_dir(item: pytest.Item) -> Path:
    path = artifacts_dir_for(item)
    if not getattr(item, "_e2e_artifacts_cleared", False):
        shutil.rmtree(path, ignore_errors=True)
        item._e2e_artifacts_cleared = True  # type: ignore[attr-defined]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _register_log(item: pytest.Item, path: Path) -> None:
    logs = item.stash.setdefault(_LOGS, [])
    if path not in logs:
        logs.append(path)


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"e2e: {reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(f"e2e: {reason}")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"playwright is not installed ({exc})")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Any, pytestconfig: pytest.Config) -> Iterator[Any]:
    if not harness.chromium_available():
        _unavailable(
            f"Chromium not found at {harness.CHROMIUM_PATH} "
            "(apt-get install -y chromium; playwright install cannot download browsers here)"
        )
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    started = time.monotonic()
    browser = harness.launch_chromium(playwright)
    _record_timing(pytestconfig, "chromium launch", time.monotonic() - started)
    try:
        yield browser
    finally:
        with contextlib.suppress(Exception):
            browser.close()


def _new_context(browser: Any) -> Any:
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        timezone_id="UTC",
        service_workers="block",
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    return ctx


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (own cookies/storage) with a request recorder attached."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    ctx = _new_context(browser)
    recorder = harness.RequestRecorder().attach(ctx)
    request.node._e2e_recorder = recorder
    tracing = bool(os.environ.get("E2E_TRACE"))
    if tracing:
        ctx.tracing.start(screenshots=True, snapshots=True, sources=False)
    try:
        yield ctx
    finally:
        if tracing:
            with contextlib.suppress(Exception):
                if _failed(request.node):
                    ctx.tracing.stop(path=str(_fresh_artifacts_dir(request.node) / "trace.zip"))
                else:
                    ctx.tracing.stop()
        with contextlib.suppress(Exception):
            ctx.close()


@pytest.fixture
def page(context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new page; on failure its screenshot, HTML and console go to the artefacts folder."""
    pg = context.new_page()
    console = _watch_console(pg)
    try:
        yield pg
    finally:
        if _failed(request.node):
            _save_page_artifacts(request.node, pg, console)


def _watch_console(pg: Any) -> list[str]:
    console: list[str] = []
    pg.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    pg.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))
    pg.on("requestfailed", lambda r: console.append(f"[requestfailed] {r.url} {r.failure}"))
    return console


def _save_page_artifacts(item: pytest.Item, pg: Any, console: list[str], prefix: str = "") -> None:
    out = _fresh_artifacts_dir(item)
    notes = [f"url: {pg.url}"]
    try:
        pg.screenshot(path=str(out / f"{prefix}screenshot.png"), full_page=True, timeout=5_000)
    except Exception as exc:  # a failing artefact must not hide the real failure
        notes.append(f"screenshot failed: {exc}")
    try:
        (out / f"{prefix}page.html").write_text(pg.content(), "utf-8")
    except Exception as exc:
        notes.append(f"page.content failed: {exc}")
    (out / f"{prefix}console.txt").write_text("\n".join(notes + console) + "\n", "utf-8")


@pytest.fixture
def new_page(
    browser: Any, context: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Any]]:
    """Factory for pages in further fresh contexts: ``new_page("manager")``.

    Each call opens a new browser context (its own cookie jar, like another person's browser)
    with the same options as ``context``; the test's ``request_recorder`` records it too. On
    failure each page's screenshot, HTML and console are saved with the name as prefix. All are
    closed after the test. (Another tab of the *same* browser is ``page.context.new_page()``.)
    """
    opened: list[tuple[str, Any, Any, list[str]]] = []

    def open_page(name: str) -> Any:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name in [o[0] for o in opened]:
            raise ValueError(f"new_page needs a new, file-name-safe name, not {name!r}")
        ctx = _new_context(browser)
        request.node._e2e_recorder.attach(ctx)
        pg = ctx.new_page()
        opened.append((name, ctx, pg, _watch_console(pg)))
        return pg

    try:
        yield open_page
    finally:
        failed = _failed(request.node)
        for name, ctx, pg, console in opened:
            if failed:
                _save_page_artifacts(request.node, pg, console, prefix=f"{name}-")
            with contextlib.suppress(Exception):
                ctx.close()


@pytest.fixture
def request_recorder(context: Any, request: pytest.FixtureRequest) -> harness.RequestRecorder:
    """Every URL requested by this test's browser context (HTTP and websockets)."""
    return request.node._e2e_recorder


@pytest.fixture(autouse=True)
def _e2e_server_bookkeeping(request: pytest.FixtureRequest) -> Iterator[None]:
    """Record server start times; copy the logs of the test's servers on failure.

    Autouse fixtures are set up first and torn down last, so the servers have stopped and
    their logs are complete when this runs. A test's folder is replaced only when it fails
    again, so a later passing run does not destroy the evidence of a flaky failure.
    """
    yield
    item = request.node
    servers = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, Server)]
    for server in servers:
        if not getattr(server, "_e2e_timed", False):  # module-scoped servers count once
            server._e2e_timed = True  # type: ignore[attr-defined]
            _record_timing(request.config, f"server start ({server.name})", server.startup_seconds)
    if not _failed(item):
        return
    logs = list(item.stash.get(_LOGS, []))
    logs += [s.log_path for s in servers if s.log_path not in logs]
    if not logs:
        return
    out = _fresh_artifacts_dir(item)
    for i, log in enumerate(logs):
        if log.exists():
            name = log.name if i == 0 else f"{log.stem}-{i}{log.suffix}"
            shutil.copyfile(log, out / name)


# --------------------------------------------------------------------------------------------
# Portal server
# --------------------------------------------------------------------------------------------


@pytest.fixture
def portal_db_path(tmp_path: Path) -> Path:
    """Database file for ``portal_server``. Override (and request the original) to seed it."""
    return tmp_path / "portal.duckdb"


@pytest.fixture
def portal_env() -> dict[str, str]:
    """PORTAL_* variables of this test's server: fresh PORTAL_SECRET_KEY, PORTAL_BCRYPT_ROUNDS=4.

    Seed the database with the same variables (``harness.run_portal(args, portal_env)``): it is
    encrypted with the key, and a server with another key refuses to start.
    """
    return harness.portal_env()


def _start_portal(
    request: pytest.FixtureRequest,
    db_path: Path,
    log_path: Path,
    item: pytest.Item | None,
    base_env: dict[str, str],
) -> Server:
    params: dict[str, Any] = dict(getattr(request, "param", None) or {})
    env = {**base_env, **params.get("env", {})}
    if item is not None:
        _register_log(item, log_path)
    extra = params.get("args", [])
    return harness.start_portal(db_path, env, log_path, *extra, timeout=params.get("timeout", 30.0))


@pytest.fixture
def portal_server(
    request: pytest.FixtureRequest,
    portal_db_path: Path,
    portal_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[Server]:
    """``python -m portal serve`` for one test, stopped afterwards whatever happens."""
    log_path = tmp_path / "portal-server.log"
    server = _start_portal(request, portal_db_path, log_path, request.node, portal_env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def portal_server_module(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One ``portal serve`` shared by a module's tests (faster, but state carries over)."""
    base = tmp_path_factory.mktemp("portal-module")
    server = _start_portal(
        request, base / "portal.duckdb", base / "portal-server.log", None, harness.portal_env()
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def portal_url(portal_server: Server) -> str:
    return portal_server.url
