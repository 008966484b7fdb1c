"""python -m bench.authz: forward-auth decisions per second, and the latency nginx adds.

Seeds a fresh DuckDB file with signed-in people, starts the real `portal serve` (one process:
one core for the decisions) and nginx (Debian's, with the README's auth_request configuration
in front of a static 200 standing in for the app), then with one keep-alive HTTP client:

* authz.decide() in this process (the decision itself, one thread, no HTTP);
* GET /api/authz straight to the portal: allowed (a live session cookie), and denied (no
  cookie: the 401 path, which also counts the denial);
* the same app URL through nginx with and without ``auth_request``: the difference of the
  medians is what forward auth adds to every request of a protected app.

Prints min/median/max of repeated rounds; the last line is
``authz_decisions_per_s=<w> authz_allowed_rps=<x> authz_denied_rps=<y> nginx_added_ms=<z>``.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from portal.access import accounts, sessions
from portal.context import open_portal
from portal.gateway import authz, routes
from portal.gateway.rules import parse_target
from portal.models import Role
from portal.settings import load_settings
from tests.e2e import harness
from tests.e2e.nginx import start_nginx

AGENT = "bench-client/1"
BROWSER = "bench-browser"
APP_HOST, AUTH_HOST = "app.portal.localhost", "auth.portal.localhost"

NGINX = r"""
upstream portal { server 127.0.0.1:PORTAL_PORT; keepalive 8; }
server {
    listen 127.0.0.1:{port};
    server_name app.portal.localhost;
    location = /_portal_authz {
        internal;
        proxy_pass http://portal/api/authz;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }
    # The "app" is a static file: nginx's content phase runs after auth_request (a `return`
    # would answer before it).
    root APP_ROOT;
    location /open/ { try_files /app.txt =404; }
    location / {
        auth_request /_portal_authz;
        auth_request_set $portal_user $upstream_http_remote_user;
        add_header X-Seen-User $portal_user;
        try_files /app.txt =404;
    }
}
"""


def seed(db: Path, env: dict[str, str], people: int) -> list[str]:
    """People with password-only sessions; returns their session tokens."""
    settings = load_settings(env=env, db_path=str(db))
    p = open_portal(settings)
    tokens = []
    try:
        for i in range(people):
            name = f"bench{i:05d}"
            accounts.create_account(p, None, name, "bench-pass-90210", Role.USER)
            who = accounts.sign_in_password(p, name, "bench-pass-90210", "127.0.0.1 bench").identity
            assert who is not None
            ticket = sessions.issue_ticket(p, who, BROWSER, "127.0.0.1 bench")
            tokens.append(sessions.redeem_ticket(p, ticket.ticket, BROWSER, AGENT))
    finally:
        p.db.close()
    return tokens


def in_process(db: Path, env: dict[str, str], tokens: list[str], seconds: float) -> float:
    """authz.decide() per second in this process, one thread: the decision without HTTP."""
    p = open_portal(load_settings(env=env, db_path=str(db)))
    rules = routes.rules_for(p.settings)
    target = parse_target(f"http://{APP_HOST}/page")
    try:
        done, deadline = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            decision = authz.decide(p, rules, target, tokens[done % len(tokens)], BROWSER, AGENT)
            assert decision.allowed, decision
            done += 1
        return done / (time.perf_counter() - started)
    finally:
        p.db.close()


def hammer(port: int, host: str, path: str, headers: list[dict[str, str]], seconds: float):
    """One keep-alive client for ``seconds``: (requests per second, latencies in ms, statuses)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    took, statuses, i = [], set(), 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Host": host, **headers[i % len(headers)]})
        answer = conn.getresponse()
        answer.read()
        took.append((time.perf_counter() - t0) * 1000)
        statuses.add(answer.status)
        i += 1
    conn.close()
    return i / (time.perf_counter() - started), took, statuses


def _row(label: str, values: list[float], unit: str) -> str:
    return (
        f"{label:<46} {min(values):>9.1f} {statistics.median(values):>9.1f} "
        f"{max(values):>9.1f} {unit}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.authz", description=__doc__)
    ap.add_argument("--people", type=int, default=200, help="signed-in people (default 200)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one round (default 3)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per figure (default 5)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-authz-") as tmp:
        return _run(Path(tmp), args)


def _headers(tokens: list[str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Request headers of the signed-in people, and of nobody (no cookie)."""
    url = f"http://{APP_HOST}/page"
    cookies = [
        {
            "Cookie": f"{sessions.SESSION_COOKIE}={t}; {sessions.BROWSER_COOKIE}={BROWSER}",
            "User-Agent": AGENT,
            "X-Original-URL": url,
        }
        for t in tokens
    ]
    return cookies, [{"User-Agent": AGENT, "X-Original-URL": url}]


def _over_http(base: Path, db: Path, env: dict[str, str], tokens: list[str], args: Any):
    """The figures of the real server, straight and through nginx."""
    portal_port = harness.free_port()
    server = harness.start_server(
        harness.portal_serve_cmd(db),
        harness.portal_process_env(env),
        cwd=harness.REPO_ROOT,
        log_path=base / "portal.log",
        inherit_env=False,
        port=portal_port,
    )
    cookies, anonymous = _headers(tokens)
    figures: dict[str, list[float]] = {k: [] for k in ("allowed", "denied", "open", "auth")}
    (base / "app.txt").write_text("app\n")
    blocks = NGINX.replace("PORTAL_PORT", str(portal_port)).replace("APP_ROOT", str(base))
    with server, start_nginx(base, blocks) as proxy:
        hammer(portal_port, AUTH_HOST, "/api/authz", cookies, 1.0)  # warm up
        for _ in range(args.rounds):
            rps, _, codes = hammer(portal_port, AUTH_HOST, "/api/authz", cookies, args.seconds)
            assert codes == {200}, codes
            figures["allowed"].append(rps)
            rps, _, codes = hammer(portal_port, AUTH_HOST, "/api/authz", anonymous, args.seconds)
            assert codes == {401}, codes
            figures["denied"].append(rps)
            _, took, codes = hammer(proxy.port, APP_HOST, "/open/x", cookies, args.seconds)
            assert codes == {200}, codes
            figures["open"].append(statistics.median(took))
            _, took, codes = hammer(proxy.port, APP_HOST, "/page", cookies, args.seconds)
            assert codes == {200}, codes
            figures["auth"].append(statistics.median(took))
            _, _, refused = hammer(proxy.port, APP_HOST, "/page", anonymous, 0.2)
            assert refused == {401}, refused  # auth_request really ran
    return figures


def _run(base: Path, args: argparse.Namespace) -> int:
    env = harness.portal_env(PORTAL_AUTHZ_HOSTS=APP_HOST, PORTAL_TRUSTED_PROXIES="127.0.0.1")
    env["PORTAL_PUBLIC_URL"] = f"http://{AUTH_HOST}:1"
    db = base / "portal.duckdb"
    print(f"seeding {args.people} signed-in people ...", file=sys.stderr)
    tokens = seed(db, env, args.people)
    direct = [in_process(db, env, tokens, args.seconds) for _ in range(args.rounds)]
    figures = _over_http(base, db, env, tokens, args)
    added = [a - o for a, o in zip(figures["auth"], figures["open"], strict=True)]
    print(f"{'':<46} {'min':>9} {'median':>9} {'max':>9}")
    print(_row("authz.decide() in process, allowed (one thread)", direct, "per s"))
    print(_row("GET /api/authz, allowed (one core)", figures["allowed"], "req/s"))
    print(_row("GET /api/authz, denied: no cookie (one core)", figures["denied"], "req/s"))
    print(_row("through nginx, no auth_request (median)", figures["open"], "ms"))
    print(_row("through nginx, with auth_request (median)", figures["auth"], "ms"))
    print(_row("added by forward auth (median per round)", added, "ms"))
    print(f"load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    print(
        f"authz_decisions_per_s={statistics.median(direct):.0f} "
        f"authz_allowed_rps={statistics.median(figures['allowed']):.0f} "
        f"authz_denied_rps={statistics.median(figures['denied']):.0f} "
        f"nginx_added_ms={statistics.median(added):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
