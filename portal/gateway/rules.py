"""Who may pass to a protected app: allowed hosts, rules per host and path prefix, target URLs.

The rules file is TOML, a list of ``[[rule]]`` tables (see README, "Protecting other apps"):
``host`` (exact, required), ``path`` (prefix on segment boundaries, default "/"), ``allow``
(who may pass) and ``fresh_minutes`` (step-up: a second factor within that many minutes).
The most specific rule wins (the longest path prefix of the host); a host of the allow-list
without a rule lets any signed-in person pass. Paths are compared after percent-decoding and
resolving dot segments, as the app behind the proxy will see them, so ``/open/../admin``
meets the rule of ``/admin``.
"""

from __future__ import annotations

import dataclasses
import posixpath
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

SIGNED_IN, TWO_FACTOR, MANAGERS = "signed_in", "two_factor", "managers"
ALLOW = (SIGNED_IN, TWO_FACTOR, MANAGERS)
MAX_URL = 4096


@dataclasses.dataclass(frozen=True)
class Rule:
    host: str
    path: str = "/"
    allow: str = SIGNED_IN
    fresh_minutes: int = 0  # 0: no step-up

    def covers(self, path: str) -> bool:
        base = self.path.rstrip("/")
        return not base or path == base or path.startswith(base + "/")


@dataclasses.dataclass(frozen=True)
class Target:
    """The URL a person asked for at the proxy: its host (lower case, no port) and clean path."""

    url: str
    host: str
    path: str


@dataclasses.dataclass(frozen=True)
class Rules:
    hosts: frozenset[str]  # the allow-list: hosts the portal guards and may send people back to
    rules: tuple[Rule, ...] = ()

    def rule_for(self, target: Target) -> Rule | None:
        """The most specific rule for the target; None if its host is not on the allow-list."""
        if target.host not in self.hosts:
            return None
        found = [r for r in self.rules if r.host == target.host and r.covers(target.path)]
        if not found:
            return Rule(target.host)
        return max(found, key=lambda r: len(r.path.rstrip("/")))


def parse_hosts(text: str) -> frozenset[str]:
    """The authz_hosts setting: comma-separated host names (no scheme, no port)."""
    hosts = [h.strip().lower() for h in text.split(",") if h.strip()]
    for host in hosts:
        if "/" in host or ":" in host or not host.replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"authz_hosts: not a host name: {host!r}")
    return frozenset(hosts)


def _rule(entry: object, hosts: frozenset[str]) -> Rule:
    if not isinstance(entry, dict):
        raise ValueError("each [[rule]] must be a table")
    unknown = set(entry) - {"host", "path", "allow", "fresh_minutes"}
    if unknown:
        raise ValueError(f"unknown rule keys: {', '.join(sorted(unknown))}")
    host, path = str(entry.get("host", "")).strip().lower(), str(entry.get("path", "/"))
    allow, fresh = entry.get("allow", SIGNED_IN), entry.get("fresh_minutes", 0)
    if host not in hosts:
        raise ValueError(f"rule host {host!r} is not in authz_hosts")
    if not path.startswith("/") or clean_path(path) != (path.rstrip("/") or "/") or "?" in path:
        raise ValueError(f"rule path must be a clean absolute path like /admin, not {path!r}")
    if allow not in ALLOW:
        raise ValueError(f"rule allow must be one of {', '.join(ALLOW)}, not {allow!r}")
    if isinstance(fresh, bool) or not isinstance(fresh, int) or fresh < 0:
        raise ValueError(f"rule fresh_minutes must be a whole number, 0 or more: {fresh!r}")
    return Rule(host, path, allow, fresh)


def load_rules(hosts_setting: str, rules_file: str) -> Rules:
    """The allow-list and the rules file (if any); ValueError with the reason if malformed."""
    hosts = parse_hosts(hosts_setting)
    if not rules_file:
        return Rules(hosts)
    try:
        with Path(rules_file).open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"authz_rules_file {rules_file}: {exc}") from None
    entries = data.get("rule", [])
    if not isinstance(entries, list) or set(data) - {"rule"}:
        raise ValueError(f"authz_rules_file {rules_file}: only [[rule]] tables are allowed")
    try:
        return Rules(hosts, tuple(_rule(e, hosts) for e in entries))
    except ValueError as exc:
        raise ValueError(f"authz_rules_file {rules_file}: {exc}") from None


def clean_path(raw: str) -> str:
    """The path as the app will route it: decoded, dot segments resolved, no trailing slash."""
    path = unquote(raw.split("?", 1)[0].split("#", 1)[0]).replace("\\", "/")
    path = posixpath.normpath("/" + path.lstrip("/"))
    return "/" + path.lstrip("/") if path != "/" else "/"


def parse_target(url: str) -> Target | None:
    """A Target from an absolute http(s) URL; None if it is anything else."""
    if not url or len(url) > MAX_URL or any(ch in url for ch in "\r\n\t "):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    return Target(url, parts.hostname.lower(), clean_path(parts.path or "/"))


def target_from_headers(headers: Mapping[str, str]) -> Target | None:
    """What the proxy says was asked for: X-Original-URL (nginx), else X-Forwarded-* (Traefik,
    Caddy)."""
    original = headers.get("x-original-url")
    if original:
        return parse_target(original)
    proto, host = headers.get("x-forwarded-proto"), headers.get("x-forwarded-host")
    if not proto or not host:
        return None
    uri = headers.get("x-forwarded-uri", "/") or "/"
    if not uri.startswith("/"):
        return None
    return parse_target(f"{proto}://{host}{uri}")
