"""SQL for small key/value facts about the database itself (e.g. the encryption-key check)."""

from __future__ import annotations

from store.database import Cursor


def get_meta(cur: Cursor, key: str) -> bytes | None:
    row = cur.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return bytes(row[0]) if row else None


def insert_meta(cur: Cursor, key: str, value: bytes) -> None:
    cur.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [key, value])


def upsert_meta(cur: Cursor, key: str, value: bytes) -> None:
    cur.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def claim_meta(cur: Cursor, key: str, value: bytes) -> bool:
    """Insert the row unless it exists: True for the one transaction that made it.

    A concurrent claim of the same key waits for the first to commit (or roll back): the
    primary key makes this a single-use latch across processes.
    """
    row = cur.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
        [key, value],
    ).fetchone()
    return row is not None
