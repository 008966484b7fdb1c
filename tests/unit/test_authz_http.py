"""GET /api/authz and /api/authz/signin over real HTTP requests (Starlette's TestClient).

The routes run with the same middleware as the portal (portal/asgi.py) and the shared Portal of
the process, built here on a fixed clock. The nginx run is tests/e2e/test_forward_auth.py.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from portal import context, http_guard
from portal.access import sessions
from portal.context import Portal, open_portal
from portal.gateway import routes
from portal.settings import load_settings
from tests.conftest import add_user
from tests.unit.test_authz import BROWSER, RULES, with_code

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx works the same here
    from starlette.testclient import TestClient

AGENT = "Mozilla/5.0 Chrome/156"
HOSTS = "app.example.org,wiki.example.org"


def gateway_app(public_url: str = "") -> Starlette:
    """The gateway's routes behind the portal's own middleware, as portal/asgi.py mounts them."""
    return Starlette(
        routes=[
            Route("/api/authz", routes.check, methods=["GET", "HEAD"]),
            Route(routes.SIGNIN_PATH, routes.signin, methods=["GET"]),
            Route("/api/validate", routes.validate, methods=["POST"]),
        ],
        middleware=[
            Middleware(http_guard.SecurityHeaders),
            Middleware(http_guard.OriginCheck, public_url=public_url, exempt=("/api/validate",)),
            Middleware(http_guard.ClientFacts, browser_cookie=sessions.BROWSER_COOKIE),
        ],
    )


@pytest.fixture
def shared(tmp_path, monkeypatch, clock) -> Iterator[Portal]:
    """The process's shared Portal (what the routes use), on a fresh database and fixed clock."""
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(RULES)
    for name, value in {
        "PORTAL_DB": str(tmp_path / "portal.duckdb"),
        "PORTAL_SECRET_KEY": "",
        "PORTAL_BCRYPT_ROUNDS": "4",
        "PORTAL_AUTHZ_HOSTS": HOSTS,
        "PORTAL_AUTHZ_RULES_FILE": str(rules_file),
        "PORTAL_PUBLIC_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PORTAL_SECRET_KEY")
    settings = load_settings()
    p = open_portal(settings, clock)
    context._shared[settings] = p
    yield p
    context._shared.pop(settings, None)
    p.db.close()


@pytest.fixture
def web(shared) -> TestClient:
    return TestClient(gateway_app(), base_url="http://auth.example.org")


def signed_in(web: TestClient, token: str) -> None:
    web.cookies.set(sessions.SESSION_COOKIE, token)
    web.cookies.set(sessions.BROWSER_COOKIE, BROWSER)


def nginx(url: str) -> dict[str, str]:
    return {"x-original-url": url, "user-agent": AGENT}


def test_allowed_request_gets_the_remote_headers(shared, clock, web):
    who, token = with_code(shared, clock, "alice")
    signed_in(web, token)
    answer = web.get("/api/authz", headers=nginx("https://app.example.org/x"))
    assert answer.status_code == 200
    assert answer.headers["remote-user"] == "alice"
    assert answer.headers["remote-name"] == "Alice"
    assert answer.headers["remote-groups"] == "user"
    assert answer.headers["remote-email"] == ""
    assert answer.headers["cache-control"] == "no-store"


def test_display_names_cannot_inject_headers(shared, clock, web):
    who = add_user(shared, "zed", display="Zed\r\nRemote-User: boss")
    signed_in(web, routes_token(shared, who))
    answer = web.get("/api/authz", headers=nginx("https://wiki.example.org/"))
    assert answer.status_code == 200
    assert answer.headers.get_list("remote-user") == ["zed"]
    assert "\n" not in answer.headers["remote-name"] and "\r" not in answer.headers["remote-name"]
    # Non-ASCII names go out as their UTF-8 bytes (as Authelia sends them), controls as spaces.
    sent = routes._header_value("Zoë\u0085\x00Ann").encode("latin-1")
    assert sent == "Zoë  Ann".encode()


def routes_token(p, who) -> str:
    ticket = sessions.issue_ticket(p, who, BROWSER, "test")
    return sessions.redeem_ticket(p, ticket.ticket, BROWSER, AGENT)


def test_nginx_gets_401_and_403_never_a_redirect(shared, web):
    assert web.get("/api/authz", headers=nginx("https://app.example.org/")).status_code == 401
    assert web.get("/api/authz", headers=nginx("https://evil.example/")).status_code == 403
    signed_in(web, routes_token(shared, add_user(shared, "bob")))
    refused = web.get("/api/authz", headers=nginx("https://app.example.org/"))
    assert refused.status_code == 403  # the rule asks for 2FA; bob signed in with a password


def test_traefik_and_caddy_get_a_redirect_to_sign_in_with_rd(shared, web):
    headers = {
        "x-forwarded-proto": "https",
        "x-forwarded-host": "app.example.org",
        "x-forwarded-uri": "/deep/page?q=1",
    }
    answer = web.get("/api/authz", headers=headers, follow_redirects=False)
    assert answer.status_code == 302
    wanted = quote("https://app.example.org/deep/page?q=1", safe="")
    assert answer.headers["location"] == f"http://auth.example.org/api/authz/signin?rd={wanted}"
    headers["x-forwarded-host"] = "evil.example"
    assert web.get("/api/authz", headers=headers, follow_redirects=False).status_code == 403


