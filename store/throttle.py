"""SQL for failed-attempt counters (persisted, so a restart does not reset them).

Rows are keyed by an HMAC the portal computes; no typed name reaches this table. Admission is
decided inside one conditional upsert, so parallel attempts cannot all pass one earlier read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from store.database import Cursor

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


# A row whose window ended (expires_at <= now) starts again at 1. Otherwise the attempt is let in
# only below the lock limit and, from `back_off_after` failures on, once the doubling delay since
# the last attempt has passed. A refused attempt changes nothing and returns no row. Several
# counters (a sign-in's address and account) go in one statement, each with its own limits:
# DuckDB's ON CONFLICT costs ~2 ms a statement, whatever the number of rows.
_ATTEMPTS = """
INSERT INTO throttle (key, scope, user_id, failures, last_failure_at, expires_at)
VALUES {values}
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN throttle.expires_at <= excluded.last_failure_at THEN 1
                    ELSE throttle.failures + 1 END,
    locked_until = CASE WHEN throttle.expires_at <= excluded.last_failure_at THEN NULL
                        ELSE throttle.locked_until END,
    last_failure_at = excluded.last_failure_at,
    expires_at = excluded.expires_at,
    user_id = coalesce(throttle.user_id, excluded.user_id)
WHERE throttle.expires_at <= excluded.last_failure_at
   OR (throttle.failures < {limit}
       AND (throttle.failures < {back_off}
            OR extract(epoch FROM excluded.last_failure_at)
               - extract(epoch FROM throttle.last_failure_at)
               >= ? * power(2, throttle.failures - {back_off})))
RETURNING key, failures
"""


@dataclasses.dataclass(frozen=True)
class Rule:
    """One counter to count an attempt on, with its limits."""

    key: str = dataclasses.field(repr=False)
    scope: str
    limit: int  # failures that lock (no attempt is let in from there)
    back_off_after: int  # failures from which each attempt waits a doubling delay


# The same decision for rows that exist (the code step finds the password step's rows): a plain
# conditional UPDATE is a third of the upsert's cost on DuckDB, where ON CONFLICT costs ~2 ms, and
# one UPDATE for both rows (each with its own limits, picked by its key) halves it again.
_ATTEMPT_EXISTING = """
UPDATE throttle SET
    failures = CASE WHEN expires_at <= ? THEN 1 ELSE failures + 1 END,
    locked_until = CASE WHEN expires_at <= ? THEN NULL ELSE locked_until END,
    last_failure_at = ?,
    expires_at = ?,
    user_id = coalesce(user_id, ?)
WHERE {point}
  AND (expires_at <= ?
       OR (failures < {limit}
           AND (failures < {back_off}
                OR extract(epoch FROM CAST(? AS TIMESTAMP WITH TIME ZONE))
                   - extract(epoch FROM last_failure_at)
                   >= ? * power(2, failures - {back_off}))))
