"""The portal's ASGI guard (issue 11 items 2, 8, 15) on a tiny Starlette app, without a server.

The real server is tested in tests/e2e/test_security_browser.py; here every rule of the origin
check, the security headers and the client facts is pinned down one case at a time.
"""

from __future__ import annotations

import tomllib
import warnings

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from portal import http_guard
from portal.settings import load_settings
from tests.conftest import ROOT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx works the same here
    from starlette.testclient import TestClient

HOST = "testserver"  # TestClient's Host header; its peer address is "testclient"
OWN = f"http://{HOST}"


def _facts(headers: dict[str, str]) -> dict[str, str | None]:
    return {
        "peer": headers.get(http_guard.PEER_HEADER),
        "binding": headers.get(http_guard.BINDING_HEADER),
    }


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(_facts(dict(request.headers)))


async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(_facts(dict(websocket.headers)))
    await websocket.close()


def client(public_url: str = "") -> TestClient:
    app = Starlette(
        routes=[
            Route("/", echo, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/text", lambda r: PlainTextResponse("ok")),
            WebSocketRoute("/_stcore/stream", stream),
        ],
        middleware=[
            Middleware(http_guard.SecurityHeaders),
            Middleware(http_guard.OriginCheck, public_url=public_url),
            Middleware(http_guard.ClientFacts, browser_cookie="portal_browser"),
        ],
    )
    return TestClient(app, base_url=OWN)


def _ws_refused(c: TestClient, headers: dict[str, str]) -> bool:
    try:
        with c.websocket_connect("/_stcore/stream", headers=headers) as ws:
            ws.receive_json()
    except WebSocketDisconnect:
        return True
    return False


@pytest.mark.parametrize(
    "origin",
    [
        "http://testserver:8770",  # another port of the same host: the attack of item 2
        "https://testserver",  # another scheme
        "http://localhost",  # another name of the same machine
        "http://testserver.evil.example",
        "null",  # sandboxed frames
        "",
    ],
)
def test_websocket_from_another_origin_is_refused(origin):
    assert _ws_refused(client(), {"origin": origin})


def test_websocket_without_origin_is_refused():
    assert _ws_refused(client(), {})


def test_websocket_from_the_own_origin_is_accepted_default_port_or_not():
    for origin in (OWN, "http://testserver:80", "HTTP://TestServer"):
        assert not _ws_refused(client(), {"origin": origin}), origin


def test_public_url_is_the_only_origin_behind_a_proxy():
    c = client(public_url="https://2fa.example.org")
    assert not _ws_refused(c, {"origin": "https://2fa.example.org"})
    assert not _ws_refused(c, {"origin": "https://2fa.example.org:443"})
    assert _ws_refused(c, {"origin": OWN})  # the Host header no longer counts
    assert _ws_refused(c, {"origin": "http://2fa.example.org"})
    assert c.post("/", headers={"origin": "https://2fa.example.org"}).status_code == 200
    assert c.post("/", headers={"origin": OWN}).status_code == 403


def test_public_url_must_be_an_origin():
    for bad in ("2fa.example.org", "ftp://2fa.example.org", "https://2fa.example.org/portal"):
        with pytest.raises(ValueError):
            http_guard.OriginCheck(echo, public_url=bad)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_state_changing_requests_need_the_own_origin(method):
    c = client()
    assert c.request(method, "/", headers={"origin": OWN}).status_code == 200
    assert c.request(method, "/", headers={"origin": "http://testserver:8770"}).status_code == 403
    assert c.request(method, "/").status_code == 403  # no Origin: not from our page


def test_safe_requests_pass_whatever_their_origin():
    c = client()
    assert c.get("/", headers={"origin": "http://testserver:8770"}).status_code == 200
    assert c.options("/", headers={"origin": "http://elsewhere.example"}).status_code != 403


def test_every_response_carries_the_security_headers():
    c = client()
    for response in (c.get("/"), c.get("/text"), c.get("/missing"), c.post("/")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert len(response.headers.get_list("x-frame-options")) == 1


def test_csp_allows_only_the_own_origin_and_what_streamlit_needs():
    policy = dict(part.split(" ", 1) for part in http_guard.CSP.split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"] and "*" not in http_guard.CSP
    assert "http:" not in http_guard.CSP and "https:" not in http_guard.CSP


def test_client_facts_replace_what_the_client_sent():
    c = client()
    forged = {http_guard.PEER_HEADER: "203.0.113.7", http_guard.BINDING_HEADER: "victim"}
    facts = c.get("/", headers=forged).json()
    assert facts["peer"] == "testclient"
    assert facts["binding"] not in (None, "victim")


def test_binding_follows_the_browser_cookie():
    c = client()
    with c.websocket_connect("/_stcore/stream", headers={"origin": OWN}) as ws:
        anonymous = ws.receive_json()["binding"]
    with c.websocket_connect("/_stcore/stream", headers={"origin": OWN}) as ws:
        assert ws.receive_json()["binding"] != anonymous  # no cookie: never the same twice
    c.cookies.set("portal_browser", "browser-a")
    with c.websocket_connect("/_stcore/stream", headers={"origin": OWN}) as ws:
        first = ws.receive_json()["binding"]
    with c.websocket_connect("/_stcore/stream", headers={"origin": OWN}) as ws:
        assert ws.receive_json()["binding"] == first != "browser-a"  # a digest, not the cookie
    c.cookies.set("portal_browser", "browser-b")
    with c.websocket_connect("/_stcore/stream", headers={"origin": OWN}) as ws:
        assert ws.receive_json()["binding"] != first


def test_trusted_proxies_are_validated_and_handed_to_uvicorn():
    assert http_guard.forwarded_allow_ips("") == ""
    assert http_guard.forwarded_allow_ips(" 10.0.0.1, 192.168.0.0/16 ,::1") == (
        "10.0.0.1,192.168.0.0/16,::1"
    )
    for bad in ("*", "proxy.example.org", "10.0.0.1/33", "10.0.0.1,,10.0.0.2"):
        with pytest.raises(ValueError):
            http_guard.forwarded_allow_ips(bad)


def test_the_app_refuses_to_start_unless_uvicorn_trusts_exactly_the_proxies():
    # Without FORWARDED_ALLOW_IPS uvicorn trusts X-Forwarded-For from 127.0.0.1.
    with pytest.raises(RuntimeError, match="portal serve"):
        http_guard.check_proxy_trust("", {})
    with pytest.raises(RuntimeError):
        http_guard.check_proxy_trust("", {"FORWARDED_ALLOW_IPS": "127.0.0.1"})
    http_guard.check_proxy_trust("", {"FORWARDED_ALLOW_IPS": ""})
    http_guard.check_proxy_trust("10.0.0.1", {"FORWARDED_ALLOW_IPS": "10.0.0.1"})


def test_portal_serve_hands_uvicorn_the_trusted_proxies(tmp_path):
    from portal.cli import _server_env

    base = load_settings({}, secrets_file=tmp_path / "none.toml", db_path=str(tmp_path / "p.db"))
    assert _server_env(base)["FORWARDED_ALLOW_IPS"] == ""
    proxied = load_settings(
        {"PORTAL_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16"}, secrets_file=tmp_path / "none.toml"
    )
    assert _server_env(proxied)["FORWARDED_ALLOW_IPS"] == "10.0.0.1,10.1.0.0/16"
    with pytest.raises(ValueError):
        _server_env(load_settings({"PORTAL_PUBLIC_URL": "2fa.example.org"}, tmp_path / "x"))


def test_settings_read_public_url_and_trusted_proxies(tmp_path):
    env = {"PORTAL_PUBLIC_URL": "https://2fa.example.org", "PORTAL_TRUSTED_PROXIES": "10.0.0.1"}
    s = load_settings(env, secrets_file=tmp_path / "none.toml")
    assert (s.public_url, s.trusted_proxies) == ("https://2fa.example.org", "10.0.0.1")
    defaults = load_settings({}, secrets_file=tmp_path / "none.toml")
    assert (defaults.public_url, defaults.trusted_proxies) == ("", "")


def test_streamlit_resumes_a_session_only_with_the_same_binding():
    # Streamlit keeps these headers as the session's identity and resumes a session id only for
    # a connection with the same identity (AppSession.matches_user_info).
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    mapped = {name.lower(): key for name, key in server["trustedUserHeaders"].items()}
    assert mapped == {http_guard.BINDING_HEADER: "portal_binding"}
    assert server["enableAgentApi"] is False  # no HTTP way around the websocket checks
