"""Browser-facing defences of issue 11 (items 2, 8, 14, 15) against a real server.

* ``test_every_response_carries_the_security_headers`` - CSP with ``frame-ancestors 'none'``,
  X-Frame-Options, Referrer-Policy and nosniff on pages, static files, health and refusals.
* ``test_a_framed_portal_does_not_render`` - a page on another port frames the portal: Chromium
  refuses to show it.
* ``test_a_page_on_another_port_cannot_use_the_portal_websocket`` - the attack of item 2 in
  Chromium: a script on another port opens the portal's websocket with the victim's cookies.
* ``test_the_websocket_origin_must_be_the_portal_own`` - the same with a raw client: other port,
  host or scheme and a missing Origin are refused with 403; the portal's own origin works.
* ``test_a_known_session_id_without_the_browser_cookie_gets_a_fresh_session`` - reconnecting
  with a victim's Streamlit session id resumes it only with that browser's cookies.
* ``test_the_qr_key_is_served_from_no_url_and_the_csp_is_not_violated`` - while the QR step is on
  screen no URL serves the key (it is inline); sign-in, wizard and manager page raise no CSP
  violation.
* ``test_forwarded_for_counts_only_from_trusted_proxies`` - a forged X-Forwarded-For from
  127.0.0.1 is audited as 127.0.0.1, unless 127.0.0.1 is a configured proxy.
"""

from __future__ import annotations

import re
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from harness import (
    _OPENER,
    APP_SELECTOR,
    PORTAL_WIZARD_NAV,
    Server,
    StreamSessions,
    button,
    cookie_header,
    expect_signed_in,
    http_get,
    open_app,
    open_nav,
    portal_env,
    portal_sign_in,
    rerun_backmsg,
    seeded_portal,
    serve_pages,
    stream_open,
    stream_run,
    wait_for_app_idle,
    wizard_confirm_password,
    wizard_finish,
    wizard_scan,
    wizard_verify,
)
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus

from tests.e2e.nginx import start_nginx

pytestmark = pytest.mark.e2e

MANAGER, MANAGER_PW = "kim", "kim-pass-5519"
USER, USER_PW = "lee", "lee-pass-8830"
ISSUER = "2FA Portal"
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = [(MANAGER, MANAGER_PW, "security_manager"), (USER, USER_PW, "user")]
    with seeded_portal(tmp_path_factory.mktemp("security"), portal_env(), users) as server:
        yield server


