"""Security-manager actions: reset, deactivate, disable, enable, clear lockouts, create accounts.

Every function takes the acting Identity and checks the role itself (the page checks too), against
the database as well as the session, so a manager demoted or disabled since sign-in is refused.
Changes write their audit rows in the same transaction as the change. The reports are in
`portal.manager.reports`, the role and step-up checks in `portal.manager.guard`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from portal import events, validate
from portal.access import accounts, throttle
from portal.context import Portal
from portal.errors import InvalidInput, NotFound, PermissionDenied
from portal.manager.guard import require_fresh_code, require_manager
from portal.models import Identity, Role, User
from store import Cursor
from store import audit as audit_store
from store import factors as factor_store
from store import sessions as session_store
from store import users as user_store

MAX_TARGETS = 200  # people in one action (a page of the table is 50)


def _targets(cur: Cursor, user_ids: Iterable[int], actor_id: int) -> list[User]:
    ids = list(dict.fromkeys(int(i) for i in user_ids))
    if not ids:
        raise InvalidInput("Select at least one person first.")
    if len(ids) > MAX_TARGETS:
        raise InvalidInput(f"Select at most {MAX_TARGETS} people at a time.")
    # The people and the acting manager, row-locked in id order (no deadlock between two
    # managers): each change sees what a concurrent request for the same person wrote, and
    # two managers disabling each other at once run one after the other.
    locked = {i: user_store.lock_user(cur, i) for i in sorted({*ids, actor_id})}
    found = [locked[i] for i in ids]
    if any(u is None for u in found):
        raise NotFound()
    return [u for u in found if u is not None]


def _refuse_self(actor: Identity, targets: Sequence[User], what: str) -> None:
    if any(t.id == actor.user_id for t in targets):
        # Disabling oneself has no own-page way; one's own 2FA is managed on the 2FA page.
        instead = (
            "another security manager can do that for you."
            if what == "disable"
            else "use Two-factor set-up in the sidebar, or ask another security manager."
        )
        raise PermissionDenied(f"You cannot {what} your own account here: {instead}")


def end_sessions(
    cur: Cursor,
    now: dt.datetime,
    actor: str,
    person: User,
    reason: str,
    source: str,
) -> int:
    """Sign the person out in every browser (they notice at their next click); audited."""
    count = session_store.update_end_all(cur, person.id, now, reason)
    if count:
        audit_store.insert_event(
            cur,
            now,
            events.SESSION_ENDED,
            actor,
            person.username,
            source,
            f"{count} session(s): {reason}",
        )
    return count


def _for_each(
    p: Portal,
    actor: Identity,
    user_ids: Iterable[int],
    act: Callable[[Cursor, User], bool],
    *,
    step_up: bool = False,
    refuse_self: str = "",
) -> list[User]:
    """Run `act` for each person in one write transaction; the people for whom it did something.

    The manager check, the row locks, the manager check again (on the locked, current row: a
    manager disabled by another one meanwhile is refused) and the step-up rule come first, in
    the same transaction; a deadlock or serialization failure re-runs all of it.
    """

    def run(cur: Cursor) -> list[User]:
        require_manager(p, cur, actor)
        targets = _targets(cur, user_ids, actor.user_id)
        require_manager(p, cur, actor)
        if step_up:
            require_fresh_code(p, cur, actor)
        if refuse_self:
            _refuse_self(actor, targets, refuse_self)
        return [person for person in targets if act(cur, person)]

    return p.db.transact(run)


def grant_reset(
    p: Portal, actor: Identity, user_ids: Iterable[int], reason: str, source: str
) -> list[User]:
    """Lost access: delete the people's keys and codes now; their next sign-in opens the wizard.

    The grant is used once (at the next correct password) and expires after
    settings.reset_grant_hours if unused. Open sessions end: a lost phone may mean a lost laptop.
    """
    why = validate.reason(reason)
    now = p.now()
    expires = now + dt.timedelta(hours=p.settings.reset_grant_hours)

    def reset(cur: Cursor, person: User) -> bool:
        reset_person(cur, now, expires, actor.username, person, why, source)
        return True

    return _for_each(p, actor, user_ids, reset, step_up=True, refuse_self="reset")


def reset_person(
    cur: Cursor,
    now: dt.datetime,
    expires: dt.datetime,
    actor: str,
    person: User,
    why: str,
    source: str,
    by: str = "a security manager",
) -> int:
    """The row-level reset (keys and codes gone, a grant until `expires`); sessions ended."""
    factor_store.delete_factors(cur, person.id)
    user_store.update_reset_grant(cur, person.id, now, expires, actor)
    detail = f"{why} (valid until {expires:%Y-%m-%d %H:%M} UTC)"
    audit_store.insert_event(cur, now, events.RESET_GRANTED, actor, person.username, source, detail)
    return end_sessions(cur, now, actor, person, f"two-factor reset by {by}", source)


def deactivate_for(
    p: Portal, actor: Identity, user_ids: Iterable[int], reason: str, source: str
) -> list[User]:
    """Turn the people's 2FA off: key and backup codes deleted, an open reset cancelled."""
    why = validate.reason(reason)
    now = p.now()

    def deactivate(cur: Cursor, person: User) -> bool:
        deactivate_person(cur, now, actor.username, person, why, source)
        return True

    refuse = "deactivate two-factor authentication for"
    return _for_each(p, actor, user_ids, deactivate, step_up=True, refuse_self=refuse)


