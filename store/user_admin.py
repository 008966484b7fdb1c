"""SQL for the shell's break-glass commands: a role change, the managers' rows, lock state."""

from __future__ import annotations

import datetime as dt

from portal.models import Role
from store.database import Cursor


def update_role(cur: Cursor, user_id: int, role: Role) -> None:
    cur.execute("UPDATE users SET role = ? WHERE id = ?", [str(role), user_id])


def lock_managers(cur: Cursor) -> list[tuple[int, bool]]:
    """Every security manager's (id, disabled), row-locked for the rest of the transaction.

    A "last manager" check then sees what a concurrent demotion or disable wrote, on any engine.
    """
    rows = cur.execute(
        "UPDATE users SET disabled = disabled WHERE role = 'security_manager'"
        " RETURNING id, disabled"
    ).fetchall()
    return sorted((int(r[0]), bool(r[1])) for r in rows)


def get_throttle_state(
    cur: Cursor, user_id: int, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """The most failures counted for the account (any address) and a lock still running."""
    row = cur.execute(
        "SELECT coalesce(max(failures), 0),"
        " max(CASE WHEN locked_until > ? THEN locked_until END)"
        " FROM throttle WHERE user_id = ? AND expires_at > ?",
        [now, user_id, now],
    ).fetchone()
    return (int(row[0]), row[1]) if row else (0, None)
