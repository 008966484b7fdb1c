"""An imported account's first sign-in: its first password only opens "choose your password".

The first password (see passwords.first_password_hash) proves who the person is once; the
sign-in goes on only after they chose their own, in the same few minutes as the code step.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from portal import events
from portal.access import passwords, throttle
from portal.access.accounts import Next, PasswordOk, identity_for, next_step
from portal.access.signed_in import record_sign_in
from portal.context import Portal
from portal.errors import InvalidCredentials, InvalidInput
from portal.models import Factor, FactorStatus, User
from store import Cursor
from store import audit as audit_store
from store import factors as factor_store
from store import sessions as session_store
from store import users as user_store

PENDING_MINUTES = 5  # how long a correct first password waits for the new one (as the code step)
ALREADY_CHANGED = "This password was changed already. Sign in with the new one."
REUSED = "Choose a new password, not the one you were given."


def set_first_password(
    p: Portal, user_id: int, password_at: dt.datetime, new: str, confirm: str, source: str
) -> PasswordOk:
    """Replace an imported account's first password with the person's own, then go on."""
    if p.now() - password_at > dt.timedelta(minutes=PENDING_MINUTES):
        raise InvalidCredentials("Your sign-in took too long. Please start again.")
    with p.db.read() as cur:
        user = user_store.get_user(cur, user_id)
    if user is None or user.disabled:
        raise InvalidCredentials()
    old = user.password_hash
    if not passwords.is_first_password(old):
        raise InvalidCredentials(ALREADY_CHANGED)
    passwords.check_new(new, confirm, user.username)
    if passwords.first_password_matches(new, old):
        raise InvalidInput(REUSED)
    hashed = passwords.hash_password(new, p.settings.bcrypt_rounds)
    changed, active = p.db.transact(lambda cur: _replace(p, cur, user_id, old, hashed, source))
    if active is not None or changed.reset_expires_at is not None:
        return next_step(p, changed, source, active)
    now = p.now()
    return PasswordOk(changed, Next.DONE, identity_for(changed, now, None), now)


def _replace(
    p: Portal, cur: Cursor, user_id: int, old: str, hashed: str, source: str
) -> tuple[User, Factor | None]:
    """The change, its audit row and (2FA off, no reset) the sign-in itself, in one transaction;
    the changed person and their active factor."""
    # Under the row lock, so a second tab or a double click finds the first one's new hash.
    locked = user_store.lock_user(cur, user_id)
    if locked is None or locked.disabled:
        raise InvalidCredentials()
    if locked.password_hash != old:
        raise InvalidCredentials(ALREADY_CHANGED)
    now, name = p.now(), locked.username
    user_store.update_password(cur, user_id, hashed)
    session_store.update_end_all(cur, user_id, now, "password changed", None)
    audit_store.insert_event(cur, now, events.FIRST_PASSWORD_CHANGED, name, name, source)
    changed = dataclasses.replace(locked, password_hash=hashed)
    active = factor_store.get_factor(cur, user_id, FactorStatus.ACTIVE)
    if locked.reset_expires_at is None and active is None:
        throttle.clear(p, cur, name, source)
        record_sign_in(cur, user_id, name, now, source, second_factor=False)
    return changed, active
