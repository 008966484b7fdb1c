"""Counting one attempt on the throttle's counters: each admission decided in one statement
(or, on DuckDB, in one serialised write transaction), so parallel attempts cannot all pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from store.database import Cursor

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
  AND {admits}
RETURNING key, failures
"""
# Whether a row lets an attempt in now: its window ended, or it is below the lock limit and
# (from `back_off` failures on) the doubling delay has passed. Parameters: now, the limits,
# the back-offs, now, base seconds, the back-offs.
_ADMITS = """(expires_at <= ?
       OR (failures < {limit}
           AND (failures < {back_off}
                OR extract(epoch FROM CAST(? AS TIMESTAMP WITH TIME ZONE))
                   - extract(epoch FROM last_failure_at)
                   >= ? * power(2, failures - {back_off}))))"""


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

    PostgreSQL: with `seen` (the rows were counted moments ago) one conditional UPDATE of them
    tries first; whatever it did not count, the conditional upsert decides: each decision is one
    statement. DuckDB: see _insert_or_update.
    """
    if cur.dialect == "duckdb":  # a lookup, then a plain INSERT and/or one UPDATE
        return _insert_or_update(cur, rules, user_id, now, expires_at, base_seconds)
    counted: dict[str, int] = {}
    if seen:
        counted = _update_existing(cur, rules, user_id, now, expires_at, base_seconds)
    rest = [r for r in rules if r.key not in counted]
    if rest:
        counted.update(_upsert(cur, rest, user_id, now, expires_at, base_seconds))
    return counted


def _insert_or_update(
    cur: Cursor,
    rules: list[Rule],
    user_id: int | None,
    now: dt.datetime,
    expires_at: dt.datetime,
    base_seconds: float,
) -> dict[str, int]:
    """DuckDB: the upsert's decision without ON CONFLICT (~4 ms a statement there, at any size).

    A DuckDB file has one writer process and the backend serialises its write transactions, so
    nothing can insert a key between this transaction's lookup and its insert: new keys go in
    with a plain INSERT (a new row always admits: 1 failure), existing ones are decided by the
    same conditional UPDATE the code step uses. PostgreSQL keeps the one-statement upsert.
    """
    marks = ", ".join("?" for _ in rules)
    rows = cur.execute(_EXISTING.format(marks=marks), [r.key for r in rules]).fetchall()
    found = {str(k) for (k,) in rows}
    old = [r for r in rules if r.key in found]
    counted = _update_existing(cur, old, user_id, now, expires_at, base_seconds) if old else {}
    new = [r for r in rules if r.key not in found]
    if new:
        values = ", ".join("(?, ?, ?, 1, ?, ?)" for _ in new)
        params = [v for r in new for v in (r.key, r.scope, user_id, now, expires_at)]
        cur.execute(_INSERT_NEW.format(values=values), params)
        counted.update({r.key: 1 for r in new})
    return counted


_EXISTING = "SELECT key FROM throttle WHERE key IN ({marks})"
_INSERT_NEW = (
    "INSERT INTO throttle (key, scope, user_id, failures, last_failure_at, expires_at)"
    " VALUES {values}"
)


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
    admits = _ADMITS.format(limit=limit, back_off=back_off)
    sql = _ATTEMPT_EXISTING.format(point=where, admits=admits)
    head = [now, now, now, expires_at, user_id, *keys, now]
    rows = cur.execute(sql, [*head, *limits, *back_offs, now, base_seconds, *back_offs])
    return {str(k): int(f) for k, f in rows.fetchall()}


def admitted(
    cur: Cursor, rules: list[Rule], now: dt.datetime, base_seconds: float
) -> dict[str, int | None]:
    """The conditional UPDATE's decision for each existing row, without counting: {key: the
    count the attempt would make, or None if refused}; a key without a row is missing.

    For DuckDB's code step only, whose write transactions the backend serialises: reading the
    decision and counting later in the same transaction (only if the code is wrong) cannot
    interleave with another attempt. A right code then deletes the rows without an UPDATE.
    The rule is _ADMITS's, decided here on a plain read: DuckDB binds each of that statement's
    17 parameters at a cost (4.6 ms against 1.0 ms); tests/store/test_perf_statements.py checks
    the two decide alike at every step (back-off, lock, window end).
    """
    by_key = {r.key: r for r in rules}
    marks = ", ".join("?" for _ in rules)
    sql = f"SELECT key, failures, last_failure_at, expires_at FROM throttle WHERE key IN ({marks})"
    decided: dict[str, int | None] = {}
    for key, failures, last, expires in cur.execute(sql, list(by_key)).fetchall():
        rule = by_key[str(key)]
        waited = (now - last).total_seconds()
        if expires <= now:
            decided[str(key)] = 1
        elif failures < rule.limit and (
            failures < rule.back_off_after
            or waited >= base_seconds * 2 ** (failures - rule.back_off_after)
        ):
            decided[str(key)] = int(failures) + 1
        else:
            decided[str(key)] = None
    return decided


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
