"""Security-manager services: reset, deactivate, disable, create, clear lockouts, and the reports.

Every function takes the acting Identity and checks the role itself (the page checks too), against
the database as well as the session, so a manager demoted or disabled since sign-in is refused.
Changes write their audit rows in the same transaction as the change.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from portal import events, validate
from portal.access import accounts, throttle
from portal.context import Portal
from portal.errors import InvalidInput, NotFound, PermissionDenied, StepUpRequired
from portal.models import AuditEvent, FactorStatus, Identity, Role, User
from portal.twofactor import policy, second_factor
from store import audit as audit_store
from store import factors as factor_store
from store import reports
from store import sessions as session_store
from store import users as user_store
from store.reports import AuditQuery, Overview, UserQuery

PAGE_SIZE = 50
CSV_LIMIT = 100_000  # rows in one CSV export
MAX_TARGETS = 200  # people in one action (a page of the table is 50)


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a table and where it sits in the whole filtered view."""

    rows: list[Any]
    total: int
    page: int  # 1-based, clamped to the pages that exist
    pages: int


def require_manager(p: Portal, cur: duckdb.DuckDBPyConnection, actor: Identity | None) -> User:
    """The acting manager's account as it is now; PermissionDenied for anyone else.

    Every manager service calls this inside its own transaction or read, so the check and the
    change see the same database. (`p` is for policy checks such as "managers must use 2FA".)
    """
    if actor is None or not actor.is_manager:
        raise PermissionDenied()
    user = user_store.get_user(cur, actor.user_id)
    if user is None or user.disabled or user.role is not Role.SECURITY_MANAGER:
        raise PermissionDenied()
    policy.check_manager(p, cur, actor)
    return user


STEP_UP_MESSAGE = (
    "Confirm it's you first: enter a current code from your authenticator app under "
    "*Confirm it's you* at the top of this page, then try again."
)


def _require_fresh_code(p: Portal, cur: duckdb.DuckDBPyConnection, actor: Identity) -> None:
    """Resets and deactivations need the manager's own code from the last few minutes."""
    if factor_store.get_factor(cur, actor.user_id, FactorStatus.ACTIVE) is None:
        return  # a manager without 2FA has no code to give (the policy decides if that's allowed)
    if not second_factor.is_fresh(p, actor):
        raise StepUpRequired(STEP_UP_MESSAGE)


def _targets(cur: duckdb.DuckDBPyConnection, user_ids: Iterable[int]) -> list[User]:
    ids = list(dict.fromkeys(int(i) for i in user_ids))
    if not ids:
        raise InvalidInput("Select at least one person first.")
    if len(ids) > MAX_TARGETS:
        raise InvalidInput(f"Select at most {MAX_TARGETS} people at a time.")
    # Row-locked in id order (no deadlock between two managers): each change sees what a
    # concurrent request for the same person wrote.
    locked = {i: user_store.lock_user(cur, i) for i in sorted(ids)}
    found = [locked[i] for i in ids]
    if any(u is None for u in found):
        raise NotFound()
    return [u for u in found if u is not None]


def _refuse_self(actor: Identity, targets: Sequence[User], what: str) -> None:
    if any(t.id == actor.user_id for t in targets):
        raise PermissionDenied(
            f"You cannot {what} your own account here. Ask another security manager, or use "
            "Configure two-factor authentication."
        )


def _end_sessions(
    cur: duckdb.DuckDBPyConnection,
    now: dt.datetime,
    actor: Identity,
    person: User,
    reason: str,
    source: str,
) -> None:
    """Sign the person out in every browser (they notice at their next click); audited."""
    count = session_store.update_end_all(cur, person.id, now, reason)
    if count:
        audit_store.insert_event(
            cur,
            now,
            events.SESSION_ENDED,
            actor.username,
            person.username,
            source,
            f"{count} session(s): {reason}",
        )


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
    with p.db.write() as cur:
        require_manager(p, cur, actor)
        _require_fresh_code(p, cur, actor)
        targets = _targets(cur, user_ids)
        _refuse_self(actor, targets, "reset")
        for person in targets:
            factor_store.delete_factors(cur, person.id)
            user_store.update_reset_grant(cur, person.id, now, expires, actor.username)
            detail = f"{why} (valid until {expires:%Y-%m-%d %H:%M} UTC)"
            audit_store.insert_event(
                cur, now, events.RESET_GRANTED, actor.username, person.username, source, detail
            )
            _end_sessions(cur, now, actor, person, "two-factor reset by a security manager", source)
    return targets


def deactivate_for(
    p: Portal, actor: Identity, user_ids: Iterable[int], reason: str, source: str
) -> list[User]:
    """Turn the people's 2FA off: key and backup codes deleted, an open reset cancelled."""
    why = validate.reason(reason)
    now = p.now()
    with p.db.write() as cur:
        require_manager(p, cur, actor)
        _require_fresh_code(p, cur, actor)
        targets = _targets(cur, user_ids)
        _refuse_self(actor, targets, "deactivate two-factor authentication for")
        for person in targets:
            removed = factor_store.delete_factors(cur, person.id)
            user_store.update_reset_grant(cur, person.id, None, None, None)
            detail = f"by a security manager: {why}" + ("" if removed else " (was already off)")
            audit_store.insert_event(
                cur, now, events.DEACTIVATED, actor.username, person.username, source, detail
            )
            _end_sessions(
                cur, now, actor, person, "two-factor deactivated by a security manager", source
            )
    return targets


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
    event = events.ACCOUNT_DISABLED if disabled else events.ACCOUNT_ENABLED
    with p.db.write() as cur:
        require_manager(p, cur, actor)
        targets = _targets(cur, user_ids)
        if disabled:
            _refuse_self(actor, targets, "disable")
        for person in targets:
            user_store.update_disabled(cur, person.id, disabled)
            audit_store.insert_event(cur, now, event, actor.username, person.username, source, why)
            if disabled:
                _end_sessions(cur, now, actor, person, "account disabled", source)
    return targets


