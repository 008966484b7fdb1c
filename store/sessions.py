"""SQL for browser sessions: hashed tokens and one-time sign-in tickets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.models import BrowserSession, User
from store import users as user_store
from store.database import Cursor
from store.throttle_attempts import point

_COLUMNS = (
    "id, user_id, browser_hash, created_at, last_seen_at, second_factor_at, user_agent, source,"
    " ended_at, end_reason"
)


def _session(row: tuple[Any, ...] | None) -> BrowserSession | None:
    return BrowserSession(*row) if row else None


def insert_session(
    cur: Cursor,
    session_id: str,
    user_id: int,
    ticket_hash: str,
    browser_hash: str,
    ticket_expires_at: dt.datetime,
    now: dt.datetime,
    second_factor_at: dt.datetime | None,
    source: str,
) -> None:
    cur.execute(
        "INSERT INTO sessions (id, user_id, ticket_hash, browser_hash, ticket_expires_at,"
        " created_at, last_seen_at, second_factor_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            session_id,
            user_id,
            ticket_hash,
            browser_hash,
            ticket_expires_at,
            now,
            now,
            second_factor_at,
            source,
        ],
    )


def update_redeem_ticket(
    cur: Cursor,
    ticket_hash: str,
    browser_hash: str,
    token_hash: str,
    user_agent: str,
    now: dt.datetime,
) -> str | None:
    """Swap a live ticket for a token, once: a single conditional UPDATE."""
    row = cur.execute(
        "UPDATE sessions SET ticket_hash = NULL, ticket_expires_at = NULL, token_hash = ?,"
        " user_agent = ?, last_seen_at = ? WHERE ticket_hash = ? AND browser_hash = ?"
        " AND ticket_expires_at > ? AND ended_at IS NULL RETURNING id",
        [token_hash, user_agent, now, ticket_hash, browser_hash, now],
    ).fetchone()
    return str(row[0]) if row else None


def get_session(cur: Cursor, session_id: str) -> BrowserSession | None:
    return _session(
        cur.execute(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", [session_id]).fetchone()
    )


def get_session_by_token(cur: Cursor, token_hash: str) -> BrowserSession | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM sessions WHERE token_hash = ?", [token_hash])
    return _session(row.fetchone())


def get_session_for_gate(
    cur: Cursor, token_hash: str
) -> tuple[BrowserSession, User, str | None, bool] | None:
    """One indexed lookup for a forward-auth decision: the session by its token, its account,
    the account's e-mail and whether it has an active key (sessions.resume_full)."""
    session_cols = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
    user_cols = ", ".join(f"u.{c.strip()}" for c in user_store.COLUMNS.split(","))
    row = cur.execute(
        f"SELECT {session_cols}, {user_cols}, u.email, EXISTS (SELECT 1 FROM factors f"
        " WHERE f.user_id = s.user_id AND f.status = 'active')"
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        [token_hash],
    ).fetchone()
    if row is None:
        return None
    n, m = len(_COLUMNS.split(",")), len(user_store.COLUMNS.split(","))
    found = BrowserSession(*row[:n])
    return found, user_store.from_row(row[n : n + m]), row[n + m] or None, bool(row[n + m + 1])


def list_sessions(cur: Cursor, user_id: int) -> list[BrowserSession]:
    # The indexed equality alone in a materialised CTE: with the other conditions beside it
    # DuckDB would scan every session instead of using sessions_user.
    rows = cur.execute(
        f"WITH mine AS MATERIALIZED (SELECT {_COLUMNS}, token_hash FROM sessions"
        f" WHERE user_id = ?) SELECT {_COLUMNS} FROM mine WHERE ended_at IS NULL"
        " AND token_hash IS NOT NULL ORDER BY last_seen_at DESC",
        [user_id],
    ).fetchall()
    return [s for s in map(_session, rows) if s is not None]


def update_last_seen(cur: Cursor, session_id: str, now: dt.datetime) -> None:
    cur.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [now, session_id])


def update_end(cur: Cursor, session_id: str, now: dt.datetime, reason: str) -> bool:
    """End a live session, once: one conditional UPDATE (an indexed lookup on both engines)."""
    row = cur.execute(
        f"UPDATE sessions SET ended_at = ?, end_reason = ? WHERE {point(cur, 'sessions', 'id')}"
        " AND ended_at IS NULL RETURNING id",
        [now, reason, session_id],
    ).fetchone()
    return row is not None


def update_end_all(
    cur: Cursor,
    user_id: int,
    now: dt.datetime,
    reason: str,
    keep: str | None = None,
) -> int:
    rows = cur.execute(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user_id = ? AND ended_at IS NULL"
        " AND id IS DISTINCT FROM ? RETURNING id",
        [now, reason, user_id, keep],
    ).fetchall()
    return len(rows)
