"""SQL for creating many accounts at once (the import): one statement per engine, not one per row.

DuckDB loads an Arrow table registered on the cursor (executemany manages ~1,000 rows/s there);
PostgreSQL takes them through COPY into a temporary table, then one INSERT. Both run inside the
caller's transaction, so a duplicate username (the UNIQUE constraint) rolls back every row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

import pyarrow as pa

from portal.models import Role
from store.database import Cursor

_TARGET = "users (username, display_name, role, password_hash, created_at, email)"


@dataclasses.dataclass(frozen=True)
class NewUser:
    """One account to insert; email None when the file left it empty."""

    username: str
    display_name: str
    role: Role
    password_hash: str = dataclasses.field(repr=False)
    email: str | None


def list_existing_usernames(cur: Cursor, names: Iterable[str]) -> set[str]:
    """Which of these usernames already have an account (one query, whatever the count)."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return set()
    rows = cur.execute(
        "SELECT username FROM users WHERE username IN (SELECT unnest(CAST(? AS VARCHAR[])))",
        [wanted],
    ).fetchall()
    return {str(r[0]) for r in rows}


def insert_users_bulk(cur: Cursor, people: Sequence[NewUser], now: dt.datetime) -> int:
    """Insert every account in one statement; ConstraintViolation if any username exists."""
    if not people:
        return 0
    if cur.dialect == "postgresql":
        _copy(cur, people, now)
    else:
        _from_arrow(cur, people, now)
    return len(people)


def _from_arrow(cur: Cursor, people: Sequence[NewUser], now: dt.datetime) -> None:
    table = pa.table(
        {
            "username": [u.username for u in people],
            "display_name": [u.display_name for u in people],
            "role": [str(u.role) for u in people],
            "password_hash": [u.password_hash for u in people],
            "email": pa.array([u.email for u in people], type=pa.string()),
        }
    )
    raw = cast(Any, cur).raw  # register() is DuckDB's own: no place in the Cursor protocol
    raw.register("import_people", table)  # lives as long as this cursor, i.e. this write
    cur.execute(
        f"INSERT INTO {_TARGET} SELECT username, display_name, role, password_hash,"
        " ?::TIMESTAMPTZ, email FROM import_people",
        [now],
    )
    raw.unregister("import_people")  # (after a failed INSERT the aborted cursor just closes)


def _copy(cur: Cursor, people: Sequence[NewUser], now: dt.datetime) -> None:
    """COPY into a temporary table without constraints, then one INSERT the seam maps."""
    cur.execute(
        "CREATE TEMP TABLE import_people (username TEXT, display_name TEXT, role TEXT,"
        " password_hash TEXT, email TEXT) ON COMMIT DROP"
    )
    raw = cast(Any, cur).raw  # psycopg's copy(): no place in the Cursor protocol
    with raw.copy(
        "COPY import_people (username, display_name, role, password_hash, email) FROM STDIN"
    ) as copy:
        for u in people:
            copy.write_row((u.username, u.display_name, str(u.role), u.password_hash, u.email))
    cur.execute(
        f"INSERT INTO {_TARGET} SELECT username, display_name, role, password_hash, ?, email"
        " FROM import_people",
        [now],
    )
