"""Forward auth through Debian's nginx, in Chromium (issue 14 part 1).

nginx serves the portal (auth.portal.localhost) and a tiny internal app (app.portal.localhost,
a few lines of http.server that print the Remote-User they got) on one port; the app's requests
go through ``auth_request`` to GET /api/authz. The session cookie covers both hosts
(session_cookie_domain). Chromium resolves every *.localhost name to the loopback address.

* ``test_sign_in_through_the_proxy`` - the app redirects to the portal's sign-in; password and a
  code from the scanned QR; the establish answer names the app and the browser is back on it with
  the right Remote-User; a forged Remote-User header never reaches the app; a person without 2FA
  is refused (a clear page) where the rule asks for 2FA and passes elsewhere; signing out ends
  access to the app.

``NGINX_BLOCKS`` is the configuration README "Protecting other apps" shows, verbatim.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from harness import (
    REPO_ROOT,
    Server,
    add_users,
    button,
    expect_sign_in_page,
    expect_signed_in,
    free_port,
    open_app,
    portal_enter_code,
    portal_env,
    portal_process_env,
    portal_serve_cmd,
    portal_sign_in,
    portal_sign_out,
    start_server,
    totp_after,
    wizard_confirm_password,
    wizard_finish,
    wizard_scan,
    wizard_verify,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.nginx import Nginx, start_nginx

pytestmark = pytest.mark.e2e

ALICE, ALICE_PW = "alice", "alice-proxy-pass-4410"
BOB, BOB_PW = "bob", "bob-proxy-pass-7781"
ISSUER = "Proxy Test Portal"

# ---8<--- the README's nginx configuration (portal 127.0.0.1:PORTAL_PORT, app APP_PORT)
NGINX_BLOCKS = r"""
upstream portal { server 127.0.0.1:PORTAL_PORT; }
upstream internal_app { server 127.0.0.1:APP_PORT; }
map $http_upgrade $connection_upgrade { default upgrade; '' close; }

# The portal itself (public_url = http://auth.portal.localhost:{port}).
server {
    listen 127.0.0.1:{port};
    server_name auth.portal.localhost;
    location / {
        proxy_pass http://portal;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Upgrade $http_upgrade;        # Streamlit's websocket
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 1h;
    }
}