def clear_lockout(
    p: Portal, actor: Identity, user_ids: Iterable[int], reason: str, source: str
) -> list[User]:
    """Forget the failed attempts of these accounts, ending any lockout; returns those cleared."""
    why = validate.reason(reason)
    now = p.now()
    cleared = []
    with p.db.write() as cur:
        require_manager(p, cur, actor)
        for person in _targets(cur, user_ids):
            if not throttle.clear_account(cur, person.id):  # every address, and the account
                continue
            audit_store.insert_event(
                cur, now, events.LOCKOUT_CLEARED, actor.username, person.username, source, why
            )
            cleared.append(person)
    return cleared


def create_user(
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
    return accounts.create_user(p, actor, username, password, role, display_name, source)


# --- reports -------------------------------------------------------------------------------


def _clamp(page: int, total: int, size: int) -> tuple[int, int]:
    pages = max(1, -(-total // size))
    return min(max(1, page), pages), pages


def list_users(
    p: Portal, actor: Identity, query: UserQuery, page: int = 1, size: int = PAGE_SIZE
) -> Page:
    """One page of the accounts table (rows are UserRow), filtered, sorted and counted in SQL."""
    now = p.now()
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        total = reports.count_user_status(cur, query, now)
        page, pages = _clamp(page, total, size)
        rows = reports.list_user_status(cur, query, now, size, (page - 1) * size)
    return Page(rows, total, page, pages)


def overview(p: Portal, actor: Identity) -> Overview:
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        return reports.get_overview(cur, p.now(), p.settings.backup_codes_low)


def enrolments_by_day(p: Portal, actor: Identity, days: int = 90) -> list[tuple[dt.date, int]]:
    """Completed set-ups per UTC day over the last `days` days, with empty days as zero."""
    today = p.now().date()
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        counts = dict(reports.count_events_by_day(cur, [events.WIZARD_COMPLETED], start))
    return [(first + dt.timedelta(d), counts.get(first + dt.timedelta(d), 0)) for d in range(days)]


def audit_query(
    person: str = "",
    event_names: Sequence[str] = (),
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> AuditQuery:
    """The audit filter for whole UTC days from first_day to last_day, both included."""
    unknown = set(event_names) - set(events.ALL)
    if unknown:
        raise InvalidInput(f"Unknown event: {', '.join(sorted(unknown))}")
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC) if first_day else None
    end = (
        dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if last_day
        else None
    )
    return AuditQuery(person[: validate.MAX_FIELD], tuple(event_names), start, end)


def audit_trail(
    p: Portal, actor: Identity, query: AuditQuery, page: int = 1, size: int = PAGE_SIZE
) -> Page:
    """One page of the audit trail (rows are AuditEvent), newest first."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        total = reports.count_audit(cur, query)
        page, pages = _clamp(page, total, size)
        rows: list[AuditEvent] = reports.list_audit(cur, query, size, (page - 1) * size)
    return Page(rows, total, page, pages)


def users_csv(p: Portal, actor: Identity, query: UserQuery, limit: int = CSV_LIMIT) -> str:
    """The filtered accounts view as CSV, streamed from SQL in batches, at most `limit` rows."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        rows = reports.iter_user_status(cur, query, p.now(), limit)
        return _csv(reports.USER_COLUMNS, rows)


def audit_csv(p: Portal, actor: Identity, query: AuditQuery, limit: int = CSV_LIMIT) -> str:
    """The filtered audit trail as CSV, newest first, at most `limit` rows."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        return _csv(reports.AUDIT_COLUMNS, reports.iter_audit(cur, query, limit))


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    # Every text cell quoted, so a separator inside a value never starts a new cell.
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


# OWASP CSV injection: a cell starting with one of these runs as a formula.
_FORMULA_START = frozenset("=+-@\t\r")
# A spreadsheet may split on any of these (or a naive one on quotes and line breaks), so a trigger
# right after one starts a cell too.
_SEPARATORS = frozenset(',;\t|\r\n"')


def _cell(value: Any) -> Any:
    """Dates in ISO form; text gets a ' before every formula trigger that could start a cell."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(sep=" ", timespec="seconds")
    if not isinstance(value, str):
        return value
    # Audit subjects and sources are whatever someone typed or sent: never let them be formulas.
    out = []
    at_start = True  # at the start of a cell, after a separator and any spaces
    for ch in value:
        if at_start and ch in _FORMULA_START:
            out.append("'")
        out.append(ch)
        at_start = ch in _SEPARATORS or (at_start and ch == " ")
    return "".join(out)
