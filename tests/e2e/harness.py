"""Helpers for the browser (end-to-end) tests.

Nothing in here is a pytest fixture: the fixtures live in ``conftest.py`` and are thin wrappers
around these helpers, so the helpers can also be used from a script or a benchmark.

Main pieces:

* :func:`start_server` / :class:`Server` - run a server process on a free loopback port, wait for
  Streamlit's ``/_stcore/health``, stop the whole process group afterwards.
* :func:`launch_chromium` - Debian's Chromium with the flags that work on this machine.
* :func:`read_qr`, :func:`parse_otpauth`, :func:`totp_now` - enrolment helpers;
  :func:`totp_after` - a code for a later time step than the last one used (replay guard).
* :func:`wait_for_app_idle` - wait until the Streamlit script run has finished.
* :class:`RequestRecorder` - every URL the browser asked for, to prove nothing left 127.0.0.1.
* :func:`start_portal`, :func:`add_users` - a portal server with its own environment, and
  accounts seeded through the CLI before it starts.
* ``portal_*``, ``wizard_*``, ``manager_*`` - the page steps the journeys repeat (sign in and
  out, the set-up wizard, the manager's table and dialogs), by the labels people see.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b32decode, urlsafe_b64encode
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

CHROMIUM_PATH = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Flags that make a plain ``streamlit run`` behave like the CI server (see STREAMLIT-NOTES.md).
STREAMLIT_HEADLESS_FLAGS = [
    "--server.headless",
    "true",
    "--browser.gatherUsageStats",
    "false",
    "--server.fileWatcherType",
    "none",
    "--server.address",
    "127.0.0.1",
]

PORT_PLACEHOLDER = "{port}"
LOOPBACK_HOSTS = frozenset({"127.0.0.1"})

# Default timeouts (milliseconds for Playwright, seconds for the server).
DEFAULT_TIMEOUT_MS = 15_000
SERVER_START_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    """The server process died or never became healthy."""


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port on ``host`` (bind to port 0, read it, release it).

    There is a small window in which another process may take the port; :func:`start_server`
    retries with a fresh port when the server reports "address already in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def new_secret_key() -> str:
    """A fresh PORTAL_SECRET_KEY: urlsafe base64 of 32 random bytes."""
    return urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    # Never send the health probe through an http_proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


_OPENER = _no_proxy_opener()


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET ``url`` without any proxy; returns (status, body). HTTP errors are returned."""
    try:
        with _OPENER.open(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


@dataclass
class Server:
    """A running server process (its own process group) listening on 127.0.0.1:``port``."""

    cmd: list[str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes]
    startup_seconds: float = 0.0
    name: str = "server"
    db_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The app root, with the trailing slash Streamlit redirects to anyway."""
        return self.base_url + "/"

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def health(self, timeout: float = 2.0) -> str:
        """Body of ``/_stcore/health`` ("ok" when healthy); raises on connection errors."""
        _status, body = http_get(self.base_url + "/_stcore/health", timeout=timeout)
        return body.decode("utf-8", "replace").strip()

    def log_text(self) -> str:
        if self._log_file is not None:
            with contextlib.suppress(ValueError, OSError):
                self._log_file.flush()
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the whole process group, SIGKILL it after ``grace`` seconds. Idempotent."""
        try:
            if self._log_file is not None:
                code = self.proc.poll()
                note = (
                    "sending SIGTERM to the process group"
                    if code is None
                    else f"process had already exited with code {code}"
                )
                stamp = time.strftime("%H:%M:%S")
                with contextlib.suppress(OSError, ValueError):
                    self._log_file.write(f"[harness {stamp}] stop(): {note}\n".encode())
                    self._log_file.flush()
            if self.proc.poll() is None:
                _signal_group(self.proc, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(self.proc, signal.SIGKILL)
                    self.proc.wait(timeout=grace)
            # Children that outlived the leader (same group) get killed too.
            _signal_group(self.proc, signal.SIGKILL)
        finally:
            if self._log_file is not None:
                with contextlib.suppress(OSError):
                    self._log_file.close()
                self._log_file = None
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # The child was started with start_new_session=True, so its pgid == its pid. Signal by that
    # id only (never by name), and ignore "no such process".
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _address_in_use(log: str) -> bool:
    low = log.lower()
    return "address already in use" in low or "errno 98" in low


def start_server(
    cmd: Sequence[str] | Callable[[int], Sequence[str]],
    env: Mapping[str, str] | None,
    cwd: str | os.PathLike[str],
    log_path: str | os.PathLike[str],
    *,
    timeout: float = SERVER_START_TIMEOUT_S,
    inherit_env: bool = True,
    port: int | None = None,
    attempts: int = 3,
    name: str | None = None,
) -> Server:
    """Start ``cmd`` on a free loopback port and wait until ``/_stcore/health`` answers "ok".

    ``cmd`` is either a list in which every ``"{port}"`` is replaced by the chosen port
    (e.g. ``[sys.executable, "-m", "portal", "serve", "--port", "{port}", ...]``) or a callable
    ``port -> list``. ``env`` is laid over ``os.environ`` (pass ``inherit_env=False`` to use it
    as is). stdout and stderr go to ``log_path`` (appended to, so retries stay visible).

    Raises :class:`ServerStartError` with the log tail if the process exits or is not healthy
    within ``timeout`` seconds. The process is stopped before raising.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ) if inherit_env else {}
    full_env.update(env or {})
    full_env.setdefault("PYTHONUNBUFFERED", "1")

    last_error: ServerStartError | None = None
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else free_port()
        argv = (
            list(cmd(chosen))
            if callable(cmd)
            else [part.replace(PORT_PLACEHOLDER, str(chosen)) for part in cmd]
        )
        log_file = open(log_path, "ab")  # noqa: SIM115 - closed by Server.stop()
        log_offset = log_file.tell()
        log_file.write(f"$ {' '.join(argv)}   (cwd={cwd}, attempt {attempt})\n".encode())
        log_file.flush()
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=os.fspath(cwd),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = Server(
            cmd=argv,
            port=chosen,
            log_path=log_path,
            proc=proc,
            name=name or _name_of(argv),
            _log_file=log_file,
        )
        try:
            _wait_healthy(server, timeout)
        except ServerStartError as exc:
            server.stop()
            last_error = exc
            this_attempt = server.log_text().encode()[log_offset:].decode("utf-8", "replace")
            if port is None and _address_in_use(this_attempt) and attempt < attempts:
                continue
            raise
        except BaseException:
            server.stop()
            raise
        server.startup_seconds = time.monotonic() - started
        return server
    assert last_error is not None
    raise last_error


def _name_of(argv: Sequence[str]) -> str:
    """A short label for timings: "portal serve", "streamlit run _smoke_app.py", ..."""
    if "-m" in argv:
        i = argv.index("-m")
        rest = list(argv[i + 1 : i + 3])
        if rest[-1:] == ["run"] and len(argv) > i + 3:
            rest.append(Path(argv[i + 3]).name)
        return " ".join(rest)
    return Path(argv[0]).name


def _wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    last = "no answer yet"
    while True:
        code = server.proc.poll()
        if code is not None:
            raise ServerStartError(
                f"server exited with code {code} before becoming healthy: {server.cmd}\n"
                f"--- log tail ({server.log_path}) ---\n{server.log_tail()}"
            )
        try:
            body = server.health(timeout=1.0)
            if body == "ok":
                return
            last = f"health answered {body[:80]!r}"
        except (OSError, urllib.error.URLError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"server not healthy after {timeout:.0f}s ({last}): {server.cmd}\n"
                f"--- log tail ({server.log_path}) ---\n{server.log_tail()}"
            )
        time.sleep(delay)  # polling an external process, not waiting on the page
        delay = min(delay * 1.5, 0.25)


def portal_serve_cmd(db_path: str | os.PathLike[str], *extra: str) -> list[str]:
    """``python -m portal serve --port {port} --db <db_path> [extra...]``."""
    return [
        sys.executable,
        "-m",
        "portal",
        "serve",
        "--port",
        PORT_PLACEHOLDER,
        "--db",
        os.fspath(db_path),
        *extra,
    ]


def streamlit_run_cmd(script: str | os.PathLike[str], *extra: str) -> list[str]:
    """``python -m streamlit run <script>`` with the CI/headless flags on port ``{port}``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        os.fspath(script),
        *STREAMLIT_HEADLESS_FLAGS,
        "--server.port",
        PORT_PLACEHOLDER,
        *extra,
    ]


def script_server(script: str | os.PathLike[str], log_path: str | os.PathLike[str]) -> Server:
    """``streamlit run <script>`` (a test app under tests/e2e) from the repo root; a context
    manager that stops it."""
    return start_server(streamlit_run_cmd(script), {}, cwd=REPO_ROOT, log_path=log_path)


def portal_env(**overrides: str) -> dict[str, str]:
    """Environment for a test portal: fresh secret key, cheap bcrypt."""
    env = {"PORTAL_SECRET_KEY": new_secret_key(), "PORTAL_BCRYPT_ROUNDS": "4"}
    env.update(overrides)
    return env


def run_portal(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    input: str | None = None,  # noqa: A002 - same name as subprocess.run
    cwd: str | os.PathLike[str] = REPO_ROOT,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m portal <args>`` (e.g. to seed a database before the server opens it).

    Use the **same** ``env`` as the server (the ``portal_env`` fixture): the database is
    encrypted with PORTAL_SECRET_KEY and a server started with another key refuses to start
    ("The encryption key does not match this database"). Raises AssertionError with the
    output when the command fails.
    """
    return _run_python(
        ["-m", "portal", *args], env, f"portal {' '.join(args)}", input, cwd, timeout
    )


def portal_process_env(env: Mapping[str, str]) -> dict[str, str]:
    """``os.environ`` less the developer's PORTAL_* variables (PORTAL_DEMO, ...), plus ``env``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    return {**inherited, **env}


def _run_python(
    argv: Sequence[str],
    env: Mapping[str, str],
    what: str,
    input: str | None,  # noqa: A002 - same name as subprocess.run
    cwd: str | os.PathLike[str],
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """``python <argv>`` with exactly ``env`` as PORTAL_* variables; AssertionError on failure."""
    proc = subprocess.run(
        [sys.executable, *argv],
        cwd=os.fspath(cwd),
        env=portal_process_env(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{what} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)


def launch_chromium(playwright: Any, **kwargs: Any) -> Any:
    """Launch Debian's Chromium headless with the flags this machine needs."""
    args = list(CHROMIUM_ARGS) + list(kwargs.pop("args", []))
    return playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, args=args, headless=kwargs.pop("headless", True), **kwargs
    )


# --------------------------------------------------------------------------------------------
# Streamlit page helpers
# --------------------------------------------------------------------------------------------

APP_SELECTOR = '[data-testid="stApp"]'
STALE_SELECTOR = '[data-testid="stElementContainer"][data-stale="true"]'
IDLE_SELECTOR = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)


def wait_for_app_idle(page: Any, timeout: float | None = None) -> None:
    """Wait until the websocket is connected, no script run is active and no element is stale.

    Uses the attributes Streamlit 1.67 puts on the app root: ``data-test-connection-state``
    and ``data-test-script-state`` (``initial``/``running``/``notRunning``/``rerunRequested``),
    plus ``data-stale`` on element containers of the previous run.

    Caveat: immediately after a click the app may still report ``notRunning`` because the
    rerun request has not reached the server yet. After an action, prefer
    ``expect(<the next content>)``; use this helper for "page fully loaded" or before a
    screenshot, where the previous state is already what you want.

    Idle does not mean every widget is painted: widget code is loaded lazily (JS chunks), so
    an input can appear a moment after the run finished. Use auto-waiting locators and
    ``expect``; never branch on an instantaneous ``locator.count()``.
    """
    from playwright.sync_api import expect

    kw = {} if timeout is None else {"timeout": timeout}
    expect(page.locator(IDLE_SELECTOR)).to_have_count(1, **kw)
    expect(page.locator(STALE_SELECTOR)).to_have_count(0, **kw)


def wait_for_rerun(page: Any, next_content: Any, timeout: float | None = None) -> None:
    """After an action: wait for ``next_content`` to be visible, then for the run to finish.

    Seeing the new content proves the rerun it belongs to has started (no race with the old
    ``notRunning`` state); waiting for idle afterwards lets Streamlit remove the previous run's
    elements. Until then they stay in the DOM (``data-stale="true"``), so after a page switch or
    ``st.rerun()`` a ``get_by_label("Username")`` can match both the old and the new input.
    """
    from playwright.sync_api import expect

    kw = {} if timeout is None else {"timeout": timeout}
    expect(next_content).to_be_visible(**kw)
    wait_for_app_idle(page, timeout)


def open_app(page: Any, url: str, *, ready: Any = None) -> None:
    """Go to ``url``; wait for ``ready`` to be visible (if given) and the script run to finish.

    Before the first run the app root says ``data-test-script-state="initial"``, so there is
    no race with a stale ``notRunning`` here.
    """
    page.goto(url)
    if ready is None:
        wait_for_app_idle(page)
    else:
        wait_for_rerun(page, ready)


def text_input(page: Any, label: str, *, exact: bool = True) -> Any:
    """The ``<input>`` of ``st.text_input(label)`` (its aria-label is the label)."""
    return page.get_by_label(label, exact=exact)


def fill_and_commit(locator: Any, value: str) -> None:
    """Type into a Streamlit text input and commit the value (Enter, like a user would).

    Streamlit commits ``st.text_input`` on blur or Enter. Outside a form Enter triggers a rerun;
    inside a form it submits the form (only if the form allows Enter-to-submit). If you are going
    to click a button right after, plain ``locator.fill(value)`` is enough: the click blurs the
    input and Streamlit sends the value with the button press.
    """
    locator.fill(value)
    locator.press("Enter")


# --------------------------------------------------------------------------------------------
# QR codes and TOTP
# --------------------------------------------------------------------------------------------


class QRDecodeError(AssertionError):
    """No QR code could be decoded from the screenshot."""


def _decode_png(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    img = Image.open(io.BytesIO(png)).convert("L")
    candidates = [img]
    # Upscaled copy: helps when CSS shrank the modules below ~3 device pixels.
    candidates.append(img.resize((img.width * 2, img.height * 2), Image.Resampling.NEAREST))
    for candidate in candidates:
        found = zxingcpp.read_barcodes(candidate, formats=qr_only)
        texts = [b.text for b in found if b.valid]
        if texts:
            return texts
    return []


def _qr_target(page_or_locator: Any) -> Any:
    """A locator for the QR image: the Locator itself, or the single st.image on a Page."""
    if hasattr(page_or_locator, "goto"):  # a Page
        return page_or_locator.get_by_test_id("stImage").locator("img")
    return page_or_locator


def read_qr(page_or_locator: Any, *, save_to: str | os.PathLike[str] | None = None) -> str:
    """Screenshot the QR code element and decode it with zxing-cpp; returns the encoded text.

    Pass a Locator for the element showing the code (an ``<img>``, or a container such as the
    ``stImage`` element), or a Page: then the page's only ``st.image`` is used. The helper waits
    until the element is visible, every ``<img>`` in it is fully loaded, and no element is faded
    by a running rerun, so the screenshot has full contrast. ``save_to`` also writes the PNG.
    """
    from playwright.sync_api import expect

    target = _qr_target(page_or_locator)
    expect(target).to_be_visible()
    imgs = target if _is_img(target) else target.locator("img")
    for i in range(imgs.count()):
        img = imgs.nth(i)
        expect(img).to_have_js_property("complete", True)
        expect(img).not_to_have_js_property("naturalWidth", 0)
    # Streamlit fades the previous run's elements (data-stale) while a rerun is running.
    expect(target.page.locator(STALE_SELECTOR)).to_have_count(0)
    png = target.screenshot(animations="disabled", scale="device")
    if save_to is not None:
        Path(save_to).parent.mkdir(parents=True, exist_ok=True)
        Path(save_to).write_bytes(png)
    texts = _decode_png(png)
    if not texts:
        raise QRDecodeError(
            f"no QR code found in a {len(png)}-byte screenshot of {target} "
            f"(box {target.bounding_box()}); pass save_to=... to inspect it"
        )
    if len(set(texts)) > 1:
        raise QRDecodeError(f"more than one QR code in the element: {texts}")
    return texts[0]


def _is_img(locator: Any) -> bool:
    return bool(locator.evaluate("el => el.tagName === 'IMG'"))


def parse_otpauth(uri: str) -> dict[str, Any]:
    """Split an ``otpauth://totp/Issuer:account?secret=...`` URI into its parts.

    Returns a dict with ``type``, ``label`` (decoded), ``issuer`` (query parameter, else label
    prefix), ``label_issuer`` (label prefix or None), ``account``, ``secret`` (upper case, no
    padding/spaces), ``algorithm`` (default SHA1), ``digits`` (int, default 6), ``period``
    (int, default 30) and ``params`` (all query parameters, last value wins).
    """
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme.lower() != "otpauth":
        raise ValueError(f"not an otpauth URI: {uri!r}")
    label = urllib.parse.unquote(parts.path.lstrip("/"))
    label_issuer: str | None
    if ":" in label:
        label_issuer, account = (s.strip() for s in label.split(":", 1))
    else:
        label_issuer, account = None, label.strip()
    params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    secret = params.get("secret", "").replace(" ", "").rstrip("=").upper()
    return {
        "type": parts.netloc.lower(),
        "label": label,
        "issuer": params.get("issuer", label_issuer),
        "label_issuer": label_issuer,
        "account": account,
        "secret": secret,
        "algorithm": params.get("algorithm", "SHA1").upper(),
        "digits": int(params.get("digits", "6")),
        "period": int(params.get("period", "30")),
        "params": params,
    }


def totp_now(
    secret: str,
    *,
    digits: int = 6,
    period: int = 30,
    algorithm: str = "SHA1",
    at: float | None = None,
) -> str:
    """The current TOTP code for a base32 ``secret`` (or the code at unix time ``at``)."""
    import hashlib

    import pyotp

    digest = getattr(hashlib, algorithm.lower())
    totp = pyotp.TOTP(secret, digits=digits, interval=period, digest=digest)
    return totp.at(time.time() if at is None else at)


def totp_fresh(secret: str, *, min_remaining: float = 5.0, period: int = 30, **kw: Any) -> str:
    """Like :func:`totp_now`, but never a code that expires within ``min_remaining`` seconds.

    Near the end of a period the code for the next step is returned; servers accept the
    adjacent step (valid_window=1) and this avoids a flaky test at the :29 / :59 boundary.
    Servers that reject a reused step should get a code from a different step per use.
    """
    now = time.time()
    remaining = period - (now % period)
    at = now + remaining + 0.5 if remaining < min_remaining else now
    return totp_now(secret, period=period, at=at, **kw)


def totp_from_uri(uri: str, *, at: float | None = None) -> str:
    p = parse_otpauth(uri)
    return totp_now(
        p["secret"], digits=p["digits"], period=p["period"], algorithm=p["algorithm"], at=at
    )


def totp_step(at: float | None = None, *, period: int = 30) -> int:
    """The TOTP time step of unix time ``at`` (default: now)."""
    return int((time.time() if at is None else at) // period)


def totp_at_step(secret: str, step: int, *, period: int = 30, **kw: Any) -> str:
    """The code of one time step (computed at the middle of the step)."""
    return totp_now(secret, period=period, at=step * period + period / 2, **kw)


def totp_after(secret: str, used_step: int, *, period: int = 30, **kw: Any) -> tuple[str, int]:
    """``(code, step)`` for the step right after ``used_step``, once a server accepts it.

    For servers that accept the current step +-1 and refuse a step at or before the last one
    used (the replay guard): the next step is accepted as soon as the clock is in the step
    before it, so this returns at once unless ``used_step`` was itself a step ahead; then it
    waits (at most one period) for that step to begin. This is the only waiting on time the
    browser tests do.
    """
    step = used_step + 1
    earliest = (step - 1) * period + 0.5
    delay = earliest - time.time()
    if delay > 0:
        time.sleep(delay)  # waiting for a TOTP step to begin, never for the UI
    return totp_at_step(secret, step, period=period, **kw), step


# --------------------------------------------------------------------------------------------
# Request recording
# --------------------------------------------------------------------------------------------


@dataclass
class RequestRecorder:
    """Collects every URL the browser context requested (HTTP(S) and websockets)."""

    urls: list[str] = field(default_factory=list)

    def attach(self, context_or_page: Any) -> RequestRecorder:
        """Listen on a BrowserContext (covers every page and worker in it) or a Page."""
        context_or_page.on("request", lambda request: self.urls.append(request.url))
        if hasattr(context_or_page, "goto"):
            context_or_page.on("websocket", lambda ws: self.urls.append(ws.url))
        else:
            context_or_page.on("page", self._attach_ws)
            for existing in getattr(context_or_page, "pages", []):
                self._attach_ws(existing)
        return self

    def _attach_ws(self, page: Any) -> None:
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    @property
    def hosts(self) -> set[str]:
        out = set()
        for url in self.urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("data", "blob", "about", "javascript"):
                continue
            out.add(parts.hostname or "")
        return out

    def foreign(self, allowed: Iterable[str] = LOOPBACK_HOSTS) -> list[str]:
        """URLs whose host is not in ``allowed`` (data:/blob:/about: URLs are ignored)."""
        allowed = set(allowed)
        bad = []
        for url in self.urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("data", "blob", "about", "javascript"):
                continue
            if (parts.hostname or "") not in allowed:
                bad.append(url)
        return bad

    def assert_only_loopback(self, allowed: Iterable[str] = LOOPBACK_HOSTS) -> None:
        bad = self.foreign(allowed)
        assert not bad, f"requests left {sorted(set(allowed))}: {bad}"
        assert self.urls, "no request was recorded at all (recorder not attached?)"

    def clear(self) -> None:
        self.urls.clear()


# --------------------------------------------------------------------------------------------
# The portal: start a server with a given environment, seed accounts, repeated page steps
# --------------------------------------------------------------------------------------------

PORTAL_WIZARD = "Configure two-factor authentication"  # the page's heading
PORTAL_WIZARD_NAV = "Two-factor set-up"  # its link in the sidebar (portal/ui/nav.py TITLES)


def start_portal(
    db_path: str | os.PathLike[str],
    env: Mapping[str, str],
    log_path: str | os.PathLike[str],
    *extra: str,
    timeout: float = SERVER_START_TIMEOUT_S,
) -> Server:
    """``portal serve`` on a free port with exactly ``env`` as its PORTAL_* variables.

    For module fixtures that need their own environment (e.g. PORTAL_CLOCK_FILE) or a seeded
    database; the developer's PORTAL_* variables do not leak in. Stop it with ``.stop()``
    (or use it as a context manager).
    """
    server = start_server(
        portal_serve_cmd(db_path, *extra),
        portal_process_env(env),
        cwd=REPO_ROOT,
        log_path=log_path,
        timeout=timeout,
        inherit_env=False,
    )
    server.db_path = Path(db_path)
    server.env = dict(env)
    return server


def add_users(
    db_path: str | os.PathLike[str],
    env: Mapping[str, str],
    users: Sequence[tuple[str, str, str]],
    *,
    timeout: float = 60.0,
) -> None:
    """``portal user add NAME --role ROLE --password-stdin`` for each ``(name, password, role)``.

    The real CLI code path (``portal.cli.main``), but in one interpreter: each separate
    ``python -m portal`` costs about 2 s here. Run it before a server holds the database, with
    the server's ``env`` (the database is encrypted with its key).
    """
    argvs = [
        ["user", "add", name, "--role", role, "--password-stdin", "--db", os.fspath(db_path)]
        for name, _password, role in users
    ]
    script = (
        "import json, sys\n"
        "from portal.cli import main\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    code = main(argv)\n"
        "    if code:\n"
        "        sys.exit(code)\n"
    )
    passwords = "".join(password + "\n" for _name, password, _role in users)
    _run_python(
        ["-c", script, json.dumps(argvs)], env, "portal user add", passwords, REPO_ROOT, timeout
    )


def seeded_portal(
    base: str | os.PathLike[str], env: Mapping[str, str], users: Sequence[tuple[str, str, str]]
) -> Server:
    """``portal serve`` on ``<base>/portal.duckdb``, with ``users`` added first (``add_users``).

    For module fixtures: ``with seeded_portal(tmp_path_factory.mktemp(...), env, users) as s``.
    """
    db = Path(base) / "portal.duckdb"
    add_users(db, env, users)
    return start_portal(db, env, Path(base) / "portal-server.log")


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def button(scope: Any, key: str) -> Any:
    """The button of the widget with ``key=`` (Streamlit puts ``st-key-<key>`` on it).

    Safer than the label when several steps have a "Next" button: the previous step's button
    may still be on screen while the next run renders.
    """
    return scope.locator(f".st-key-{key}").get_by_role("button")


def portal_first_run(page: Any, username: str, password: str) -> None:
    """The first-run page: create the first security manager; ends on the sign-in page."""
    expect = _expect()
    text_input(page, "Username").fill(username)
    text_input(page, "Password").fill(password)
    text_input(page, "Password again").fill(password)
    page.get_by_role("button", name="Create security manager").click()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        f"Security manager {username} created"
    )
    expect_sign_in_page(page)


def portal_sign_in(page: Any, username: str, password: str) -> None:
    """On the sign-in page: type username and password and press *Sign in*."""
    text_input(page, "Username").fill(username)
    text_input(page, "Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def portal_enter_code(page: Any, code: str, *, label: str = "Authentication code") -> None:
    """The second sign-in step: type a code (``label="Backup code"`` for one) and Verify."""
    text_input(page, label).fill(code)
    page.get_by_role("button", name="Verify", exact=True).click()


def expect_signed_in(page: Any, username: str) -> None:
    """The sidebar names ``username`` and offers *Sign out*, and the script run has finished."""
    sidebar = page.get_by_test_id("stSidebar")
    wait_for_rerun(page, sidebar.get_by_role("button", name="Sign out"))
    _expect()(sidebar).to_contain_text(f"{username} · ")


def expect_sign_in_page(page: Any) -> None:
    """The sign-in form, and nobody signed in (no *Sign out* anywhere)."""
    expect = _expect()
    wait_for_rerun(page, page.get_by_role("button", name="Sign in", exact=True))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def portal_sign_out(page: Any) -> None:
    """Press *Sign out* in the sidebar; back on the sign-in page with "You are signed out."."""
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    done = page.get_by_test_id("stAlertContentSuccess").filter(has_text="You are signed out.")
    _expect()(done).to_be_visible()
    expect_sign_in_page(page)


def open_nav(page: Any, title: str) -> None:
    """Click a page of the sidebar navigation and wait until it is the current page."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    link.click()
    _expect()(link).to_have_attribute("aria-current", "page")


def wizard_confirm_password(page: Any, password: str) -> None:
    """The wizard's first step (from the signed-in sidebar): open it, give the password again."""
    open_nav(page, PORTAL_WIZARD_NAV)
    _expect()(page.get_by_text("please enter your password again")).to_be_visible()
    text_input(page, "Password").fill(password)
    page.get_by_role("button", name="Continue").click()


def wizard_scan(page: Any, *, issuer: str, account: str) -> dict[str, Any]:
    """Scan the wizard's QR code like a phone; check what an authenticator app relies on.

    Returns :func:`parse_otpauth` of the decoded URI after asserting: TOTP, the issuer
    parameter and the ``Issuer:account`` label, SHA1 / 6 digits / 30 s, a 160-bit base32 key.
    """
    otp = parse_otpauth(read_qr(page.get_by_test_id("stImage")))
    assert otp["type"] == "totp", otp
    assert otp["params"].get("issuer") == issuer, otp
    assert otp["label"] == f"{issuer}:{account}", otp
    assert (otp["algorithm"], otp["digits"], otp["period"]) == ("SHA1", 6, 30), otp
    padded = otp["secret"] + "=" * (-len(otp["secret"]) % 8)
    assert len(b32decode(padded)) == 20, f"not a 160-bit key: {otp['secret']}"
    return otp


def wizard_verify(page: Any, secret: str) -> int:
    """From the QR step: Next, type the current code, Verify. Returns the time step used."""
    expect = _expect()
    button(page, "wz_next_qr").click()
    step = totp_step()
    text_input(page, "Code from your app").fill(totp_at_step(secret, step))
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("The code is correct")
    return step


BACKUP_CODE_RE = r"[23456789a-hjkmnp-z]{4}-[23456789a-hjkmnp-z]{4}-[23456789a-hjkmnp-z]{4}"


def wizard_finish(page: Any, *, download: bool = True) -> list[str]:
    """From a verified code: Next, download the .txt (or Print), tick "stored", Finish.

    *Finish* waits until the codes were copied, downloaded or printed: ``download=True``
    downloads the .txt and returns its codes (checked to be the 10 codes shown on screen,
    ``xxxx-xxxx-xxxx``); ``download=False`` presses *Print* and returns those on screen.
    """
    expect = _expect()
    next_button = button(page, "wz_next_verify")
    expect(next_button).to_be_enabled()
    next_button.click()
    save = page.get_by_role("button", name="Download .txt", exact=True)
    expect(save).to_be_visible()
    wait_for_app_idle(page)
    shown = re.findall(BACKUP_CODE_RE, page.get_by_test_id("stMain").inner_text())
    assert len(shown) == 10 == len(set(shown)), shown
    codes = shown
    label = "I have stored my backup codes safely"
    if download:
        with page.expect_download() as info:
            save.click()
        text = Path(info.value.path()).read_text("utf-8")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        codes = [line for line in lines if re.fullmatch(BACKUP_CODE_RE, line)]
        assert len(codes) == 10 == len(set(codes)), text
        assert sorted(codes) == sorted(shown), (codes, shown)
        assert info.value.suggested_filename.endswith(".txt"), info.value.suggested_filename
    else:
        page.get_by_role("button", name="Print", exact=True).click()
    expect(page.get_by_role("checkbox", name=label)).to_be_enabled()
    page.get_by_text(label).click()
    finish = button(page, "wz_finish")
    expect(finish).to_be_enabled()
    finish.click()
    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()
    wait_for_app_idle(page)
    return codes


def manager_create_user(page: Any, username: str, display_name: str, password: str) -> None:
    """On the manager page: *Create user*, fill the dialog, Create; wait for the message."""
    expect = _expect()
    page.get_by_role("button", name="Create user").click()
    dialog = page.get_by_test_id("stDialog")
    expect(dialog).to_be_visible()
    text_input(dialog, "Username").fill(username)
    text_input(dialog, "Display name").fill(display_name)
    text_input(dialog, "First password").fill(password)
    text_input(dialog, "First password again").fill(password)
    dialog.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        f"Account {username} created"
    )
    expect(dialog).to_have_count(0)
    wait_for_app_idle(page)


def manager_select(page: Any, username: str) -> None:
    """Search the accounts table for ``username`` and tick its (only) row.

    The table is a canvas (glide-data-grid): the click goes to the row's checkbox position,
    first column, first row under the 35 px header.
    """
    expect = _expect()
    tab = page.get_by_role("tab", name="Accounts")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    search = page.locator(".st-key-sm_search input")
    search.fill(username)
    search.press("Enter")
    expect(page.get_by_text("1 account(s) match")).to_be_visible()
    wait_for_app_idle(page)
    grid = page.get_by_test_id("stDataFrame")
    grid.locator(".dvn-scroller").click(position={"x": 16, "y": 35 + 17})


def manager_act(page: Any, username: str, action: str, reason: str) -> str:
    """Select ``username``, press the ``action`` button (e.g. "Reset 2FA"), give the reason and
    confirm (the dialog's primary button, ``sm_confirm``). Returns the success message."""
    expect = _expect()
    manager_select(page, username)
    act = page.get_by_role("button", name=action)
    expect(act).to_be_enabled()
    act.click()
    dialog = page.get_by_test_id("stDialog")
    expect(dialog).to_contain_text(f"({username})")
    text_input(dialog, "Reason (goes into the audit trail)").fill(reason)
    button(dialog, "sm_confirm").click()  # labelled after the action ("Reset 2FA", ...)
    expect(dialog).to_have_count(0)  # closed by the full rerun that follows a success
    done = page.get_by_test_id("stAlertContentSuccess")
    wait_for_rerun(page, done)
    return str(done.inner_text())


def manager_metric(page: Any, label: str) -> Any:
    """The value element of an overview metric ("2FA enabled", "Reset granted", ...)."""
    metric = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return metric.get_by_test_id("stMetricValue")


# --------------------------------------------------------------------------------------------
# Attacker's tools: a page on another port, a raw Streamlit websocket client
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve_pages(pages: Mapping[str, str]) -> Iterator[str]:
    """Serve ``{path: html}`` from a thread on another free loopback port; yields its base URL.

    The other origin of the same host (``http://127.0.0.1:<other port>``): a page an attacker
    controls, which browsers count as the same *site* as the portal, so cookies travel.
    """
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = pages.get(self.path.split("?", 1)[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def rerun_backmsg() -> bytes:
    """The BackMsg a browser sends to run the script (default page, no widget states)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState

    return bytes(BackMsg(rerun_script=ClientState()).SerializeToString())


def cookie_header(context: Any) -> str:
    """The ``Cookie`` header a browser context would send to the portal (all its cookies)."""
    return "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())


@dataclass
class StreamRun:
    """What a raw ``/_stcore/stream`` client saw of one script run."""

    session_id: str
    text: str  # every ForwardMsg's bytes, decoded leniently: enough to search for "Signed in as"


def stream_open(
    base_url: str,
    *,
    origin: str | None = None,
    cookie: str = "",
    session_id: str = "",
    headers: Mapping[str, str] | None = None,
) -> Any:
    """Open Streamlit's websocket like its frontend does (or like an attacker would).

    ``session_id`` goes third in Sec-WebSocket-Protocol, as the frontend sends it on reconnect.
    Raises ``websockets.exceptions.InvalidStatus`` (``.response.status_code``) when refused.
    """
    from websockets.sync.client import connect

    extra = dict(headers or {})
    if cookie:
        extra["Cookie"] = cookie
    protocols = ["streamlit", "no-xsrf-token"] + ([session_id] if session_id else [])
    agent = extra.pop("User-Agent", "raw-stream-client")
    return connect(
        base_url.replace("http", "ws", 1) + "/_stcore/stream",
        origin=origin,  # type: ignore[arg-type]
        subprotocols=protocols,  # type: ignore[arg-type]
        additional_headers=extra,
        user_agent_header=agent,
        proxy=None,
        max_size=None,
        open_timeout=10,
    )


def stream_run(ws: Any, timeout: float = 20.0) -> StreamRun:
    """Ask for a script run and collect the messages until a run finished successfully."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ws.send(rerun_backmsg())
    session_id, chunks = "", []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no finished script run within {timeout}s: {chunks[-3:]}")
        raw = ws.recv(timeout=left)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        if msg.HasField("new_session"):
            session_id = session_id or msg.new_session.initialize.session_id
        chunks.append(raw.decode("utf-8", "replace"))
        if msg.HasField("script_finished") and msg.script_finished == msg.FINISHED_SUCCESSFULLY:
            return StreamRun(session_id, "\n".join(chunks))


class StreamSessions:
    """Streamlit session ids announced to a page over its websocket (the reconnect token)."""

    def __init__(self, page: Any) -> None:
        self.ids: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, ws: Any) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str):
            return
        msg = ForwardMsg()
        with contextlib.suppress(Exception):
            msg.ParseFromString(payload)
            if msg.HasField("new_session"):
                sid = msg.new_session.initialize.session_id
                if sid and sid not in self.ids:
                    self.ids.append(sid)
