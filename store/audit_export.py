"""SQL for `portal audit export`: the trail between two instants, in batches by id."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.models import AUDIT_COLUMNS
from store.database import Cursor

_SELECT = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit"


def list_audit_batch(
    cur: Cursor,
    after_id: int,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """Up to `limit` rows with id > after_id, oldest id first, occurred_at in [start, end).

    Keyset paging: each batch is its own short query, so neither engine ever holds more than
    one batch in memory (a psycopg cursor would fetch a whole result at once).
    """
    clauses: list[str] = ["id > ?"]
    params: list[Any] = [after_id]
    if start is not None:
        clauses.append("occurred_at >= ?")
        params.append(start)
    if end is not None:
        clauses.append("occurred_at < ?")
        params.append(end)
    sql = f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
    return cur.execute(sql, [*params, limit]).fetchall()
