"""Break-glass: the `portal user ...` changes made from the shell, without a manager identity.

Whoever can run the command on the server acts (actor `os:<login>`, source `cli`), so these
work when no security manager can sign in any more. Each is the row-level change a manager's
action makes (portal.manager.actions) with the same audit row, in one transaction that locks
the person first and re-reads them; "nothing to do" writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import os
from collections.abc import Callable, Iterator
from typing import Any

from portal import events, validate
from portal.context import Portal
from portal.errors import NotFound, PermissionDenied
from portal.manager import actions
from portal.models import FactorStatus, Role, User, UserQuery
from portal.twofactor import totp
from store import Cursor, audit_export, reports, user_admin
from store import audit as audit_store
from store import factors as factor_store
from store import sessions as session_store
from store import users as user_store

SOURCE = "cli"
BY = "an administrator (command line)"
EXPORT_LIMIT = 10_000_000  # accounts in one `user list --csv`


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one command did: `done` False means nothing needed doing and nothing was written."""

    username: str
    done: bool
    note: str


def operator() -> str:
    """The audit actor for the shell: the OS login, e.g. `os:alice`."""
    try:
        return f"os:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without /etc/passwd entry)
        return f"os:uid{os.getuid()}"


def find(p: Portal, name: str) -> User:
    """The account by username; NotFound in one line otherwise."""
    username = validate.username(name)
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, username)
    if user is None:
        raise NotFound(f"There is no account named {username}.")
    return user


def _run(
    p: Portal, name: str, act: Callable[[Cursor, User], Outcome], managers_first: bool = False
) -> Outcome:
    """act(cur, person) on the locked, current row of the person, in one write transaction.

    managers_first: every manager's row is locked before the person's, as the "last manager"
    check will lock them: two commands taking away two managers at once then queue instead of
    each holding its person and waiting for the other's (a deadlock, re-run until they gave up).
    """
    username = validate.username(name)

    def work(cur: Cursor) -> Outcome:
        if managers_first:
            user_admin.lock_managers(cur)
        found = user_store.get_user_by_username(cur, username)
        person = user_store.lock_user(cur, found.id) if found else None
        if person is None:
            raise NotFound(f"There is no account named {username}.")
        return act(cur, person)

    return p.db.transact(work)


def _sessions(count: int) -> str:
    return f"; {count} session(s) ended" if count else ""


def reset(p: Portal, actor: str, name: str, reason: str) -> Outcome:
    """The manager's reset grant: key and codes deleted, set-up opens at the next sign-in."""
    why = validate.reason(reason)
    now = p.now()
    expires = now + dt.timedelta(hours=p.settings.reset_grant_hours)

    def act(cur: Cursor, person: User) -> Outcome:
        ended = actions.reset_person(cur, now, expires, actor, person, why, SOURCE, BY)
        note = f"reset granted until {expires:%Y-%m-%d %H:%M} UTC{_sessions(ended)}"
        return Outcome(person.username, True, note)

    return _run(p, name, act)


def unlock(p: Portal, actor: str, name: str, reason: str) -> Outcome:
    """Forget the failed attempts of the account (every address), ending any lockout."""
    why = validate.reason(reason)
    now = p.now()

    def act(cur: Cursor, person: User) -> Outcome:
        if actions.clear_person(cur, now, actor, person, why, SOURCE):
            return Outcome(person.username, True, "failed attempts cleared, lockout ended")
        return Outcome(person.username, False, "not locked out, no failed attempts: nothing to do")

    return _run(p, name, act)


def _last_manager(cur: Cursor, person: User, force: bool) -> str:
    """Refuse to take away the last enabled manager unless forced; a note for the audit."""
    if person.role is not Role.SECURITY_MANAGER or person.disabled:
        return ""
    others = [i for i, off in user_admin.lock_managers(cur) if i != person.id and not off]
    if others:
        return ""
    if not force:
        raise PermissionDenied(
            f"{person.username} is the last enabled security manager: nobody could manage the "
            "portal afterwards. Add --force to do it anyway."
        )
    return " (the last enabled security manager; --force)"


def set_disabled(
    p: Portal, actor: str, name: str, disabled: bool, reason: str, force: bool = False
) -> Outcome:
    """Disable the account (it cannot sign in, open sessions end) or enable it again."""
    why = validate.reason(reason)
    now = p.now()
    word = "disabled" if disabled else "enabled"

    def act(cur: Cursor, person: User) -> Outcome:
        if person.disabled == disabled:
            return Outcome(person.username, False, f"already {word}: nothing to do")
        note = _last_manager(cur, person, force) if disabled else ""
        actions.switch_disabled(cur, now, actor, person, disabled, why + note, SOURCE)
        return Outcome(person.username, True, word)

    return _run(p, name, act, managers_first=disabled)


