"""SQL for failed-attempt counters (persisted, so a restart does not reset them).

Rows are keyed by an HMAC the portal computes; no typed name reaches this table. Counting an
attempt (and deciding whether it may be made) is in store/throttle_attempts.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from store.database import Cursor
from store.throttle_attempts import (  # noqa: F401 - the counting statements, re-exported
    Rule,
    admitted,
    insert_attempt,
    insert_attempts,
    point,
)

KEY_META = "throttle_key"  # meta row: the HMAC key, encrypted with the portal's cipher


@dataclasses.dataclass(frozen=True)
class Counter:
    """One throttle row: failures counted in the current window, and any lock."""

    key: str = dataclasses.field(repr=False)
    scope: str
    user_id: int | None
    failures: int
    last_failure_at: dt.datetime
    expires_at: dt.datetime
    locked_until: dt.datetime | None


def get_throttle(cur: Cursor, key: str) -> Counter | None:
    row = cur.execute(
        "SELECT key, scope, user_id, failures, last_failure_at, expires_at, locked_until"
        " FROM throttle WHERE key = ?",
        [key],
    ).fetchone()
    return Counter(*row) if row else None


_COUNTER = "key, scope, user_id, failures, last_failure_at, expires_at, locked_until"


def update_release(cur: Cursor, *keys: str) -> None:
    """Take back one counted attempt on each key (it turned out right).

    PostgreSQL: one UPDATE. DuckDB: the rows go in one indexed DELETE (a row without failures
    or lock decides like no row), and one that still holds an earlier failure or a lock is put
    back with one failure fewer; the code step that follows then finds none and deletes none.
    A conditional DELETE would scan the table (DuckDB's index takes a lone `key IN` only), and
    the backend serialises DuckDB's write transactions, so nothing counts in between.
    """
    marks = ", ".join("?" for _ in keys)
    if cur.dialect != "duckdb":
        cur.execute(
            f"UPDATE throttle SET failures = greatest(failures - 1, 0) WHERE key IN ({marks})",
            list(keys),
        )
        return
    gone = cur.execute(
        f"DELETE FROM throttle WHERE key IN ({marks}) RETURNING {_COUNTER}", list(keys)
    ).fetchall()
    kept = [(k, s, u, f - 1, at, end, lock) for k, s, u, f, at, end, lock in gone if f > 1 or lock]
    if kept:
        cur.executemany(f"INSERT INTO throttle ({_COUNTER}) VALUES (?, ?, ?, ?, ?, ?, ?)", kept)


def update_lock(cur: Cursor, key: str, limit: int) -> dt.datetime | None:
    """Lock a row that reached the limit, to the end of its window: until when, or None."""
    row = cur.execute(
        "UPDATE throttle SET locked_until = expires_at"
        " WHERE key = ? AND failures >= ? AND locked_until IS NULL RETURNING locked_until",
        [key, limit],
    ).fetchone()
    return row[0] if row else None


def insert_lock(
    cur: Cursor,
    key: str,
    user_id: int,
    failures: int,
    now: dt.datetime,
    until: dt.datetime,
) -> None:
    """A locked account row, as if `failures` attempts had just failed (demo seeding)."""
    cur.execute(
        "INSERT INTO throttle"
        " (key, scope, user_id, failures, last_failure_at, expires_at, locked_until)"
        " VALUES (?, 'account', ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
        " failures = excluded.failures, last_failure_at = excluded.last_failure_at,"
        " expires_at = excluded.expires_at, locked_until = excluded.locked_until",
        [key, user_id, failures, now, until, until],
    )


def delete_throttle(cur: Cursor, key: str) -> None:
    cur.execute("DELETE FROM throttle WHERE key = ?", [key])


def delete_throttle_keys(cur: Cursor, keys: list[str]) -> None:
    """Forget several counters in one statement (a finished sign-in's address and account)."""
    marks = ", ".join("?" for _ in keys)
    cur.execute(f"DELETE FROM throttle WHERE key IN ({marks})", keys)


def delete_user_throttle(cur: Cursor, user_id: int) -> int:
    """Forget every counter of one account (every address); how many rows went."""
    return len(
        cur.execute("DELETE FROM throttle WHERE user_id = ? RETURNING key", [user_id]).fetchall()
    )


def delete_stale(cur: Cursor, now: dt.datetime) -> int:
    """Prune rows whose window ended (they would start afresh anyway); how many went.

    On PostgreSQL rows another transaction holds (an attempt being counted, another prune) are
    skipped, not waited for: pruning never blocks a sign-in nor deadlocks with one.
    """
    if cur.dialect == "postgresql":
        sql = (
            "DELETE FROM throttle WHERE key IN (SELECT key FROM throttle WHERE expires_at <= ?"
            " FOR UPDATE SKIP LOCKED) RETURNING key"
        )
    else:
        sql = "DELETE FROM throttle WHERE expires_at <= ? RETURNING key"
    return len(cur.execute(sql, [now]).fetchall())


def delete_all_throttle(cur: Cursor) -> None:
    cur.execute("DELETE FROM throttle")


def get_key_blob(cur: Cursor) -> bytes | None:
    row = cur.execute("SELECT value FROM meta WHERE key = ?", [KEY_META]).fetchone()
    return bytes(row[0]) if row else None


def insert_key_blob(cur: Cursor, blob: bytes) -> None:
    """Store the encrypted HMAC key unless another process stored one first (theirs wins)."""
    cur.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        [KEY_META, blob],
    )
