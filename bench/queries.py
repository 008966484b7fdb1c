"""Query audit: each store function on a hot path, for an ordinary person of the big database.

Times every call (reads with an open cursor; writes as their own committed transaction) and
asks DuckDB (EXPLAIN ANALYZE) whether its statement used an index or scanned the table. The
baseline is the primary-key lookup users.get_user, measured in the same loop.

DuckDB 2.0 uses an ART index only when the WHERE clause is a single equality on the indexed
column: any extra condition (`user_id = ? AND status = ?`) or an ORDER BY ... LIMIT on top turns
the lookup into a full table scan. This table shows which of our statements fall into that.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

from bench import dataset
from bench.timing import Figure, Series, ms
from portal.access import notices, throttle
from portal.context import Portal
from portal.models import FactorStatus
from store import audit as audit_store
from store import factors as factor_store
from store import sessions as session_store
from store import throttle as throttle_store
from store import users as user_store

_SCAN = re.compile(r"Type: ([A-Za-z ]+?)\s*│")
_GROUPS = re.compile(r"Row Groups Scanned: (\d+) / (\d+)")


class Recorder:
    """A cursor that remembers the statements run through it."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur
        self.statements: list[tuple[str, list[Any]]] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        self.statements.append((sql, list(params or [])))
        return self._cur.execute(sql, params or [])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def _person(p: Portal) -> dict[str, Any]:
    """An ordinary person at 70% of the table (not one of the bench people): active key."""
    with p.db.read() as cur:
        row = cur.execute(
            "SELECT u.id, u.username, f.id FROM users u JOIN factors f ON f.user_id = u.id"
            " WHERE f.status = 'active' AND u.id >= (SELECT max(id) * 7 / 10 FROM users)"
            " ORDER BY u.id LIMIT 1"
        ).fetchone()
        ended = cur.execute(
            "SELECT id FROM sessions WHERE ended_at IS NOT NULL ORDER BY created_at LIMIT 1"
            " OFFSET (SELECT count(*) / 2 FROM sessions WHERE ended_at IS NOT NULL)"
        ).fetchone()
        session = cur.execute(
            "SELECT id, user_id, token_hash FROM sessions WHERE ended_at IS NULL"
            " ORDER BY created_at LIMIT 1"
            " OFFSET (SELECT count(*) / 2 FROM sessions WHERE ended_at IS NULL)"
        ).fetchone()
    assert row is not None, "no enrolled person found"
    person = {"user_id": row[0], "username": row[1], "factor_id": row[2]}
    if session is not None:
        person.update(session_id=session[0], session_user=session[1], token_hash=session[2])
        person["ended_id"] = ended[0] if ended else session[0]
    return person


def _kinds(plan: str) -> list[str]:
    """The scans of one plan; "Sequential Scan" says how many row groups it read.

    A sequential scan with a filter on rowid or on a column that follows insertion order (ids)
    reads one or two row groups through the zone maps: that is a point lookup, not a full scan.
    """
    kinds = [k.strip() for k in _SCAN.findall(plan) if "Scan" in k]
    groups = _GROUPS.findall(plan)
    if len(groups) == len(kinds):
        pairs = zip(kinds, groups, strict=True)
        return [f"{k} ({a}/{b} row groups)" if "Seq" in k else k for k, (a, b) in pairs]
    return kinds


def _scans(p: Portal, statements: list[tuple[str, list[Any]]]) -> list[str]:
    kinds: list[str] = []
    with p.db.read() as cur:
        for sql, params in statements:
            cur.execute("BEGIN")
            try:
                plan = cur.execute("EXPLAIN ANALYZE " + sql, params).fetchall()
            finally:
                cur.execute("ROLLBACK")
            kinds += _kinds(plan[0][1])
    return kinds