RETURNING key, failures
"""


def point(cur: Cursor, table: str, column: str, count: int = 1) -> str:
    """`column = ?` (or `IN` `count` marks) that stays an index lookup under more conditions.

    DuckDB 2 uses an ART index only for a lone equality or IN list; `rowid IN (SELECT rowid ...
    WHERE column = ?)` keeps the lookup indexed and the outer scan reads one row group.
    """
    test = f"{column} = ?" if count == 1 else f"{column} IN ({', '.join('?' * count)})"
    if cur.dialect == "duckdb":
        return f"rowid IN (SELECT rowid FROM {table} WHERE {test})"
    return test


def insert_attempt(
    cur: Cursor,
    key: str,
    scope: str,
    user_id: int | None,
    now: dt.datetime,
    expires_at: dt.datetime,
    limit: int,
    back_off_after: int,
    base_seconds: float,
    seen: bool = False,
) -> int | None:
    """Count one attempt if it may be made now: the new count, or None when refused."""
    rule = Rule(key, scope, limit, back_off_after)
    return insert_attempts(cur, [rule], user_id, now, expires_at, base_seconds, seen).get(key)


def insert_attempts(
    cur: Cursor,
    rules: list[Rule],
    user_id: int | None,
    now: dt.datetime,
    expires_at: dt.datetime,
    base_seconds: float,
    seen: bool = False,
) -> dict[str, int]:
    """Count one attempt on each counter that lets it in now: {key: new count}; refused ones
    are missing (the caller rolls back the others).

    With `seen` (the rows were counted moments ago) one conditional UPDATE of them tries first;
    whatever it did not count, the conditional upsert decides: each decision is one statement.
    """
    counted: dict[str, int] = {}
    if seen:
        counted = _update_existing(cur, rules, user_id, now, expires_at, base_seconds)
    rest = [r for r in rules if r.key not in counted]
    if rest:
        counted.update(_upsert(cur, rest, user_id, now, expires_at, base_seconds))
    return counted


def _update_existing(
    cur: Cursor,
    rules: list[Rule],
    user_id: int | None,
    now: dt.datetime,
    expires_at: dt.datetime,
    base_seconds: float,
) -> dict[str, int]:
    """Count the attempt on every existing row that lets it in, in one conditional UPDATE."""
    keys = [r.key for r in rules]
    limit, limits, back_off, back_offs = _per_key(rules)
    where = point(cur, "throttle", "key", len(keys))
    sql = _ATTEMPT_EXISTING.format(point=where, limit=limit, back_off=back_off)
    head = [now, now, now, expires_at, user_id, *keys, now]
    rows = cur.execute(sql, [*head, *limits, *back_offs, now, base_seconds, *back_offs])
    return {str(k): int(f) for k, f in rows.fetchall()}


def _per_key(rules: list[Rule]) -> tuple[str, list[object], str, list[object]]:
    """The lock limit and back-off as SQL with their parameters: one value, or a CASE by key."""
    if len(rules) == 1:
        return "?", [rules[0].limit], "?", [rules[0].back_off_after]
    cases = "CASE key " + " ".join("WHEN ? THEN ?" for _ in rules) + " END"
    limits: list[object] = [v for r in rules for v in (r.key, r.limit)]
    back_offs: list[object] = [v for r in rules for v in (r.key, r.back_off_after)]
    return cases, limits, cases, back_offs


def _upsert(
    cur: Cursor,
    rules: list[Rule],
    user_id: int | None,
    now: dt.datetime,
    expires_at: dt.datetime,
    base_seconds: float,
) -> dict[str, int]:
    values = ", ".join("(?, ?, ?, 1, ?, ?)" for _ in rules)
    params: list[object] = []
    for r in rules:
        params += [r.key, r.scope, user_id, now, expires_at]
    limits: list[object]
    back_offs: list[object]
    if len(rules) == 1:
        limit = back_off = "?"
        limits, back_offs = [rules[0].limit], [rules[0].back_off_after]
    else:  # each row its own limits, picked by its key
        limit = back_off = "CASE excluded.key " + " ".join("WHEN ? THEN ?" for _ in rules) + " END"
        limits = [v for r in rules for v in (r.key, r.limit)]
        back_offs = [v for r in rules for v in (r.key, r.back_off_after)]
    sql = _ATTEMPTS.format(values=values, limit=limit, back_off=back_off)
    rows = cur.execute(sql, [*params, *limits, *back_offs, base_seconds, *back_offs]).fetchall()
    return {str(k): int(f) for k, f in rows}


def get_throttle(cur: Cursor, key: str) -> Counter | None:
    row = cur.execute(
        "SELECT key, scope, user_id, failures, last_failure_at, expires_at, locked_until"
        " FROM throttle WHERE key = ?",
        [key],
    ).fetchone()
    return Counter(*row) if row else None


def update_release(cur: Cursor, key: str) -> None:
    """Take back one counted attempt (it turned out right)."""
    # Only `key = ?` in the WHERE: DuckDB then uses the primary-key index (measured in bench/).
    cur.execute("UPDATE throttle SET failures = greatest(failures - 1, 0) WHERE key = ?", [key])


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