def deactivate_person(
    cur: Cursor,
    now: dt.datetime,
    actor: str,
    person: User,
    why: str,
    source: str,
    by: str = "a security manager",
) -> int:
    """The row-level deactivation (key, codes, any open reset gone); sessions ended."""
    removed = factor_store.delete_factors(cur, person.id)
    user_store.update_reset_grant(cur, person.id, None, None, None)
    detail = f"by {by}: {why}" + ("" if removed else " (was already off)")
    audit_store.insert_event(cur, now, events.DEACTIVATED, actor, person.username, source, detail)
    return end_sessions(cur, now, actor, person, f"two-factor deactivated by {by}", source)


def set_disabled(
    p: Portal,
    actor: Identity,
    user_ids: Iterable[int],
    disabled: bool,
    reason: str,
    source: str,
) -> list[User]:
    """Disable accounts (they cannot sign in, open sessions end) or enable them again."""
    why = validate.reason(reason)
    now = p.now()

    def switch(cur: Cursor, person: User) -> bool:
        switch_disabled(cur, now, actor.username, person, disabled, why, source)
        return True

    return _for_each(p, actor, user_ids, switch, refuse_self="disable" if disabled else "")


def switch_disabled(
    cur: Cursor,
    now: dt.datetime,
    actor: str,
    person: User,
    disabled: bool,
    why: str,
    source: str,
) -> None:
    """The row-level disable (open sessions end) or enable, audited."""
    event = events.ACCOUNT_DISABLED if disabled else events.ACCOUNT_ENABLED
    user_store.update_disabled(cur, person.id, disabled)
    audit_store.insert_event(cur, now, event, actor, person.username, source, why)
    if disabled:
        end_sessions(cur, now, actor, person, "account disabled", source)


def clear_lockout(
    p: Portal, actor: Identity, user_ids: Iterable[int], reason: str, source: str
) -> list[User]:
    """Forget the failed attempts of these accounts, ending any lockout; returns those cleared."""
    why = validate.reason(reason)
    now = p.now()

    def clear(cur: Cursor, person: User) -> bool:
        return clear_person(cur, now, actor.username, person, why, source)

    return _for_each(p, actor, user_ids, clear)


def clear_person(
    cur: Cursor, now: dt.datetime, actor: str, person: User, why: str, source: str
) -> bool:
    """Forget every counter of the account (every address), audited; False if there was none."""
    if not throttle.clear_account(cur, person.id):
        return False
    audit_store.insert_event(cur, now, events.LOCKOUT_CLEARED, actor, person.username, source, why)
    return True


def create_account_for(
    p: Portal,
    actor: Identity,
    username: str,
    password: str,
    role: Role = Role.USER,
    display_name: str = "",
    source: str = "manager page",
    confirm: str | None = None,
) -> User:
    """A new account with a first password the manager hands over; 2FA starts off."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
    if confirm is not None and confirm != password:
        raise InvalidInput("The two passwords do not match.")
    return accounts.create_account(p, actor, username, password, role, display_name, source)
