"""Security-manager reports: the paged accounts table, overview, enrolments, audit trail, CSV.

Every function takes the acting Identity and checks the role itself (the page checks too).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import threading
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

from portal import events, validate
from portal.context import Portal
from portal.errors import InvalidInput
from portal.manager.guard import Checked, confirm, require_manager
from portal.models import (
    AUDIT_COLUMNS,
    USER_COLUMNS,
    AuditEvent,
    AuditQuery,
    Identity,
    Overview,
    UserQuery,
)
from portal.ops.retention import Retention
from store import audit as audit_store
from store import audit_retention as retention_store
from store import reports
from store.database import Cursor

PAGE_SIZE = 50
CSV_LIMIT = 100_000  # rows in one CSV export
MATCH_CAP = 1_000  # a search counts its matches up to here ("more than 1,000 match")
SNAPSHOT_SECONDS = 5  # the overview is recounted when older than this (the page says its age)


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a table and where it sits in the whole filtered view."""

    rows: list[Any]
    total: int  # with `capped`, at least this many: counting stopped there
    page: int  # 1-based, clamped to the pages that exist
    pages: int
    capped: bool = False


def _clamp(page: int, total: int, size: int) -> tuple[int, int]:
    pages = max(1, -(-total // size))
    return min(max(1, page), pages), pages


def accounts_page(
    p: Portal, actor: Identity, query: UserQuery, page: int = 1, size: int = PAGE_SIZE
) -> Page:
    """One page of the accounts table (rows are UserRow), filtered, sorted and counted in SQL."""
    now = p.now()
    # A search counts its matches only up to MATCH_CAP: counting them all scans every account
    # (and a broad search matches too many to page through anyway).
    cap = MATCH_CAP if query.search.strip() else None
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        total = reports.count_user_status(cur, query, now, cap)
        capped = cap is not None and total > cap
        total = min(total, cap) if cap is not None else total
        page, pages = _clamp(page, total, size)
        rows = reports.list_user_status(cur, query, now, size, (page - 1) * size)
    return Page(rows, total, page, pages, capped)


@dataclasses.dataclass(frozen=True)
class CachedPage:
    """A page of the accounts table as read at `as_of`, for the inputs in `key`."""

    key: tuple[Any, ...]
    page: Page
    as_of: dt.datetime


def _fresh(as_of: dt.datetime, now: dt.datetime) -> bool:
    return 0 <= (now - as_of).total_seconds() < SNAPSHOT_SECONDS


def cached_accounts_page(
    p: Portal,
    actor: Identity,
    query: UserQuery,
    page: int,
    cache: MutableMapping[Any, Any],  # e.g. st.session_state
    slot: str,
    checked: Checked | None = None,
) -> CachedPage:
    """accounts_page, reused from cache[slot] while at most SNAPSHOT_SECONDS old, same inputs."""
    key = (p.db.path, id(p.db), actor.user_id, query, page, p.settings.backup_codes_low)
    hit = cache.get(slot)
    now = p.now()
    if isinstance(hit, CachedPage) and hit.key == key and _fresh(hit.as_of, now):
        confirm(p, actor, checked)  # the rows may be reused, the role is checked every run
        return hit
    fresh = CachedPage(key, accounts_page(p, actor, query, page), now)
    cache[slot] = fresh
    return fresh


def overview(p: Portal, actor: Identity) -> Overview:
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        return reports.get_overview(cur, p.now(), p.settings.backup_codes_low)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What the page shows above its tabs, counted at one instant (`as_of`)."""

    overview: Overview
    enrolments: list[tuple[dt.date, int]]  # per UTC day, the last 90 days
    disputed: int  # "No, it wasn't me" reports in the last 30 days
    as_of: dt.datetime
    retention: Retention  # how long the audit trail is kept, and what was removed


# Per open database (a reopened file or a restarted server starts afresh) and the settings shown.
_snapshots: dict[tuple[str, int, int, int], Snapshot] = {}
_counting = threading.Lock()  # one count at a time: sessions arriving together share it


def snapshot(
    p: Portal, actor: Identity, refresh: bool = False, checked: Checked | None = None
) -> Snapshot:
    """The overview, at most SNAPSHOT_SECONDS old (counted anew on refresh); role checked now.

    `checked` is this page run's role check (guard.check_page): without it the role is read here.
    """
    key = _key(p)
    confirm(p, actor, checked)
    with _counting:
        hit = _snapshots.get(key)
        now = p.now()
        if hit is None or refresh or not _fresh(hit.as_of, now):
            with p.db.read() as cur:
                hit = Snapshot(
                    reports.get_overview(cur, now, p.settings.backup_codes_low),
                    _enrolments(cur, now, 90),
                    _disputed(cur, now, 30),
                    now,
                    _retention(p, cur),
                )
            _snapshots[key] = hit
        return hit


def _retention(p: Portal, cur: Cursor) -> Retention:
    keep = p.settings.audit_keep_days
    return Retention(
        keep, retention_store.get_removed(cur), retention_store.get_oldest_event_at(cur)
    )


def forget_snapshot(p: Portal) -> None:
    """After a change made from the page: the next snapshot is counted afresh."""
    _snapshots.pop(_key(p), None)


def _key(p: Portal) -> tuple[str, int, int, int]:
    return (p.db.path, id(p.db), p.settings.backup_codes_low, p.settings.audit_keep_days)


def _disputed(cur: Cursor, now: dt.datetime, days: int) -> int:
    start = now - dt.timedelta(days=days)
    return sum(n for _, n in audit_store.count_events_by_day(cur, [events.NOTICE_DISPUTED], start))


def _enrolments(cur: Cursor, now: dt.datetime, days: int) -> list[tuple[dt.date, int]]:
    first = now.date() - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    counts = dict(audit_store.count_subjects_by_day(cur, [events.WIZARD_COMPLETED], start))
    return [(first + dt.timedelta(d), counts.get(first + dt.timedelta(d), 0)) for d in range(days)]


def disputed_notices(p: Portal, actor: Identity, days: int = 30) -> int:
    """How many "No, it wasn't me" reports people made in the last `days` days."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        return _disputed(cur, p.now(), days)


def enrolments_by_day(p: Portal, actor: Identity, days: int = 90) -> list[tuple[dt.date, int]]:
    """People who completed a set-up per UTC day over the last `days` days (empty days: 0)."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        return _enrolments(cur, p.now(), days)


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
        total = audit_store.count_audit(cur, query)
        page, pages = _clamp(page, total, size)
        rows: list[AuditEvent] = audit_store.list_audit(cur, query, size, (page - 1) * size)
    return Page(rows, total, page, pages)


def users_csv(p: Portal, actor: Identity, query: UserQuery, limit: int = CSV_LIMIT) -> str:
    """The filtered accounts view as CSV, streamed from SQL in batches, at most `limit` rows."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        rows = reports.iter_user_status(cur, query, p.now(), limit)
        return _csv(USER_COLUMNS, rows)


def audit_csv(p: Portal, actor: Identity, query: AuditQuery, limit: int = CSV_LIMIT) -> str:
    """The filtered audit trail as CSV, newest first, at most `limit` rows."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        return _csv(AUDIT_COLUMNS, audit_store.iter_audit(cur, query, limit))


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
