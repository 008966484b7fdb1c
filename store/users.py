"""SQL for the users table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.models import Role, User
from store.database import Cursor

_COLUMNS = (
    "id, username, display_name, role, password_hash, disabled, created_at, last_sign_in_at,"
    " reset_granted_at, reset_expires_at, reset_granted_by"
)


def _user(row: tuple[Any, ...] | None) -> User | None:
    if row is None:
        return None
    return User(
        id=row[0],
        username=row[1],
        display_name=row[2],
        role=Role(row[3]),
        password_hash=row[4],
        disabled=bool(row[5]),
        created_at=row[6],
        last_sign_in_at=row[7],
        reset_granted_at=row[8],
        reset_expires_at=row[9],
        reset_granted_by=row[10],
    )


def count_users(cur: Cursor) -> int:
    row = cur.execute("SELECT count(*) FROM users").fetchone()
    return int(row[0]) if row else 0


COLUMNS = _COLUMNS  # for a query of another module that joins users (store/sessions.py)


def from_row(row: tuple[Any, ...]) -> User:
    user = _user(row)
    assert user is not None
    return user


def get_user(cur: Cursor, user_id: int) -> User | None:
    return _user(cur.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", [user_id]).fetchone())


def lock_user(cur: Cursor, user_id: int) -> User | None:
    """The account, row-locked for the rest of the transaction (a no-op UPDATE takes the lock).

    Every check-then-act on one person's 2FA starts here, so two requests for the same person
    run one after the other and the second re-reads what the first wrote, on any engine.
    """
    cur.execute("UPDATE users SET disabled = disabled WHERE id = ?", [user_id])
    return get_user(cur, user_id)


def get_user_by_username(cur: Cursor, username: str) -> User | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", [username]).fetchone()
    return _user(row)


def list_users(cur: Cursor, limit: int = 1000) -> list[User]:
    rows = cur.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username LIMIT ?", [limit])
    return [u for u in map(_user, rows.fetchall()) if u is not None]


def insert_user(
    cur: Cursor,
    username: str,
    display_name: str,
    role: Role,
    password_hash: str,
    now: dt.datetime,
) -> int:
    row = cur.execute(
        "INSERT INTO users (username, display_name, role, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        [username, display_name, str(role), password_hash, now],
    ).fetchone()
    assert row is not None
    return int(row[0])


def update_last_sign_in(cur: Cursor, user_id: int, now: dt.datetime) -> User | None:
    """Stamp the account's last sign-in; the account as stamped (None: no such account)."""
    sql = f"UPDATE users SET last_sign_in_at = ? WHERE id = ? RETURNING {_COLUMNS}"
    return _user(cur.execute(sql, [now, user_id]).fetchone())


def update_password(cur: Cursor, user_id: int, password_hash: str) -> None:
    cur.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])


def update_disabled(cur: Cursor, user_id: int, disabled: bool) -> None:
    cur.execute("UPDATE users SET disabled = ? WHERE id = ?", [disabled, user_id])


def update_reset_grant(
    cur: Cursor,
    user_id: int,
    granted_at: dt.datetime | None,
    expires_at: dt.datetime | None,
    granted_by: str | None,
) -> None:
    cur.execute(
        "UPDATE users SET reset_granted_at = ?, reset_expires_at = ?, reset_granted_by = ?"
        " WHERE id = ?",
        [granted_at, expires_at, granted_by, user_id],
    )


def consume_reset_grant(cur: Cursor, user_id: int, now: dt.datetime) -> bool:
    """Use an open grant once: a single conditional UPDATE, so two sessions cannot both use it."""
    row = cur.execute(
        "UPDATE users SET reset_expires_at = NULL WHERE id = ? AND reset_expires_at > ?"
        " RETURNING id",
        [user_id, now],
    ).fetchone()
    return row is not None


def get_notices_seen_at(cur: Cursor, user_id: int) -> dt.datetime | None:
    row = cur.execute("SELECT notices_seen_at FROM users WHERE id = ?", [user_id]).fetchone()
    return row[0] if row else None


def update_notices_seen_at(cur: Cursor, user_id: int, now: dt.datetime) -> None:
    cur.execute("UPDATE users SET notices_seen_at = ? WHERE id = ?", [now, user_id])


def get_email(cur: Cursor, user_id: int) -> str | None:
    row = cur.execute("SELECT email FROM users WHERE id = ?", [user_id]).fetchone()
    return row[0] if row and row[0] else None


def update_email(cur: Cursor, user_id: int, email: str | None) -> None:
    cur.execute("UPDATE users SET email = ? WHERE id = ?", [email, user_id])
