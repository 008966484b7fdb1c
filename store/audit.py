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
