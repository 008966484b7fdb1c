"""Self-test of the e2e harness against a tiny Streamlit script (tests/e2e/_smoke_app.py).

It does not need the portal: it proves that Chromium starts, that a Streamlit server can be
started/stopped on a free port, that a QR code rendered by st.image can be read back, that
widgets can be driven by label/role, and that no request leaves 127.0.0.1.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import (
    Server,
    ServerStartError,
    open_app,
    parse_otpauth,
    read_qr,
    script_server,
    start_server,
    totp_now,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

SMOKE_SCRIPT = "tests/e2e/_smoke_app.py"
SMOKE_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # same as in _smoke_app.py


@pytest.fixture
def smoke_server(tmp_path: Path) -> Iterator[Server]:
    with script_server(SMOKE_SCRIPT, tmp_path / "smoke-server.log") as server:
        yield server


def test_smoke_app_qr_widgets_and_loopback_only(
    smoke_server: Server, page: Any, request_recorder: Any
) -> None:
    open_app(page, smoke_server.url, ready=page.get_by_role("heading", name="Harness smoke app"))

    # The QR code, read back from a screenshot of the st.image element.
    uri = read_qr(page.get_by_test_id("stImage"))
    otp = parse_otpauth(uri)
    assert otp["secret"] == SMOKE_SECRET
    assert otp["issuer"] == "Harness Smoke"
    assert otp["label_issuer"] == "Harness Smoke"
    assert otp["account"] == "alice@example.test"
    assert (otp["algorithm"], otp["digits"], otp["period"]) == ("SHA1", 6, 30)

    # A text input inside a form + its submit button.
    page.get_by_label("Your name").fill("Alice")
    page.get_by_role("button", name="Greet").click()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_text("Hello, Alice!")

    # A text input outside a form + a normal button, fed with a live TOTP code.
    code = totp_now(otp["secret"])
    page.get_by_label("One-time code").fill(code)
    page.get_by_role("button", name="Check code").click()
    expect(page.get_by_test_id("stAlertContentInfo")).to_have_text("You typed 6 digits")
    # The earlier result is gone after this rerun (a button is true for one run only).
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_count(0)

    # The websocket is recorded too (ws://127.0.0.1:<port>/_stcore/stream).
    assert f"ws://127.0.0.1:{smoke_server.port}/_stcore/stream" in request_recorder.urls
    request_recorder.assert_only_loopback()


def test_start_server_reports_log_tail_when_process_dies(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('boom on port {port}'); sys.exit(3)"]
    started = time.monotonic()
    with pytest.raises(ServerStartError, match=r"(?s)exited with code 3.*boom on port \d+"):
        start_server(cmd, {}, cwd=tmp_path, log_path=tmp_path / "dies.log")
    assert time.monotonic() - started < 10


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    # A "server" that is healthy (python's http.server answers anything with 200 for files;
    # serve a directory containing _stcore/health = "ok") and has a grandchild process.
    (tmp_path / "_stcore").mkdir()
    (tmp_path / "_stcore" / "health").write_text("ok")
    script = (
        "import subprocess, sys, http.server, functools;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
        "open('child.pid', 'w').write(str(child.pid));"
        "h = functools.partial(http.server.SimpleHTTPRequestHandler, directory='.');"
        "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), h).serve_forever()"
    )
    server = start_server(
        [sys.executable, "-c", script, "{port}"], {}, cwd=tmp_path, log_path=tmp_path / "g.log"
    )
    child_pid = int((tmp_path / "child.pid").read_text())
    assert server.health() == "ok"
    server.stop()
    assert not server.is_running()
    # The grandchild belonged to the same process group and must be gone too.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child_pid):
        time.sleep(0.05)
    assert not _alive(child_pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_parse_otpauth_defaults_and_escapes() -> None:
    otp = parse_otpauth(
        "otpauth://totp/ACME%20Co:bob%2Bx@example.com?secret=jbsw%20y3dp&issuer=ACME%20Co"
    )
    assert otp["issuer"] == "ACME Co"
    assert otp["account"] == "bob+x@example.com"
    assert otp["secret"] == "JBSWY3DP"
    assert (otp["algorithm"], otp["digits"], otp["period"]) == ("SHA1", 6, 30)
    bare = parse_otpauth("otpauth://totp/carol?secret=ABC&digits=8&period=60&algorithm=sha256")
    assert bare["issuer"] is None and bare["account"] == "carol"
    assert (bare["algorithm"], bare["digits"], bare["period"]) == ("SHA256", 8, 60)
    with pytest.raises(ValueError):
        parse_otpauth("https://example.com/?secret=ABC")


def test_totp_now_matches_rfc6238_vector() -> None:
    # RFC 6238 appendix B, SHA1, T = 59 s -> 94287082 (8 digits); secret "12345678901234567890".
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp_now(secret, digits=8, at=59) == "94287082"
