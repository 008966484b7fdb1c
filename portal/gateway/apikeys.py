"""API keys of the code-check API, and the check itself: the sign-in page's own code check.

A key is ``p2fa_<id>_<secret>``; the database keeps the id and a SHA-256 hash of the secret (a
32-byte random secret needs no slow hash). Codes go through second_factor's check, so the
throttle, the replay guard (one accepted time step per code) and the single use of backup codes
are the sign-in page's: a code used at the VPN cannot be used again in the browser.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
import secrets

from portal import events
from portal.access import throttle
from portal.context import Portal
from portal.errors import InvalidCode, InvalidCredentials, InvalidInput, PortalError
from portal.manager import guard
from portal.models import FactorStatus, Identity
from portal.twofactor import second_factor, totp
from store import apikeys as apikey_store
from store import audit as audit_store
from store import factors as factor_store
from store import users as user_store
from store.apikeys import ApiKey

PREFIX = "p2fa"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})$")
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()
MAX_USERNAME = 128


@dataclasses.dataclass(frozen=True)
class NewKey:
    """A key just made: ``secret`` is shown once and never stored."""

    name: str
    secret: str = dataclasses.field(repr=False)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_sources(text: str) -> str:
    """Comma-separated IPs/CIDRs, normalised ("" = any); InvalidInput names a bad entry."""
    found = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise InvalidInput(f"Not an IP address or network: {item[:60]!r}.") from None
    return ",".join(found)


def _actor(p: Portal, actor: Identity | None) -> str:
    """Who acts: a security manager (checked now, in the database) or the shell (None)."""
    if actor is None:
        return "cli"
    with p.db.read() as cur:
        return guard.require_manager(p, cur, actor).username


def create(p: Portal, actor: Identity | None, name: str, sources: str, source: str) -> NewKey:
    """A new named key (audited); InvalidInput for a bad or taken name or address."""
    by = _actor(p, actor)
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidInput("A key name has 1-64 letters, digits, spaces, dots, - or _.")
    allowed = parse_sources(sources)
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with p.db.write() as cur:
        if apikey_store.get_key_by_name(cur, name) is not None:
            raise InvalidInput(f"There is already a key named {name}.")
        apikey_store.insert_key(cur, key_id, name, _digest(secret), allowed, p.now(), by)
        detail = f"key {name}; sources {allowed or 'any'}"
        audit_store.insert_event(cur, p.now(), events.API_KEY_CREATED, by, None, source, detail)
    return NewKey(name, f"{PREFIX}_{key_id}_{secret}")


def all_keys(p: Portal, actor: Identity | None) -> list[ApiKey]:
    _actor(p, actor)
    with p.db.read() as cur:
        return apikey_store.list_keys(cur)


def revoke(p: Portal, actor: Identity | None, name: str, source: str) -> None:
    """Revoke a live key (audited); InvalidInput if there is no such live key."""
    by = _actor(p, actor)
    with p.db.write() as cur:
        if not apikey_store.update_revoked(cur, name, p.now(), by):
            raise InvalidInput(f"There is no live key named {name}.")
        audit_store.insert_event(cur, p.now(), events.API_KEY_REVOKED, by, None, source, name)


def authenticate(p: Portal, authorization: str, address: str) -> ApiKey | None:
    """The live key of an ``Authorization: Bearer`` header, if the client's address may use it."""
    scheme, _, value = authorization.partition(" ")
    match = _KEY.match(value.strip()) if scheme.lower() == "bearer" else None
    key_id, secret = match.groups() if match else ("", "")
    with p.db.read() as cur:
        key = apikey_store.get_key(cur, key_id) if key_id else None
    # Compared even when there is no such key, so a wrong id takes a wrong secret's time.
    good = secrets.compare_digest(_digest(secret), key.secret_hash if key else _DUMMY_HASH)
    if key is None or not good or key.revoked_at is not None:
        return None
    return key if _source_allowed(key.sources, address) else None


def _source_allowed(sources: str, address: str) -> bool:
    if not sources:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in sources.split(","))


def check_code(p: Portal, key: ApiKey, address: str, username: str, code: str) -> bool:
    """True if ``code`` is this person's current authenticator code or an unused backup code."""
    source = f"{address} api-key:{key.name}"
    with p.db.write() as cur:
        apikey_store.update_last_used(cur, key.id, p.now(), address)
    name = throttle.subject_for(username[:MAX_USERNAME])
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, name) if name else None
    try:
        if user is None or user.disabled:
            _no_account(p, name, code, source, purpose(key))
            return False
        # The sign-in page's own check (throttle, replay guard, audit); its failures all raise.
        second_factor._check_second_factor(p, user, code, source, purpose(key))
    except PortalError:
        return False
    with p.db.write() as cur:
        subject = user.username
        audit_store.insert_event(
            cur, p.now(), events.API_CODE_OK, None, subject, source, purpose(key)
        )
    return True


def purpose(key: ApiKey) -> str:
    return f"api key {key.name}"


def _no_account(p: Portal, name: str, code: str, source: str, why: str) -> None:
    """A name that is no (enabled) account costs what a wrong code costs, and is counted."""
    is_totp, cleaned = second_factor._parse_code(code)  # the same input rules as a real check
    if not name:
        raise InvalidCredentials()
    with p.db.write() as cur:
        attempt = throttle.reserve(p, cur, name, None, source)
        factor_store.get_factor(cur, -1, FactorStatus.ACTIVE)  # the lookup a real check makes
        if is_totp:
            totp.match_step(totp.new_secret(), cleaned, p.now(), p.settings.totp_window)
        throttle.record_failure(p, cur, attempt, source)
        detail = f"{why}: wrong code"  # no subject: the name is no account (maybe a typo)
        audit_store.insert_event(cur, p.now(), events.CODE_FAILED, None, None, source, detail)
    raise InvalidCode()
