"""Managing 2FA once it is on: backup codes, the key on another device, deactivation."""

from __future__ import annotations

import dataclasses

from portal import events
from portal.access.accounts import recheck_password
from portal.context import Portal
from portal.errors import InvalidInput, InvalidState
from portal.models import Factor, FactorStatus, Identity
from portal.twofactor import backup_codes
from portal.twofactor.enrolment import KeyView, key_view
from portal.twofactor.second_factor import require_fresh
from store import Cursor
from store import account_view as view_store
from store import audit as audit_store
from store import factors as factor_store
from store import sessions as session_store
from store import users as user_store
from store.account_view import AccountView


@dataclasses.dataclass(frozen=True)
class CodeView:
    code: str  # displayed form, xxxx-xxxx-xxxx
    used: bool


def backup_codes_left(p: Portal, identity: Identity, view: AccountView | None = None) -> int | None:
    """Unused backup codes of the active key, or None when 2FA is off (from `view` if given)."""
    if view is None or view.user_id != identity.user_id:
        with p.db.read() as cur:
            view = view_store.get_account_view(cur, identity.user_id)
    return view.codes_left if view is not None else None


def view_backup_codes(p: Portal, identity: Identity, source: str) -> list[CodeView]:
    require_fresh(p, identity)
    factor = _active(p, identity)
    with p.db.write() as cur:
        codes = factor_store.list_backup_codes(cur, factor.id)
        _audit(p, cur, identity, events.CODES_VIEWED, source)
    return [
        CodeView(
            backup_codes.display(backup_codes.decrypt(p, identity.user_id, c.code_enc)),
            bool(c.used_at),
        )
        for c in codes
    ]


def regenerate_backup_codes(p: Portal, identity: Identity, source: str) -> list[str]:
    """New codes for the active key; the old ones stop working at once."""
    require_fresh(p, identity)

    def renew(cur: Cursor) -> list[str]:
        # Re-read under the person's lock: a key replaced or turned off meanwhile gets no codes.
        user_store.lock_user(cur, identity.user_id)
        factor = factor_store.get_factor(cur, identity.user_id, FactorStatus.ACTIVE)
        if factor is None:
            raise InvalidState("Two-factor authentication is not enabled.")
        codes = backup_codes.issue(p, cur, identity.user_id, factor.id)
        _audit(p, cur, identity, events.CODES_REGENERATED, source)
        return codes

    return p.db.transact(renew)


def reveal_key(p: Portal, identity: Identity, source: str) -> KeyView:
    """The current key again, to add it to another device or app."""
    require_fresh(p, identity)
    factor = _active(p, identity)
    with p.db.write() as cur:
        _audit(p, cur, identity, events.KEY_REVEALED, source, "set up on another device")
    return key_view(p, identity, factor)


def deactivate(p: Portal, identity: Identity, source: str, keep_session: str | None = None) -> None:
    """Turn 2FA off for oneself: the key and backup codes are deleted, other sessions end."""
    require_fresh(p, identity)

    def turn_off(cur: Cursor) -> None:
        user_store.lock_user(cur, identity.user_id)
        if not factor_store.delete_factors(cur, identity.user_id):
            raise InvalidState("Two-factor authentication is already off.")
        session_store.update_end_all(
            cur, identity.user_id, p.now(), "2FA deactivated", keep_session
        )
        _audit(p, cur, identity, events.DEACTIVATED, source, "by the account holder")

    p.db.transact(turn_off)


def confirm_password(p: Portal, identity: Identity, password: str, source: str) -> Identity:
    """Re-enter the password (the wizard's first step); returns the identity stamped fresh."""
    if not password:
        raise InvalidInput("Enter your password.")
    recheck_password(
        p,
        identity,
        password,
        source,
        "That password is not correct.",
        audit="wrong password at re-authentication",
    )
    return dataclasses.replace(identity, password_at=p.now())


def _active(p: Portal, identity: Identity) -> Factor:
    with p.db.read() as cur:
        factor = factor_store.get_factor(cur, identity.user_id, FactorStatus.ACTIVE)
    if factor is None:
        raise InvalidState("Two-factor authentication is not enabled.")
    return factor


def _audit(
    p: Portal,
    cur: Cursor,
    identity: Identity,
    event: str,
    source: str,
    detail: str | None = None,
) -> None:
    audit_store.insert_event(
        cur, p.now(), event, identity.username, identity.username, source, detail
    )
