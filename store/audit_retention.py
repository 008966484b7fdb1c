"""SQL for audit retention: delete old events in small batches and count what was removed."""

from __future__ import annotations

import datetime as dt

from store.database import Cursor


def get_last_id_before(cur: Cursor, cutoff: dt.datetime) -> int | None:
    """The newest event id older than cutoff (the index on occurred_at finds it), or None."""
    row = cur.execute("SELECT max(id) FROM audit WHERE occurred_at < ?", [cutoff]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def delete_batch(cur: Cursor, up_to_id: int, cutoff: dt.datetime, limit: int) -> int:
    """Delete at most `limit` of the oldest events (id <= up_to_id, older than cutoff); count."""
    deleted = cur.execute(
        "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <= ? AND occurred_at < ?"
        " ORDER BY id LIMIT ?) RETURNING id",
        [up_to_id, cutoff, limit],
    ).fetchall()
    return len(deleted)


def update_removed(cur: Cursor, count: int, now: dt.datetime) -> None:
    """Add to the running count, in the transaction that deleted (one conditional statement)."""
    cur.execute(
        "UPDATE audit_retention SET removed = removed + ?, last_run_at = ? WHERE id = 1",
        [count, now],
    )


def get_removed(cur: Cursor) -> int:
    row = cur.execute("SELECT removed FROM audit_retention WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def get_oldest_event_at(cur: Cursor) -> dt.datetime | None:
    row = cur.execute("SELECT min(occurred_at) FROM audit").fetchone()
    return row[0] if row else None