def _headers(url: str, post: bool = False) -> tuple[int, dict[str, str]]:
    try:
        with _OPENER.open(url, data=b"{}" if post else None, timeout=5) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def _assert_security_headers(where: str, headers: dict[str, str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (where, name, headers)
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), (where, headers)


def test_every_response_carries_the_security_headers(server: Server) -> None:
    _status, index = http_get(server.url)
    script = re.search(rb'src="\./(static/js/index\.[^"]+\.js)"', index)
    assert script, index[:500]
    paths = ["", "_stcore/health", "favicon.png", script.group(1).decode(), "no/such/page"]
    for path in paths:
        status, headers = _headers(server.url + path)
        assert status == 200, (path, status)
        _assert_security_headers(path, headers)
    status, headers = _headers(server.url + "api/session/logout", post=True)  # refused: no Origin
    assert status == 403, status
    _assert_security_headers("refused POST", headers)


def test_a_framed_portal_does_not_render(server: Server, page: Any) -> None:
    frame_page = f'<iframe id="portal" src="{server.url}" width="900" height="600"></iframe>'
    with serve_pages({"/frame.html": frame_page}) as other:
        with page.expect_console_message(lambda m: "frame-ancestors 'none'" in m.text):
            page.goto(other + "/frame.html")  # Chromium: "Framing ... has been blocked"
        expect(page.frame_locator("#portal").locator(APP_SELECTOR)).to_have_count(0)
        framed = [f.url for f in page.frames if f != page.main_frame]
        assert framed == ["chrome-error://chromewebdata/"], framed  # its "is blocked" page


ATTACK_PAGE = """<!doctype html><p id="result">waiting</p><script>
const out = document.getElementById("result");
const ws = new WebSocket("ws://127.0.0.1:{port}/_stcore/stream", ["streamlit"]);
ws.binaryType = "arraybuffer";
let opened = false;
ws.onopen = () => {{
  opened = true;
  out.textContent = "open";
  ws.send(new Uint8Array([{rerun}]));  // a script run: the page the cookies sign in to
}};
ws.onmessage = (e) => {{
  if (new TextDecoder().decode(e.data).includes("Signed in as")) out.textContent = "leaked";
}};
ws.onclose = () => {{ if (!opened) out.textContent = "refused"; }};
</script>"""


def _sign_in(server: Server, page: Any, username: str, password: str) -> None:
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    portal_sign_in(page, username, password)
    expect_signed_in(page, username)


def test_a_page_on_another_port_cannot_use_the_portal_websocket(server: Server, page: Any) -> None:
    _sign_in(server, page, USER, USER_PW)
    rerun = ",".join(str(b) for b in rerun_backmsg())
    attack = ATTACK_PAGE.format(port=server.port, rerun=rerun)
    with serve_pages({"/attack.html": attack}) as other:
        evil = page.context.new_page()  # same browser: the victim's cookies travel along
        evil.goto(other + "/attack.html")
        expect(evil.locator("#result")).to_have_text("refused")
    # The portal's own page still works, over its own websocket.
    page.reload()
    expect_signed_in(page, USER)


def _refused(base_url: str, **kw: Any) -> int:
    with pytest.raises(InvalidStatus) as info:
        stream_open(base_url, **kw).close()
    return int(info.value.response.status_code)


def test_the_websocket_origin_must_be_the_portal_own(server: Server, page: Any) -> None:
    _sign_in(server, page, USER, USER_PW)
    cookie, port = cookie_header(page.context), server.port
    agent = {"User-Agent": page.evaluate("navigator.userAgent")}  # the session cookie's browser
    for origin in (
        f"http://127.0.0.1:{port + 1}",  # another port of the same host
        f"http://localhost:{port}",  # another host name of the same machine
        f"https://127.0.0.1:{port}",  # another scheme
        None,  # no Origin at all: browsers always send one
    ):
        assert _refused(server.base_url, origin=origin, cookie=cookie) == 403, origin
    with stream_open(server.base_url, origin=server.base_url, cookie=cookie, headers=agent) as ws:
        assert "Signed in as" in stream_run(ws).text


def _reconnect(server: Server, session_id: str, cookie: str = "") -> Any:
    """Reconnect to ``session_id`` from the portal's own origin, as its frontend would."""
    kw = {"origin": server.base_url, "session_id": session_id, "cookie": cookie}
    with stream_open(server.base_url, **kw) as ws:
        return stream_run(ws)


def test_a_known_session_id_without_the_browser_cookie_gets_a_fresh_session(
    server: Server, page: Any
) -> None:
    streams = StreamSessions(page)
    _sign_in(server, page, USER, USER_PW)
    victim = streams.ids[0]
    # The tab is open (the session is active): its id alone does not take it over ...
    run = _reconnect(server, victim)
    assert run.session_id != victim and "Signed in as" not in run.text, run.session_id
    open_nav(page, PORTAL_WIZARD_NAV)  # ... and the tab is undisturbed
    expect(page.get_by_text("please enter your password again")).to_be_visible()
    cookie = cookie_header(page.context)
    page.close()  # the session is now stored for a reconnect: still not without the cookie
    run = _reconnect(server, victim)
    assert run.session_id != victim and "Signed in as" not in run.text, run.session_id
    # The same browser (its cookies) reconnects to its own session, as after a network blip.
    run = _reconnect(server, victim, cookie)
    assert run.session_id == victim and "Signed in as" in run.text


def _csp_watch(page: Any) -> list[str]:
    seen: list[str] = []

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text:
            seen.append(message.text)

    page.on("console", note)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    return seen


def _assert_no_url_serves(key: str, urls: list[str], base_url: str) -> None:
    from harness import _decode_png

    for url in sorted({u for u in urls if u.startswith(base_url)}):
        _status, body = http_get(url, timeout=5)  # no cookies: an outsider with the URL
        assert key.encode() not in body, url
        if body[:8] == b"\x89PNG\r\n\x1a\n":
            assert not any(key in text for text in _decode_png(body)), url


def test_the_qr_key_is_served_from_no_url_and_the_csp_is_not_violated(
    server: Server, page: Any, request_recorder: Any
) -> None:
    violations = _csp_watch(page)
    csp = page.goto(server.url).headers.get("content-security-policy") or ""
    _sign_in(server, page, MANAGER, MANAGER_PW)
    wizard_confirm_password(page, MANAGER_PW)
    button(page, "wz_next_intro").click()
    key = wizard_scan(page, issuer=ISSUER, account=MANAGER)["secret"]
    src = page.get_by_test_id("stImage").locator("img").get_attribute("src") or ""
    assert src.startswith("data:image/"), src[:80]
    assert re.findall(r"/media/[0-9a-f]{16,}", page.content()) == []  # Streamlit's media URLs
    _assert_no_url_serves(key, request_recorder.urls, server.base_url)
    wizard_verify(page, key)
    wizard_finish(page, download=False)
    open_nav(page, "Security manager")
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()  # the enrolment chart
    for tab in ("Audit trail", "Notebooks", "Accounts"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        wait_for_app_idle(page)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    assert "frame-ancestors 'none'" in csp, csp  # the policy was there all along ...
    assert violations == []  # ... and the portal ran inside it


FORWARDED = "203.0.113.7"
# A reverse proxy that reports every client as FORWARDED, on the page's requests and on the
# websocket alike (Chromium sends a page's extra headers on neither websocket handshakes nor
# through a proxy it does not know of, so a real proxy is what can say it).
PROXY = """
server {{
    listen 127.0.0.1:{{port}};
    location / {{
        proxy_pass http://127.0.0.1:{portal};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header X-Forwarded-For {forwarded};
    }}
}}
"""


@pytest.mark.parametrize(("trusted", "audited"), [("", "127.0.0.1"), ("127.0.0.1", FORWARDED)])
def test_forwarded_for_counts_only_from_trusted_proxies(
    browser: Any, tmp_path: Path, trusted: str, audited: str
) -> None:
    env = portal_env(PORTAL_TRUSTED_PROXIES=trusted)
    server = seeded_portal(tmp_path, env, [(USER, USER_PW, "user")])
    context = browser.new_context()
    try:
        blocks = PROXY.format(portal=server.port, forwarded=FORWARDED)
        with start_nginx(tmp_path, blocks) as proxy:
            page = context.new_page()
            open_app(page, proxy.url, ready=page.get_by_role("heading", name="Sign in"))
            portal_sign_in(page, USER, USER_PW)
            expect_signed_in(page, USER)
    finally:
        context.close()
        server.stop()
    with duckdb.connect(str(server.db_path), read_only=True) as con:
        rows = con.execute("SELECT source FROM audit WHERE event = 'sign_in_ok'").fetchall()
    assert [r[0].split(" ")[0] for r in rows] == [audited], rows
