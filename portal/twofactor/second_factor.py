"""The second factor: authenticator codes and backup codes, at sign-in and for step-up."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

from portal import events
from portal.access import throttle
from portal.access.accounts import identity_for
from portal.access.signed_in import record_sign_in
from portal.context import Portal
from portal.errors import InvalidCode, InvalidCredentials, InvalidInput, StepUpRequired
from portal.models import Factor, FactorStatus, Identity, User
from portal.twofactor import backup_codes, totp
from store import Cursor
from store import audit as audit_store
from store import factors as factor_store
from store import users as user_store

SIGN_IN_MINUTES = 5  # how long a correct password waits for its second factor
MAX_CODE_CHARS = 64  # the code fields' max_chars: longer input is refused, not cut to fit
CODE_HINT = (
    "Enter the 6-digit code from your authenticator app, or a backup code like abcd-efgh-jkmn."
)


@dataclasses.dataclass(frozen=True)
class Verified:
    """A second factor that checked: how, and (for a backup code) how many codes remain."""

    identity: Identity
    used_backup_code: bool
    backup_codes_left: int | None


def secret_of(p: Portal, factor: Factor) -> str:
    return p.cipher.decrypt(factor.secret_enc, f"totp:{factor.user_id}").decode()


def verify_sign_in(
    p: Portal,
    user_id: int,
    password_at: dt.datetime,
    code: str,
    source: str,
    username: str | None = None,
) -> Verified:
    """The code step of sign-in, within a few minutes of the correct password.

    `username`: the name the password step found (the sign-in page keeps it). The account is then
    not read before the code is checked: the stamp of its last sign-in returns it and refuses it
    if disabled or renamed since, rolling the whole step back. Without it, it is read first."""
    if p.now() - password_at > dt.timedelta(minutes=SIGN_IN_MINUTES):
        raise InvalidCredentials("Your sign-in took too long. Please start again.")
    parsed = _parse_code(code)
    # No prune here: the password step pruned moments ago, and a row whose window ended is
    # counted afresh anyway. Only the key must be loaded before the transaction counts.
    throttle.ensure_key(p)

    def sign_in(cur: Cursor) -> tuple[User | None, dt.datetime, int | None]:
        # One transaction: the check, and on success the sign-in's bookkeeping in its commit.
        name = username or _usable(user_store.get_user(cur, user_id)).username
        ok, left = _check_in(p, cur, user_id, name, code, parsed, source, "sign-in", finish=True)
        now = p.now()
        user = record_sign_in(cur, user_id, name, now, source, second_factor=True) if ok else None
        return user, now, left

    user, now, left = p.db.transact(sign_in)  # re-run whole on a conflict
    if user is None:
        raise InvalidCode()
    return Verified(identity_for(user, now, now), left is not None, left)


def step_up(p: Portal, identity: Identity, code: str, source: str) -> Verified:
    """Prove the second factor again before a sensitive action; returns a refreshed identity."""
    user = _user(p, identity.user_id)
    used_backup, left = _check_second_factor(p, user, code, source, "confirmation")
    now = p.now()
    with p.db.write() as cur:
        audit_store.insert_event(cur, now, events.STEP_UP_OK, user.username, user.username, source)
    return Verified(identity_for(user, identity.signed_in_at, now), used_backup, left)


def is_fresh(p: Portal, identity: Identity) -> bool:
    """A second factor given within the step-up window (10 minutes by default)."""
    at = identity.second_factor_at
    return at is not None and p.now() - at <= dt.timedelta(minutes=p.settings.step_up_minutes)


def require_fresh(p: Portal, identity: Identity) -> None:
    if not is_fresh(p, identity):
        raise StepUpRequired()


def _user(p: Portal, user_id: int) -> User:
    with p.db.read() as cur:
        return _usable(user_store.get_user(cur, user_id))


def _usable(user: User | None) -> User:
    if user is None or user.disabled:
        raise InvalidCredentials()
    return user


def record_failed_code(
    cur: Cursor, now: dt.datetime, username: str, source: str, purpose: str, kind: str
) -> None:
    """The audit row of a wrong code; no actor, as nobody proved who they are."""
    detail = f"{purpose}: wrong {kind}"
    audit_store.insert_event(cur, now, events.CODE_FAILED, None, username, source, detail)


def _parse_code(code: str) -> tuple[bool, str]:
    """Whether the code is a TOTP code, and the code cleaned; InvalidInput if it is neither."""
    if len(code) > MAX_CODE_CHARS:
        raise InvalidInput(CODE_HINT)
    cleaned = totp.normalise(code)
    is_totp = cleaned.isascii() and cleaned.isdigit() and len(cleaned) < backup_codes.LENGTH
    if not cleaned:
        raise InvalidInput("Enter the 6-digit code from your authenticator app.")
    if is_totp and len(cleaned) != totp.DIGITS:
        raise InvalidInput(f"An authenticator code has {totp.DIGITS} digits.")
    if not is_totp and not backup_codes.looks_like_backup_code(code):
        raise InvalidInput(CODE_HINT)
    return is_totp, cleaned


def _check_second_factor(
    p: Portal, user: User, code: str, source: str, purpose: str
) -> tuple[bool, int | None]:
    """Check a TOTP or backup code; on failure count it and raise the one generic InvalidCode."""
    parsed = _parse_code(code)
    throttle.prune(p)
    ok, left = p.db.transact(  # one transaction, re-run whole on a conflict
        lambda cur: _check_in(
            p, cur, user.id, user.username, code, parsed, source, purpose, finish=False
        )
    )
    if not ok:
        raise InvalidCode()
    return left is not None, left


def _check_in(
    p: Portal,
    cur: Cursor,
    user_id: int,
    name: str,
    code: str,
    parsed: tuple[bool, str],
    source: str,
    purpose: str,
    finish: bool,
) -> tuple[bool, int | None]:
    """Count, check, then release the attempt (`finish`: forget its rows) or keep it counted."""
    is_totp, cleaned = parsed
    attempt = throttle.reserve(p, cur, name, user_id, source, seen=finish)
    factor = factor_store.get_factor(cur, user_id, FactorStatus.ACTIVE)
    if factor is None:
        raise InvalidCode("Two-factor authentication is not active for this account.")
    left: int | None = None
    if is_totp:
        ok, kind = _accept_totp(p, cur, factor, cleaned), "authenticator code"
    else:
        left = _accept_backup_code(p, cur, factor, code)
        ok, kind = left is not None, "backup code"
    now = p.now()
    if not ok:
        throttle.record_failure(p, cur, attempt, source)
        record_failed_code(cur, now, name, source, purpose, kind)
        return False, None
    if finish:
        throttle.forget(cur, attempt)
    else:
        throttle.release(cur, attempt)
    if left is not None:
        detail = f"{purpose}; {left} left"
        audit_store.insert_event(cur, now, events.CODE_USED, name, name, source, detail)
    return True, left


def _accept_totp(p: Portal, cur: Cursor, factor: Factor, code: str) -> bool:
    step = totp.match_step(secret_of(p, factor), code, p.now(), p.settings.totp_window)
    return step is not None and factor_store.update_last_step(cur, factor.id, step)


def _accept_backup_code(p: Portal, cur: Cursor, factor: Factor, text: str) -> int | None:
    """Mark the matching unused code used; return how many remain, or None if none matched."""
    if not backup_codes.looks_like_backup_code(text):
        return None
    wanted = backup_codes.normalise(text)
    codes = factor_store.list_backup_codes(cur, factor.id)
    hit = None
    for code in codes:
        if secrets.compare_digest(backup_codes.decrypt(p, factor.user_id, code.code_enc), wanted):
            hit = code
    if hit is None or hit.used_at is not None:
        return None
    if not factor_store.update_backup_code_used(cur, hit.id, p.now()):
        return None
    return sum(1 for c in codes if c.used_at is None) - 1