# An app behind the portal's sign-in.
server {
    listen 127.0.0.1:{port};
    server_name app.portal.localhost;

    location = /_portal_authz {
        internal;
        proxy_pass http://portal/api/authz;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }

    location / {
        auth_request /_portal_authz;
        auth_request_set $portal_user $upstream_http_remote_user;
        auth_request_set $portal_name $upstream_http_remote_name;
        auth_request_set $portal_email $upstream_http_remote_email;
        auth_request_set $portal_groups $upstream_http_remote_groups;
        # Set from the portal's answer only: whatever the browser sent under these names is
        # replaced (nginx drops header names with underscores, so remote_user cannot sneak in).
        proxy_set_header Remote-User $portal_user;
        proxy_set_header Remote-Name $portal_name;
        proxy_set_header Remote-Email $portal_email;
        proxy_set_header Remote-Groups $portal_groups;
        error_page 401 403 = @portal_signin;
        proxy_pass http://internal_app;
    }

    location @portal_signin {
        return 302 http://auth.portal.localhost:{port}/api/authz/signin?rd=$scheme://$http_host$request_uri;
    }
}
"""
# ---8<---

RULES = """
[[rule]]
host = "app.portal.localhost"
path = "/"
allow = "signed_in"

[[rule]]
host = "app.portal.localhost"
path = "/secure"
allow = "two_factor"
"""

APP = r"""
import html, http.server, sys

class App(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/_stcore/health":  # what the test harness waits for
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok"); return
        got = {k: self.headers.get(k, "(none)") for k in ("Remote-User", "Remote-Groups")}
        body = "<!doctype html><title>Internal app</title><h1>Internal app</h1>" + "".join(
            f"<p id='{k.lower()}'>{k}: {html.escape(v)}</p>" for k, v in got.items()
        )
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), App).serve_forever()
"""


@dataclass
class Stack:
    proxy: Nginx
    portal: Server
    app: Server

    @property
    def portal_url(self) -> str:
        return f"http://auth.portal.localhost:{self.proxy.port}"

    def app_url(self, path: str = "/") -> str:
        return f"http://app.portal.localhost:{self.proxy.port}{path}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("forward-auth")
    portal_port, app_port = free_port(), free_port()
    blocks = NGINX_BLOCKS.replace("PORTAL_PORT", str(portal_port))
    blocks = blocks.replace("APP_PORT", str(app_port))
    (base / "rules.toml").write_text(RULES)
    (base / "app.py").write_text(APP)
    with start_nginx(base, blocks) as proxy:
        env = portal_env(
            PORTAL_ISSUER=ISSUER,
            PORTAL_PUBLIC_URL=f"http://auth.portal.localhost:{proxy.port}",
            PORTAL_TRUSTED_PROXIES="127.0.0.1",
            PORTAL_SESSION_COOKIE_DOMAIN="portal.localhost",
            PORTAL_AUTHZ_HOSTS="app.portal.localhost",
            PORTAL_AUTHZ_RULES_FILE=str(base / "rules.toml"),
        )
        db = base / "portal.duckdb"
        add_users(db, env, [(ALICE, ALICE_PW, "user"), (BOB, BOB_PW, "user")])
        app = _start_app(base, app_port)
        portal = start_server(
            portal_serve_cmd(db),
            portal_process_env(env),
            cwd=REPO_ROOT,
            log_path=base / "portal-server.log",
            inherit_env=False,
            port=portal_port,
        )
        try:
            yield Stack(proxy, portal, app)
        finally:
            portal.stop()
            app.stop()


def _start_app(base: Path, port: int) -> Server:
    return start_server(
        [sys.executable, str(base / "app.py"), "{port}"],
        {},
        cwd=base,
        log_path=base / "app.log",
        port=port,
        name="internal app",
    )


def _back_on(page: Any, establish: Any, wanted: str) -> None:
    """The establish answer names the app, and the browser goes back there by itself."""
    try:
        named = json.loads(establish.body()).get("next")
    except PlaywrightError:  # the page already navigated away: to the app, checked below
        named = wanted
    assert named == wanted, named
    expect(page).to_have_url(wanted)


def _enrol(page: Any, stack: Stack) -> dict[str, Any]:
    """Alice turns 2FA on in the portal (scanning the QR code), then signs out."""
    open_app(page, stack.portal_url + "/")
    portal_sign_in(page, ALICE, ALICE_PW)
    expect_signed_in(page, ALICE)
    wizard_confirm_password(page, ALICE_PW)
    button(page, "wz_next_intro").click()
    otp = wizard_scan(page, issuer=ISSUER, account=ALICE)
    otp["step"] = wizard_verify(page, otp["secret"])
    wizard_finish(page, download=False)
    portal_sign_out(page)
    return otp


def test_sign_in_through_the_proxy(stack: Stack, page: Any, new_page: Any) -> None:
    otp = _enrol(page, stack)
    page.context.clear_cookies()

    # Not signed in: the app sends the browser to the portal's sign-in.
    page.goto(stack.app_url("/secure/report?month=5&x=1"))
    expect_sign_in_page(page)
    assert page.url.startswith(stack.portal_url + "/"), page.url
    portal_sign_in(page, ALICE, ALICE_PW)
    code, _ = totp_after(otp["secret"], otp["step"])
    with page.expect_response("**/api/session/establish") as answer:
        portal_enter_code(page, code)
    wanted = stack.app_url("/secure/report?month=5&x=1")
    assert answer.value.status == 200
    _back_on(page, answer.value, wanted)
    expect(page.locator("#remote-user")).to_have_text("Remote-User: alice")
    expect(page.locator("#remote-groups")).to_have_text("Remote-Groups: user")

    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["portal_session"]
    assert session["domain"] == ".portal.localhost", session
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"

    # A forged Remote-User from the browser never reaches the app.
    page.set_extra_http_headers({"Remote-User": "boss", "Remote-Groups": "security_manager"})
    page.goto(stack.app_url("/"))
    expect(page.locator("#remote-user")).to_have_text("Remote-User: alice")
    expect(page.locator("#remote-groups")).to_have_text("Remote-Groups: user")
    stranger = new_page("stranger")
    stranger.set_extra_http_headers({"Remote-User": "alice"})
    stranger.goto(stack.app_url("/"))
    expect_sign_in_page(stranger)  # no session: the portal, never the app
    page.set_extra_http_headers({})

    # Bob has no 2FA: the /secure rule refuses him with a clear page; / lets him in.
    bob = new_page("bob")
    open_app(bob, stack.portal_url + "/")
    portal_sign_in(bob, BOB, BOB_PW)
    expect_signed_in(bob, BOB)
    bob.goto(stack.app_url("/secure/"))
    expect(bob.locator("#reason")).to_contain_text("signed in with two-factor authentication")
    assert bob.url.startswith(stack.portal_url + "/api/authz/signin?rd="), bob.url
    bob.goto(stack.app_url("/"))
    expect(bob.locator("#remote-user")).to_have_text("Remote-User: bob")

    # Signing out in the portal ends access to the app at once.
    page.goto(stack.portal_url + "/")
    expect_signed_in(page, ALICE)
    portal_sign_out(page)
    page.goto(stack.app_url("/"))
    expect_sign_in_page(page)
    assert "Internal app" not in page.content()
