"""SQL for the append-only audit trail."""

from __future__ import annotations

import datetime as dt

import duckdb

from portal.models import AuditEvent


def insert_event(
    cur: duckdb.DuckDBPyConnection,
    now: dt.datetime,
    event: str,
    actor: str | None,
    subject: str | None,
    source: str | None,
    detail: str | None = None,
) -> None:
    cur.execute(
        "INSERT INTO audit (occurred_at, event, actor, subject, source, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [now, event, actor, subject, source, detail],
    )


def list_events(
    cur: duckdb.DuckDBPyConnection, subject: str | None = None, limit: int = 200
) -> list[AuditEvent]:
    sql = "SELECT id, occurred_at, event, actor, subject, source, detail FROM audit"
    params: list[object] = []
    if subject is not None:
        sql += " WHERE subject = ? OR actor = ?"
        params += [subject, subject]
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [AuditEvent(*row) for row in cur.execute(sql, params).fetchall()]


def list_events_since(
    cur: duckdb.DuckDBPyConnection, subject: str, since: dt.datetime, kinds: list[str]
) -> list[AuditEvent]:
    marks = ", ".join("?" for _ in kinds)
    rows = cur.execute(
        "SELECT id, occurred_at, event, actor, subject, source, detail FROM audit"
        f" WHERE subject = ? AND occurred_at > ? AND event IN ({marks}) ORDER BY id DESC LIMIT 50",
        [subject, since, *kinds],
    ).fetchall()
    return [AuditEvent(*row) for row in rows]


def list_events_after(
    cur: duckdb.DuckDBPyConnection, after_id: int, kinds: list[str], limit: int = 500
) -> list[AuditEvent]:
    marks = ", ".join("?" for _ in kinds)
    rows = cur.execute(
        "SELECT id, occurred_at, event, actor, subject, source, detail FROM audit"
        f" WHERE id > ? AND event IN ({marks}) ORDER BY id LIMIT ?",
        [after_id, *kinds, limit],
    ).fetchall()
    return [AuditEvent(*row) for row in rows]


def latest_id(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()
    return int(row[0]) if row else 0