def set_role(p: Portal, actor: str, name: str, role: Role, reason: str, force: bool) -> Outcome:
    """Give the account another role; the person's open tabs ask them to sign in again."""
    why = validate.reason(reason)
    now = p.now()

    def act(cur: Cursor, person: User) -> Outcome:
        if person.role is role:
            return Outcome(person.username, False, f"already {role}: nothing to do")
        note = _last_manager(cur, person, force)
        user_admin.update_role(cur, person.id, role)
        detail = f"{person.role} -> {role}: {why}{note}"
        audit_store.insert_event(
            cur, now, events.ROLE_CHANGED, actor, person.username, SOURCE, detail
        )
        return Outcome(person.username, True, f"role {person.role} -> {role}")

    return _run(p, name, act, managers_first=True)


def deactivate(p: Portal, actor: str, name: str, reason: str) -> Outcome:
    """Turn the person's 2FA off: key and backup codes deleted, an open reset cancelled."""
    why = validate.reason(reason)
    now = p.now()

    def act(cur: Cursor, person: User) -> Outcome:
        keyed = any(factor_store.get_factor(cur, person.id, s) for s in FactorStatus)
        if not keyed and not person.reset_open(now):
            return Outcome(person.username, False, "two-factor is already off: nothing to do")
        ended = actions.deactivate_person(cur, now, actor, person, why, SOURCE, BY)
        return Outcome(person.username, True, f"two-factor turned off{_sessions(ended)}")

    return _run(p, name, act)


# -- `portal user show`: one account's state, never a secret ------------------------------


@dataclasses.dataclass(frozen=True)
class FactorInfo:
    status: str
    created_at: dt.datetime
    activated_at: dt.datetime | None
    last_used_at: dt.datetime | None  # the start of the last accepted code's time step


@dataclasses.dataclass(frozen=True)
class PersonReport:
    """What `portal user show` prints; no key, code or password hash."""

    username: str
    display_name: str
    role: str
    disabled: bool
    two_factor: str  # on, pending, off
    factors: list[FactorInfo]
    backup_codes_left: int | None
    failed_attempts: int
    locked_until: dt.datetime | None
    last_sign_in_at: dt.datetime | None
    open_sessions: int
    newest_session_at: dt.datetime | None
    reset_until: dt.datetime | None
    reset_by: str | None


def _factor_info(cur: Cursor, user_id: int) -> list[FactorInfo]:
    found = [factor_store.get_factor(cur, user_id, s) for s in FactorStatus]
    step = totp.PERIOD
    return [
        FactorInfo(
            str(f.status),
            f.created_at,
            f.activated_at,
            dt.datetime.fromtimestamp(f.last_step * step, dt.UTC) if f.last_step else None,
        )
        for f in found
        if f is not None
    ]


def describe(p: Portal, name: str) -> PersonReport:
    """One account's 2FA, lockout, sessions and reset grant, read in one transaction."""
    username = validate.username(name)
    now = p.now()
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, username)
        if user is None:
            raise NotFound(f"There is no account named {username}.")
        factors = _factor_info(cur, user.id)
        active = factor_store.get_factor(cur, user.id, FactorStatus.ACTIVE)
        codes = factor_store.list_backup_codes(cur, active.id) if active else None
        failures, locked_until = user_admin.get_throttle_state(cur, user.id, now)
        sessions = session_store.list_sessions(cur, user.id)
    statuses = {f.status for f in factors}
    return PersonReport(
        username=user.username,
        display_name=user.display_name,
        role=str(user.role),
        disabled=user.disabled,
        two_factor="on" if "active" in statuses else "pending" if statuses else "off",
        factors=factors,
        backup_codes_left=None if codes is None else sum(c.used_at is None for c in codes),
        failed_attempts=failures,
        locked_until=locked_until,
        last_sign_in_at=user.last_sign_in_at,
        open_sessions=len(sessions),
        newest_session_at=max((s.created_at for s in sessions), default=None),
        reset_until=user.reset_expires_at if user.reset_open(now) else None,
        reset_by=user.reset_granted_by if user.reset_open(now) else None,
    )


# -- `portal user list --csv`, `portal audit export`: streamed, a batch at a time ---------


def user_rows(p: Portal) -> Iterator[tuple[Any, ...]]:
    """Every account as USER_COLUMNS (what the manager page's CSV has), in batches."""
    with p.db.read() as cur:
        yield from reports.iter_user_status(cur, UserQuery(), p.now(), EXPORT_LIMIT)


def audit_rows(
    p: Portal, start: dt.datetime | None, end: dt.datetime | None, batch: int = 5_000
) -> Iterator[tuple[Any, ...]]:
    """The audit trail in [start, end) as AUDIT_COLUMNS, oldest first, `batch` rows per query."""
    after = 0
    with p.db.read() as cur:  # one snapshot: rows written meanwhile are not half-exported
        while rows := audit_export.list_audit_batch(cur, after, start, end, batch):
            yield from rows
            after = int(rows[-1][0])
