"""The ASGI app: Streamlit plus the two cookie routes, the guard and the browser-cookie middleware.

`portal serve` runs this file (`streamlit run portal/asgi.py`), so the routes are part of the
server; running portal/app.py directly works too, but without sessions that survive a reload
and without the origin checks and security headers of portal/http_guard.py.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from portal import http_guard
from portal.access import notices, sessions
from portal.context import shared_portal
from portal.errors import PortalError
from portal.gateway import routes as gateway
from portal.ops import schedule
from portal.settings import load_settings

CSRF_HEADER = "x-portal-request"
YEAR = 365 * 24 * 3600


def _secure(request: Request) -> bool:
    return http_guard.is_secure(request)


def _cookie(name: str, value: str, max_age: int, secure: bool) -> str:
    # The session and browser cookies go together: forward auth checks the pair on every host.
    return http_guard.cookie(name, value, max_age, secure, _cookie_domain)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    return bool(origin and host and urlsplit(origin).netloc == host)


def _refuse(status: int, why: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": why}, status_code=status)


async def establish(request: Request) -> JSONResponse:
    """Redeem a one-time ticket and set the HttpOnly session cookie."""
    if not _same_origin(request) or request.headers.get(CSRF_HEADER) != "1":
        return _refuse(403, "forbidden")
    try:
        body: Any = json.loads(await request.body() or b"{}")
        ticket = str(body.get("ticket", ""))[:200]
    except (ValueError, AttributeError):
        return _refuse(400, "bad request")
    browser = request.cookies.get(sessions.BROWSER_COOKIE, "")
    agent = request.headers.get("user-agent", "")
    portal = shared_portal(load_settings())
    try:
        token = await run_in_threadpool(sessions.redeem_ticket, portal, ticket, browser, agent)
    except PortalError as exc:
        return _refuse(403, str(exc))
    # Sent here from a protected app (GET /api/authz/signin): the page goes back there.
    back = gateway.return_url(portal.settings, request)
    response = JSONResponse({"ok": True, "next": back} if back else {"ok": True})
    max_age = portal.settings.session_max_hours * 3600
    response.headers.append(
        "set-cookie", _cookie(sessions.SESSION_COOKIE, token, max_age, _secure(request))
    )
    if _cookie_domain:  # an older host-only browser cookie would not reach the other hosts
        response.headers.append(
            "set-cookie", _cookie(sessions.BROWSER_COOKIE, browser, YEAR, _secure(request))
        )
    if request.cookies.get(gateway.RETURN_COOKIE):
        response.headers.append(
            "set-cookie", _cookie(gateway.RETURN_COOKIE, "", 0, _secure(request))
        )
    return response


async def logout(request: Request) -> JSONResponse:
    """End the session server-side and clear its cookie."""
    if not _same_origin(request) or request.headers.get(CSRF_HEADER) != "1":
        return _refuse(403, "forbidden")
    token = request.cookies.get(sessions.SESSION_COOKIE, "")
    if token:
        portal = shared_portal(load_settings())
        await run_in_threadpool(sessions.end_by_token, portal, token)
    response = JSONResponse({"ok": True})
    response.headers.append("set-cookie", _cookie(sessions.SESSION_COOKIE, "", 0, _secure(request)))
    return response


class BrowserCookieMiddleware(http_guard.HttpMiddleware):
    """Give every browser a random HttpOnly id on its first page load (tickets bind to it)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        if request.cookies.get(sessions.BROWSER_COOKIE):
            await self.app(scope, receive, send)
            return
        value = _cookie(sessions.BROWSER_COOKIE, secrets.token_urlsafe(24), YEAR, _secure(request))
        cookie = [(b"set-cookie", value.encode("latin-1"))]
        await self.app(scope, receive, http_guard.sending_headers(send, cookie, replace=False))


_settings = load_settings()
http_guard.check_proxy_trust(_settings.trusted_proxies, os.environ)
_cookie_domain = http_guard.check_cookie_domain(
    _settings.session_cookie_domain, _settings.public_url
)
gateway.rules_for(_settings)  # a malformed rules file stops the start, with the reason
notices.start_mailer(shared_portal(_settings))
schedule.start(shared_portal(_settings))  # scheduled backups, audit retention

app = st.App(
    str(Path(__file__).with_name("app.py")),
    routes=[
        Route("/api/session/establish", establish, methods=["POST"]),
        Route("/api/session/logout", logout, methods=["POST"]),
        Route("/api/authz", gateway.check, methods=["GET", "HEAD"]),
        Route(gateway.SIGNIN_PATH, gateway.signin, methods=["GET"]),
        Route("/api/validate", gateway.validate, methods=["POST"]),
    ],
    middleware=[
        Middleware(http_guard.SecurityHeaders),  # outermost: refusals carry the headers too
        Middleware(
            http_guard.OriginCheck, public_url=_settings.public_url, exempt=("/api/validate",)
        ),
        Middleware(http_guard.ClientFacts, browser_cookie=sessions.BROWSER_COOKIE),
        Middleware(BrowserCookieMiddleware),
    ],
)
