"""ASGI middleware in front of Streamlit: exact origin checks, security headers, client facts.

Streamlit accepts its websocket from any port of localhost and sends no framing policy, so the
portal checks origins itself; the peer address and a digest of the browser cookie are handed to
the script as headers only this middleware can set (see README, "Security model").
"""

from __future__ import annotations

import base64
import hashlib
import http.cookies
import importlib.util
import ipaddress
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PEER_HEADER = "x-portal-peer"
BINDING_HEADER = "x-portal-binding"  # mapped into the session's identity: .streamlit/config.toml
DEFAULT_PORTS = {"http": 80, "https": 443}
WS_SCHEMES = {"ws": "http", "wss": "https"}


def _inline_script_hashes() -> list[str]:
    # Streamlit's index.html has one tiny inline script; allow exactly it, by hash.
    spec = importlib.util.find_spec("streamlit")  # found, not imported: portal/ stays UI-free
    assert spec is not None and spec.origin is not None
    index = Path(spec.origin).with_name("static") / "index.html"
    found = re.findall(r"<script>(.*?)</script>", index.read_text("utf-8"), flags=re.S)
    digests = (base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in found)
    return [f"'sha256-{d}'" for d in digests]


CSP = "; ".join(
    [
        "default-src 'none'",
        # blob: is how components v2 load inline JS (our cookie component): a Blob URL + import().
        # 'wasm-unsafe-eval' lets protobuf's Long compile its tiny WebAssembly helper (no JS eval).
        " ".join(["script-src 'self' blob: 'wasm-unsafe-eval'", *_inline_script_hashes()]),
        "style-src 'self' 'unsafe-inline'",  # emotion (CSS-in-JS) writes <style> tags at runtime
        "img-src 'self' data:",  # the QR code is a data: URI (no URL may serve the key)
        "font-src 'self' data:",  # Streamlit's CSS inlines KaTeX's Size3 font as a data: URI
        "connect-src 'self'",  # fetch and the websocket to ourselves (CSP3 'self' covers ws:)
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` (lower case, default port filled in); None unless http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = WS_SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return f"{scheme}://{parts.hostname}:{port or DEFAULT_PORTS[scheme]}"


def public_origin(public_url: str) -> str | None:
    """The configured public origin, or None when unset; anything but an origin is an error."""
    if not public_url:
        return None
    origin, parts = origin_of(public_url), urlsplit(public_url.strip())
    if origin is None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"public_url must be like https://2fa.example.org, not {public_url!r}")
    return origin


def request_origin(scope: Scope) -> str | None:
    """The origin this request was sent to: its scheme and the Host header the browser sent."""
    host = Headers(scope=scope).get("host")
    return origin_of(f"{scope.get('scheme', 'http')}://{host}") if host else None


def forwarded_allow_ips(trusted_proxies: str) -> str:
    """The trusted_proxies setting, checked, as uvicorn's FORWARDED_ALLOW_IPS ("" trusts none)."""
    if not trusted_proxies.strip():
        return ""
    entries = [item.strip() for item in trusted_proxies.split(",")]
    for entry in entries:
        try:
            ipaddress.ip_network(entry)  # an address is a /32 (or /128) network
        except ValueError:
            raise ValueError(f"trusted_proxies: not an IP address or network: {entry!r}") from None
    return ",".join(entries)


def check_proxy_trust(trusted_proxies: str, environ: Mapping[str, str]) -> None:
    """Refuse to start unless uvicorn trusts forwarded headers from exactly trusted_proxies."""
    # uvicorn reads FORWARDED_ALLOW_IPS when it builds its config, before it imports the app,
    # and trusts 127.0.0.1 without it: too late to change from the app, so only check.
    expected = forwarded_allow_ips(trusted_proxies)
    if environ.get("FORWARDED_ALLOW_IPS") != expected:
        raise RuntimeError(
            f"FORWARDED_ALLOW_IPS must be {expected!r} (from trusted_proxies): start the "
            "portal with `portal serve`, which sets it"
        )


def sending_headers(send: Send, extra: list[tuple[bytes, bytes]], *, replace: bool) -> Send:
    """``send``, but the response start also carries ``extra`` (dropping the app's headers of
    the same names first when ``replace``)."""
    names = {name.lower() for name, _ in extra} if replace else set()

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [h for h in message.get("headers", []) if h[0].lower() not in names]
            message = {**message, "headers": kept + extra}
        await send(message)

    return send_with_headers


class HttpMiddleware:
    """A middleware whose ``http`` sees plain HTTP requests; websockets and lifespan pass by."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class SecurityHeaders(HttpMiddleware):
    """Add the CSP, framing, referrer and sniffing headers to every HTTP response."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, sending_headers(send, SECURITY_HEADERS, replace=True))


LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def is_secure(request: Request) -> bool:
    """Whether a Secure cookie will be kept: https, or a loopback name (a secure context)."""
    # Chromium treats loopback (and *.localhost) as secure, so Secure cookies work on http there.
    host = request.url.hostname or ""
    return request.url.scheme == "https" or host in LOOPBACK or host.endswith(".localhost")


def cookie(name: str, value: str, max_age: int, secure: bool, domain: str = "") -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, Path=/, on ``domain`` and its sub-hosts
    when given (session_cookie_domain), else on this host only."""
    morsel: http.cookies.Morsel[str] = http.cookies.Morsel()
    morsel.set(name, value, value)
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    morsel["max-age"] = str(max_age)
    if domain:
        morsel["domain"] = domain
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def check_cookie_domain(domain: str, public_url: str) -> str:
    """session_cookie_domain, checked: a host name that covers public_url's host (or "")."""
    domain = domain.strip().lower().lstrip(".")
    if not domain:
        return ""
    if not public_url:
        raise ValueError("session_cookie_domain needs public_url (the portal's own address)")
    host = (urlsplit(public_url).hostname or "").lower()
    if "." not in domain or not (host == domain or host.endswith("." + domain)):
        raise ValueError(
            f"session_cookie_domain {domain!r} must be a parent domain of public_url's {host!r}"
        )
    return domain


class OriginCheck:
    """Refuse (403) websocket upgrades and state-changing requests not from our own origin.

    ``exempt`` paths are machine APIs (POST /api/validate): they honour no cookie, only an
    ``Authorization: Bearer`` API key that a page on another site cannot attach without a
    CORS preflight we never answer, and they refuse requests that carry an Origin at all
    (browsers send one on every POST). A forged cross-site form post therefore has no key,
    and a stolen key gains nothing from a browser; so the origin rule is replaced there by
    the key, the key's source addresses and the shared throttle.
    """

    def __init__(self, app: ASGIApp, public_url: str = "", exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.public = public_origin(public_url)
        self.exempt = frozenset(exempt)

    def allowed(self, scope: Scope) -> bool:
        if scope["type"] == "http" and scope["method"] in SAFE_METHODS:
            return True
        if scope["type"] == "http" and scope.get("path") in self.exempt:
            return True
        # A missing Origin is refused too: browsers always send one on these requests.
        sent = origin_of(Headers(scope=scope).get("origin", ""))
        return sent is not None and sent == (self.public or request_origin(scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.allowed(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accept answers 403
            await send({"type": "websocket.close", "code": 1008})
        else:
            # The same answer as the cookie routes' own refusal (portal/asgi.py).
            refusal = JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
            await refusal(scope, receive, send)


class ClientFacts:
    """Hand the script the peer address and a digest of the browser cookie, and nothing forged.

    The peer is the TCP peer, or what a trusted proxy forwarded (uvicorn resolves that from
    FORWARDED_ALLOW_IPS, which `portal serve` sets from trusted_proxies). The binding becomes
    part of the Streamlit session's identity, so only the same browser can resume a session.
    """

    def __init__(self, app: ASGIApp, browser_cookie: str) -> None:
        self.app = app
        self.browser_cookie = browser_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            connection = HTTPConnection(scope)
            cookie = connection.cookies.get(self.browser_cookie, "")
            # Without the cookie, a binding nobody can repeat: such a session never resumes.
            binding = hashlib.sha256(cookie.encode()).hexdigest()[:32] if cookie else None
            binding = binding or "none-" + secrets.token_hex(16)
            peer = connection.client.host if connection.client else ""
            ours = {PEER_HEADER.encode(), BINDING_HEADER.encode()}
            headers = [h for h in scope["headers"] if h[0].lower() not in ours] + [
                (PEER_HEADER.encode(), peer.encode("latin-1", "replace")),
                (BINDING_HEADER.encode(), binding.encode()),
            ]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