@pytest.mark.parametrize(
    "rd",
    [
        "https://evil.example/",
        "https://app.example.org.evil.example/",
        "https://app.example.org@evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "/relative",
        "",
    ],
)
def test_sign_in_never_redirects_off_the_allow_list(web, rd):
    answer = web.get(routes.SIGNIN_PATH, params={"rd": rd}, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers and "set-cookie" not in answer.headers


def test_sign_in_remembers_where_to_go_back_then_sends_a_signed_in_person_there(shared, clock, web):
    url = "https://app.example.org/deep?x=1"
    answer = web.get(routes.SIGNIN_PATH, params={"rd": url}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (302, "/")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{routes.RETURN_COOKIE}={quote(url, safe='')};")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Max-Age=600" in cookie
    _, token = with_code(shared, clock, "alice")
    signed_in(web, token)
    back = web.get(
        routes.SIGNIN_PATH,
        params={"rd": url},
        headers={"user-agent": AGENT},
        follow_redirects=False,
    )
    assert (back.status_code, back.headers["location"]) == (302, url)


def test_nginx_sends_rd_unencoded_and_nothing_of_it_is_lost(shared, clock, web):
    _, token = with_code(shared, clock, "alice")
    signed_in(web, token)
    url = "http://app.example.org:8080/find?q=a%20b&page=2"
    back = web.get(
        f"{routes.SIGNIN_PATH}?rd={url}", headers={"user-agent": AGENT}, follow_redirects=False
    )
    assert (back.status_code, back.headers["location"]) == (302, url)


def test_a_refused_person_gets_a_clear_page_not_a_loop(shared, web):
    signed_in(web, routes_token(shared, add_user(shared, "bob")))
    answer = web.get(
        routes.SIGNIN_PATH,
        params={"rd": "https://app.example.org/"},
        headers={"user-agent": AGENT},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "location" not in answer.headers
    assert "signed in with two-factor authentication" in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


def test_cookies_follow_session_cookie_domain():
    value = http_guard.cookie("portal_session", "t", 60, True, "example.org")
    assert "Domain=example.org" in value and "HttpOnly" in value and "Secure" in value
    assert "SameSite=Strict" in value
    assert "Domain" not in http_guard.cookie("portal_session", "t", 60, True)
    assert (
        http_guard.check_cookie_domain(".Example.org", "https://2fa.example.org") == "example.org"
    )
    assert http_guard.check_cookie_domain("", "") == ""
    for domain, public in [
        ("example.org", ""),
        ("other.org", "https://2fa.example.org"),
        ("org", "https://2fa.example.org"),
        ("ample.org", "https://2fa.example.org"),
    ]:
        with pytest.raises(ValueError, match="session_cookie_domain"):
            http_guard.check_cookie_domain(domain, public)


def test_readme_shows_the_tested_nginx_configuration_verbatim():
    from tests.conftest import ROOT

    source = (ROOT / "tests" / "e2e" / "test_forward_auth.py").read_text()
    blocks = re.search(r'NGINX_BLOCKS = r"""\n(.*?)"""', source, flags=re.S)
    assert blocks is not None and "auth_request /_portal_authz;" in blocks.group(1)
    readme = (ROOT / "README.md").read_text()
    assert f"```nginx\n{blocks.group(1)}```" in readme


def test_establish_names_the_app_to_go_back_to_and_widens_the_browser_cookie(
    shared, clock, monkeypatch
):
    import importlib
    import sys

    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    monkeypatch.setenv("PORTAL_PUBLIC_URL", "http://auth.example.org")
    monkeypatch.setenv("PORTAL_SESSION_COOKIE_DOMAIN", "example.org")
    settings = load_settings()
    context._shared[settings] = shared  # the same database, with the domain set
    monkeypatch.delitem(sys.modules, "portal.asgi", raising=False)
    asgi = importlib.import_module("portal.asgi")  # built with these settings
    monkeypatch.delitem(sys.modules, "portal.asgi")
    app = Starlette(routes=[Route("/api/session/establish", asgi.establish, methods=["POST"])])
    web = TestClient(app, base_url="http://auth.example.org")
    who = add_user(shared, "alice")
    ticket = sessions.issue_ticket(shared, who, BROWSER, "test")
    web.cookies.set(sessions.BROWSER_COOKIE, BROWSER)
    web.cookies.set(routes.RETURN_COOKIE, quote("https://app.example.org/deep?x=1;y", safe=""))
    answer = web.post(
        "/api/session/establish",
        json={"ticket": ticket.ticket},
        headers={"origin": "http://auth.example.org", "x-portal-request": "1"},
    )
    context._shared.pop(settings, None)
    assert answer.json() == {"ok": True, "next": "https://app.example.org/deep?x=1;y"}
    set_cookies = answer.headers.get_list("set-cookie")
    by_name = {c.split("=", 1)[0]: c for c in set_cookies}
    assert "Domain=example.org" in by_name[sessions.SESSION_COOKIE]
    assert by_name[sessions.BROWSER_COOKIE].startswith(f"{sessions.BROWSER_COOKIE}={BROWSER};")
    assert "Domain=example.org" in by_name[sessions.BROWSER_COOKIE]
    assert "Max-Age=0" in by_name[routes.RETURN_COOKIE]  # used once
