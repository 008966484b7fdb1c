"""The HTTP side of the gateway: GET /api/authz, GET /api/authz/signin, POST /api/validate.

/api/authz is asked by the proxy for every request to a protected app; /api/authz/signin is
where the proxy sends a person it refused (the original URL as ``rd``, followed only to hosts of
the allow-list); /api/validate is for machines, authenticated by an API key alone (see
portal/http_guard.py for why it is exempt from the browser-origin check).
"""

from __future__ import annotations

import functools
import html
import json
import unicodedata
from typing import Any
from urllib.parse import quote, unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from portal import http_guard
from portal.access import sessions
from portal.context import Portal, shared_portal
from portal.gateway import apikeys, authz
from portal.gateway.rules import Rules, Target, load_rules, parse_target, target_from_headers
from portal.settings import Settings, load_settings

RETURN_COOKIE = "portal_return"
RETURN_SECONDS = 600
SIGNIN_PATH = "/api/authz/signin"
MAX_BODY = 4096
NO_STORE = {"cache-control": "no-store"}


@functools.lru_cache(maxsize=8)
def _rules(hosts: str, rules_file: str) -> Rules:
    return load_rules(hosts, rules_file)


def rules_for(settings: Settings) -> Rules:
    """The allow-list and rules (read once per process: restart the portal after editing)."""
    return _rules(settings.authz_hosts, settings.authz_rules_file)


def _header_value(text: str) -> str:
    """Header-safe: no control characters; UTF-8 bytes sent as they are (as Authelia does)."""
    cleaned = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return cleaned.strip().encode("utf-8").decode("latin-1")


def _base(request: Request, settings: Settings) -> str:
    return settings.public_url.rstrip("/") or f"{request.url.scheme}://{request.url.netloc}"


def signin_url(base: str, target: Target) -> str:
    return f"{base}{SIGNIN_PATH}?rd={quote(target.url, safe='')}"


def _decide(p: Portal, rules: Rules, target: Target | None, request: Request) -> authz.Decision:
    return authz.decide(
        p,
        rules,
        target,
        request.cookies.get(sessions.SESSION_COOKIE, ""),
        request.cookies.get(sessions.BROWSER_COOKIE, ""),
        request.headers.get("user-agent", ""),
    )


def _decide_and_count(p: Portal, rules: Rules, target: Target | None, request: Request) -> Any:
    decision = _decide(p, rules, target, request)
    if not decision.allowed:
        authz.record_denial(p, rules, target, decision)
    return decision


async def check(request: Request) -> Response:
    """GET /api/authz: 200 with Remote-* headers, else 401/403 (nginx) or 302 (Traefik, Caddy)."""
    portal = shared_portal(load_settings())
    rules = rules_for(portal.settings)
    target = target_from_headers(request.headers)
    decision = await run_in_threadpool(_decide_and_count, portal, rules, target, request)
    who = decision.identity
    if decision.allowed and who is not None:
        headers = {
            "remote-user": _header_value(who.username),
            "remote-name": _header_value(who.display_name),
            "remote-email": _header_value(decision.email or ""),
            "remote-groups": _header_value(str(who.role)),
            **NO_STORE,
        }
        return Response("ok", headers=headers, media_type="text/plain")
    # nginx's auth_request cannot pass a redirect on: it gets 401/403 and redirects itself.
    redirect = "x-original-url" not in request.headers and target is not None
    if redirect and target is not None and target.host in rules.hosts:
        url = signin_url(_base(request, portal.settings), target)
        return RedirectResponse(url, status_code=302, headers=NO_STORE)
    return Response(decision.reason, status_code=decision.status, headers=NO_STORE)


def _page(status: int, title: str, text: str, link: str = "/") -> HTMLResponse:
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1><p id='reason'>{html.escape(text)}</p>"
        f"<p><a href='{html.escape(link, quote=True)}'>Open the portal</a></p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def _rd(request: Request) -> str:
    """The rd parameter; nginx cannot URL-encode it, so a raw URL runs to the end of the query."""
    raw = request.url.query
    if not raw.startswith("rd="):
        return request.query_params.get("rd", "")
    value = raw[3:]
    return unquote(value) if value.lower().startswith(("http%3a", "https%3a")) else value


async def signin(request: Request) -> Response:
    """GET /api/authz/signin?rd=URL: back to URL if allowed, else sign in first or say why not."""
    portal = shared_portal(load_settings())
    rules = rules_for(portal.settings)
    target = parse_target(_rd(request))
    if target is None or target.host not in rules.hosts:
        text = "The portal does not sign people in for that address."
        return _page(400, "Unknown address", text)
    decision = await run_in_threadpool(_decide, portal, rules, target, request)
    if decision.allowed:
        return RedirectResponse(target.url, status_code=302, headers=NO_STORE)
    if decision.status == 401:
        response = RedirectResponse("/", status_code=302, headers=NO_STORE)
        cookie = http_guard.cookie(
            RETURN_COOKIE,
            quote(target.url, safe=""),  # a URL may hold ; or " that a cookie value may not
            RETURN_SECONDS,
            http_guard.is_secure(request),
            portal.settings.session_cookie_domain,
        )
        response.headers.append("set-cookie", cookie)
        return response
    return _page(403, "Not allowed", decision.message or "You may not open this app.")


def return_url(settings: Settings, request: Request) -> str | None:
    """Where a person who was sent to sign in wanted to go (an allowed host only), or None."""
    target = parse_target(unquote(request.cookies.get(RETURN_COOKIE, "")))
    if target is None or target.host not in rules_for(settings).hosts:
        return None
    return target.url


def _refuse(status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False}, status_code=status, headers={**NO_STORE, **(headers or {})})


async def _body(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_BODY (whatever Content-Length claimed)."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _fields(raw: bytes) -> tuple[str, str] | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    username, code = data.get("username"), data.get("code")
    if not isinstance(username, str) or not isinstance(code, str) or not username or not code:
        return None
    return username, code


async def validate(request: Request) -> Response:
    """POST /api/validate {"username", "code"} + a Bearer key: {"ok": true|false}, no more."""
    if "origin" in request.headers:
        return _refuse(403)  # a browser: this API is for machines (no cookies, no CORS)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        return _refuse(415)
    try:
        raw = await _body(request)
    except ValueError:  # a Content-Length that is no number
        return _refuse(400)
    if raw is None:
        return _refuse(413)
    portal = shared_portal(load_settings())
    address = request.client.host if request.client else ""
    authorization = request.headers.get("authorization", "")
    key = await run_in_threadpool(apikeys.authenticate, portal, authorization, address)
    if key is None:
        return _refuse(401, {"www-authenticate": "Bearer"})
    fields = _fields(raw)
    if fields is None:
        return _refuse(400)
    ok = await run_in_threadpool(apikeys.check_code, portal, key, address, *fields)
    return JSONResponse({"ok": ok}, headers=NO_STORE)
