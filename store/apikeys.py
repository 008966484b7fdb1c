"""SQL for the code-check API's keys (hashes only) and the forward-auth denial counters."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from store.database import Cursor

_COLUMNS = (
    "id, name, secret_hash, sources, created_at, created_by, last_used_at, last_used_from,"
    " revoked_at, revoked_by"
)


@dataclasses.dataclass(frozen=True)
class ApiKey:
    """A key of the code-check API; the database knows only the hash of its secret."""

    id: str
    name: str
    secret_hash: str = dataclasses.field(repr=False)
    sources: str  # comma-separated IPs/CIDRs; "" = any address
    created_at: dt.datetime
    created_by: str
    last_used_at: dt.datetime | None
    last_used_from: str | None
    revoked_at: dt.datetime | None
    revoked_by: str | None


@dataclasses.dataclass(frozen=True)
class DenialCount:
    day: dt.date
    host: str
    reason: str
    count: int
    last_at: dt.datetime


def _key(row: tuple[Any, ...] | None) -> ApiKey | None:
    return ApiKey(*row) if row else None


def insert_key(
    cur: Cursor,
    key_id: str,
    name: str,
    secret_hash: str,
    sources: str,
    now: dt.datetime,
    created_by: str,
) -> None:
    cur.execute(
        "INSERT INTO api_keys (id, name, secret_hash, sources, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [key_id, name, secret_hash, sources, now, created_by],
    )


def get_key(cur: Cursor, key_id: str) -> ApiKey | None:
    return _key(cur.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", [key_id]).fetchone())


def get_key_by_name(cur: Cursor, name: str) -> ApiKey | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE name = ?", [name]).fetchone()
    return _key(row)


def list_keys(cur: Cursor) -> list[ApiKey]:
    rows = cur.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, name").fetchall()
    return [k for k in map(_key, rows) if k is not None]


def update_last_used(cur: Cursor, key_id: str, now: dt.datetime, address: str) -> None:
    cur.execute(
        "UPDATE api_keys SET last_used_at = ?, last_used_from = ? WHERE id = ?",
        [now, address, key_id],
    )


def update_revoked(cur: Cursor, name: str, now: dt.datetime, by: str) -> bool:
    """Revoke a live key, once: a single conditional UPDATE."""
    row = cur.execute(
        "UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL"
        " RETURNING id",
        [now, by, name],
    ).fetchone()
    return row is not None


def upsert_denial(cur: Cursor, now: dt.datetime, host: str, reason: str) -> None:
    """Count one forward-auth denial (one row per day, host and reason)."""
    cur.execute(
        "INSERT INTO authz_denials (day, host, reason, count, last_at) VALUES (?, ?, ?, 1, ?)"
        " ON CONFLICT (day, host, reason) DO UPDATE SET count = authz_denials.count + 1,"
        " last_at = excluded.last_at",
        [now.date(), host, reason, now],
    )


def list_denials(cur: Cursor, since: dt.date) -> list[DenialCount]:
    rows = cur.execute(
        "SELECT day, host, reason, count, last_at FROM authz_denials WHERE day >= ?"
        " ORDER BY day DESC, count DESC",
        [since],
    ).fetchall()
    return [DenialCount(*row) for row in rows]