def query_figures(p: Portal, runs: int) -> list[Figure]:
    who = _person(p)
    now = p.now()
    since = now - dt.timedelta(days=365 * 3)
    uid, name, fid = who["user_id"], who["username"], who["factor_id"]
    step = iter(range(10**9, 2 * 10**9))
    # The person's throttle rows, keyed as the portal keys them (HMAC of scope, name, address).
    account_key = throttle._key(p, throttle.ACCOUNT, name)
    address_key = throttle._key(p, throttle.ADDRESS, name, dataset.SOURCE)
    s = p.settings
    expires = now + dt.timedelta(minutes=s.lockout_minutes)
    reads: dict[str, Callable[[Any], Any]] = {
        "users.get_user (primary key)": lambda c: user_store.get_user(c, uid),
        "users.get_user_by_username": lambda c: user_store.get_user_by_username(c, name),
        "factors.get_factor": lambda c: factor_store.get_factor(c, uid, FactorStatus.ACTIVE),
        "factors.list_backup_codes": lambda c: factor_store.list_backup_codes(c, fid),
        "throttle.get_throttle": lambda c: throttle_store.get_throttle(c, account_key),
        "audit.list_events_since": lambda c: audit_store.list_events_since(
            c, name, since, ["wizard_completed", "backup_code_used", "reset_granted"]
        ),
        "audit.list_unseen (notices)": lambda c: audit_store.list_unseen(
            c, uid, name, sorted(notices.TEXT)
        ),
        "sessions.list_sessions": lambda c: session_store.list_sessions(c, uid),
        "users.count_users": lambda c: user_store.count_users(c),
    }
    if "session_id" in who:
        reads["sessions.get_session"] = lambda c: session_store.get_session(c, who["session_id"])
        reads["sessions.get_session_by_token"] = lambda c: session_store.get_session_by_token(
            c, who["token_hash"]
        )
    writes: dict[str, Callable[[Any], Any]] = {
        "factors.update_last_step (replay guard)": lambda c: factor_store.update_last_step(
            c, fid, next(step)
        ),
        "users.update_last_sign_in": lambda c: user_store.update_last_sign_in(c, uid, now),
        "audit.insert_event": lambda c: audit_store.insert_event(
            c, now, "sign_in_ok", name, name, "bench", "query audit"
        ),
        # A sign-in's throttle statements, in its order: prune, count the attempt (a new row),
        # take it back (on DuckDB a row taken back to nothing goes), forget the rows.
        "throttle.delete_stale": lambda c: throttle_store.delete_stale(c, now),
        "throttle.insert_attempt (reserve)": lambda c: throttle_store.insert_attempt(
            c,
            address_key,
            throttle.ADDRESS,
            uid,
            now,
            expires,
            s.lockout_after,
            s.throttle_after,
            s.throttle_base_seconds,
        ),
        "throttle.update_release": lambda c: throttle_store.update_release(c, address_key),
        "throttle.delete_throttle": lambda c: throttle_store.delete_throttle(c, address_key),
        "throttle.delete_throttle_keys (code step)": lambda c: throttle_store.delete_throttle_keys(
            c, [address_key, account_key]
        ),
        "throttle.delete_user_throttle (manager unlock)": lambda c: (
            throttle_store.delete_user_throttle(c, uid)
        ),
    }
    if "session_id" in who:
        writes["sessions.update_last_seen"] = lambda c: session_store.update_last_seen(
            c, who["session_id"], now
        )
        writes["sessions.update_end (sign out, already ended)"] = lambda c: (
            session_store.update_end(c, who["ended_id"], now, "bench")
        )
        writes["sessions.update_redeem_ticket (no match)"] = lambda c: (
            session_store.update_redeem_ticket(c, "0" * 64, "0" * 64, "1" * 64, "x", now)
        )
    series = {k: Series(k, "ms") for k in (*reads, *writes)}
    recorded: dict[str, list[tuple[str, list[Any]]]] = {}
    for i in range(runs + 1):
        with p.db.read() as cur:
            for label, call in reads.items():
                rec = Recorder(cur)
                t0 = time.perf_counter()
                call(rec)
                if i:
                    series[label].add(ms(time.perf_counter() - t0))
                recorded.setdefault(label, rec.statements)
        for label, call in writes.items():
            t0 = time.perf_counter()
            with p.db.write() as cur:
                rec = Recorder(cur)
                call(rec)
            if i:
                series[label].add(ms(time.perf_counter() - t0))
            recorded.setdefault(label, rec.statements)
    base = series["users.get_user (primary key)"]
    figures = []
    for label, s in series.items():
        kinds = _scans(p, recorded[label]) if label in reads else _scans_write(p, recorded[label])
        figures.append(
            Figure(
                "query:" + label.split(" ")[0],
                label + (" [incl. its own commit]" if label in writes else ""),
                s,
                None if label.startswith("users.get_user (") else base,
                notes=f"scans: {', '.join(kinds) or 'none'}",
                extra={"scans": kinds, "sql": [sql for sql, _ in recorded[label]]},
            )
        )
    return figures


def _scans_write(p: Portal, statements: list[tuple[str, list[Any]]]) -> list[str]:
    """EXPLAIN ANALYZE runs the statement: do it in a transaction that is rolled back."""
    kinds: list[str] = []
    try:
        with p.db.write() as cur:
            for sql, params in statements:
                plan = cur.execute("EXPLAIN ANALYZE " + sql, params).fetchall()
                kinds += _kinds(plan[0][1])
            raise _Rollback
    except _Rollback:
        pass
    return kinds


class _Rollback(Exception):
    """Leaves Database.write() by rolling back."""
