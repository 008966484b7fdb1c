"""SQL for per-account failure counters (persisted, so a restart does not reset them)."""

from __future__ import annotations

import datetime as dt

import duckdb

from portal.models import ThrottleState


def get_throttle(cur: duckdb.DuckDBPyConnection, subject: str) -> ThrottleState | None:
    row = cur.execute(
        "SELECT subject, failures, last_failure_at, locked_until FROM throttle WHERE subject = ?",
        [subject],
    ).fetchone()
    return ThrottleState(*row) if row else None


def update_failure(
    cur: duckdb.DuckDBPyConnection,
    subject: str,
    now: dt.datetime,
    locked_until: dt.datetime | None,
) -> int:
    row = cur.execute(
        "INSERT INTO throttle (subject, failures, last_failure_at, locked_until)"
        " VALUES (?, 1, ?, ?) ON CONFLICT (subject) DO UPDATE SET"
        " failures = throttle.failures + 1, last_failure_at = excluded.last_failure_at,"
        " locked_until = coalesce(excluded.locked_until, throttle.locked_until)"
        " RETURNING failures",
        [subject, now, locked_until],
    ).fetchone()
    assert row is not None
    return int(row[0])


def update_lock(cur: duckdb.DuckDBPyConnection, subject: str, until: dt.datetime) -> None:
    cur.execute("UPDATE throttle SET locked_until = ? WHERE subject = ?", [until, subject])


def delete_throttle(cur: duckdb.DuckDBPyConnection, subject: str) -> None:
    cur.execute("DELETE FROM throttle WHERE subject = ?", [subject])
