"""Sessions in a real browser (issue 7).

* ``test_session_lifecycle_in_the_browser`` - the cookie is HttpOnly, SameSite=Strict, Secure,
  Path=/ and invisible to JavaScript; a reload or a new tab stays signed in; signing out in one
  tab signs out the other; another browser is not signed in; the idle timeout is enforced by the
  server's clock (a reload then shows the sign-in page with the reason).
* ``test_cookie_routes_refuse_foreign_origin_and_missing_header`` - the CSRF checks of
  /api/session/establish and /api/session/logout (403).

The tests share one server. Its clock is the real one plus the seconds written in the file named
by PORTAL_CLOCK_FILE (re-read on every use), so a test moves the running server past the idle
timeout without waiting; the ``clock`` fixture puts it back afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from harness import (
    Server,
    expect_sign_in_page,
    expect_signed_in,
    open_app,
    portal_env,
    portal_sign_in,
    portal_sign_out,
    seeded_portal,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

IDLE_MINUTES = 30  # the default, stated so the test does not depend on it silently
MAX_HOURS = 12
SESSION_COOKIE, BROWSER_COOKIE = "portal_session", "portal_browser"
PASSWORD = "session-pass-6402"
SAM = "sam"


@dataclass
class ClockServer:
    server: Server
    clock_file: Path


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockServer]:
    base = tmp_path_factory.mktemp("sessions")
    clock_file = base / "clock-offset"
    clock_file.write_text("0")
    env = portal_env(
        PORTAL_CLOCK_FILE=str(clock_file),
        PORTAL_SESSION_IDLE_MINUTES=str(IDLE_MINUTES),
        PORTAL_SESSION_MAX_HOURS=str(MAX_HOURS),
    )
    with seeded_portal(base, env, [(SAM, PASSWORD, "user")]) as server:
        yield ClockServer(server, clock_file)


@pytest.fixture
def server(clock_server: ClockServer) -> Server:
    return clock_server.server


@pytest.fixture
def clock(clock_server: ClockServer) -> Iterator[Any]:
    """``clock(seconds)`` moves the server's clock that far ahead of real time; reset after."""

    def move(seconds: float) -> None:
        clock_server.clock_file.write_text(str(seconds))

    try:
        yield move
    finally:
        move(0)


def _cookies(context: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in context.cookies()}


def _warning(page: Any, text: str) -> Any:
    return page.get_by_test_id("stAlertContentWarning").filter(has_text=text)


def test_session_lifecycle_in_the_browser(
    server: Server, page: Any, new_page: Any, clock: Any
) -> None:
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    assert SESSION_COOKIE not in _cookies(page.context)  # nothing before a complete sign-in
    portal_sign_in(page, SAM, PASSWORD)
    expect_signed_in(page, SAM)

    # The cookie's attributes, as the browser stored them ...
    jar = _cookies(page.context)
    cookie = jar[SESSION_COOKIE]
    assert cookie["httpOnly"] is True, cookie
    assert cookie["sameSite"] == "Strict", cookie
    assert cookie["secure"] is True, cookie  # Chromium keeps Secure cookies on http://127.0.0.1
    assert cookie["path"] == "/", cookie
    assert cookie["domain"] == "127.0.0.1", cookie  # host-only: no Domain attribute
    assert 0 < cookie["expires"] - time.time() <= MAX_HOURS * 3600 + 60, cookie
    assert len(cookie["value"]) >= 32, "an opaque random token"
    browser_id = jar[BROWSER_COOKIE]
    assert (browser_id["httpOnly"], browser_id["sameSite"]) == (True, "Strict"), browser_id
    # ... and JavaScript in the page cannot read it.
    visible = page.evaluate("document.cookie")
    assert SESSION_COOKIE not in visible and cookie["value"] not in visible, visible
    assert BROWSER_COOKIE not in visible, visible

    # A reload starts a new Streamlit session: still signed in, from the cookie.
    page.reload()
    expect_signed_in(page, SAM)
    expect(page.get_by_role("heading", name=f"Hello, {SAM}")).to_be_visible()

    # A second tab of the same browser: signed in too.
    tab = page.context.new_page()
    open_app(tab, server.url)
    expect_signed_in(tab, SAM)

    # Signing out in one tab signs out the other (server-side; the cookie is gone too).
    portal_sign_out(page)
    assert SESSION_COOKIE not in _cookies(page.context), "the logout route clears the cookie"
    tab.reload()
    expect_sign_in_page(tab)

    # Another browser (its own cookie jar) is not signed in by any of this ...
    other = new_page("other-browser")
    open_app(other, server.url)
    expect_sign_in_page(other)
    assert SESSION_COOKIE not in _cookies(other.context)
    # ... and once signed in there, nobody touches the portal for longer than the idle timeout.
    # Only the server's clock moves: the cookie itself would be good for hours.
    portal_sign_in(other, SAM, PASSWORD)
    expect_signed_in(other, SAM)
    clock((IDLE_MINUTES + 1) * 60)
    other.reload()
    expect_sign_in_page(other)
    expect(_warning(other, f"after {IDLE_MINUTES} minutes without activity")).to_be_visible()


def test_cookie_routes_refuse_foreign_origin_and_missing_header(
    server: Server, context: Any
) -> None:
    api = context.request
    origin = server.base_url
    establish, logout = (
        server.base_url + "/api/session/establish",
        server.base_url + "/api/session/logout",
    )
    body = json.dumps({"ticket": "not-a-real-ticket"})

    def post(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = api.post(url, headers={"Content-Type": "application/json", **headers}, data=body)
        return response.status, response.json()

    csrf = {"X-Portal-Request": "1"}
    refused = (403, {"ok": False, "error": "forbidden"})
    for url in (establish, logout):
        assert post(url, {"Origin": "http://evil.example", **csrf}) == refused, url
        assert post(url, {"Origin": "http://127.0.0.1:1", **csrf}) == refused, url  # other port
        assert post(url, {"Origin": origin}) == refused, url  # no custom header
        assert post(url, {"Origin": origin, "X-Portal-Request": "0"}) == refused, url
        assert post(url, csrf) == refused, url  # no Origin at all

    # Controls: same origin with the header passes the check (the bogus ticket is then refused
    # for what it is; logging out without a session is harmless).
    status, answer = post(establish, {"Origin": origin, **csrf})
    assert status == 403 and answer["error"] != "forbidden", answer
    assert post(logout, {"Origin": origin, **csrf}) == (200, {"ok": True})
