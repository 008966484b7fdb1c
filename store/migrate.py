"""Numbered SQL migrations, applied once, each atomically, recorded in one schema_version table.

store/migrations/000N_name.sql holds SQL every backend runs. Where a dialect's SQL differs,
store/migrations/<dialect>/000N_name.sql with the same number and name is run instead there
(e.g. BYTEA for BLOB on PostgreSQL). Released files are never edited: a change is a new number.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.abc import Traversable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.database import Cursor, Database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def _root(folder: Traversable | None) -> Traversable:
    return folder if folder is not None else resources.files("store").joinpath("migrations")


def _numbered(folder: Traversable) -> dict[int, tuple[str, str]]:
    found = {}
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = _NAME.match(entry.name)
        if match and entry.is_file():
            found[int(match.group(1))] = (match.group(2), entry.read_text())
    return found


def available(folder: Traversable | None = None) -> list[tuple[int, str, str]]:
    """The shared migrations as (version, name, sql), in order."""
    return sorted((v, name, sql) for v, (name, sql) in _numbered(_root(folder)).items())


def for_dialect(dialect: str, folder: Traversable | None = None) -> list[tuple[int, str, str]]:
    """What a dialect runs: each shared file, or the dialect's own file of the same number."""
    shared = available() if folder is None else available(folder)
    own = _numbered(_root(folder).joinpath(dialect))
    names = {v: name for v, name, _ in shared}
    stray = sorted(f"{v:04d}_{n}" for v, (n, _) in own.items() if names.get(v) != n)
    if stray:
        raise ValueError(f"{dialect} migrations without a shared file of that number: {stray}")
    return [(v, name, own[v][1] if v in own else sql) for v, name, sql in shared]


def current_version(db: Database) -> int:
    with db.read() as cur:
        exists = cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()
        if not exists or not exists[0]:
            return 0
        row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def apply(db: Database, folder: Traversable | None = None) -> list[int]:
    """Apply every migration newer than the database; return the versions applied.

    On PostgreSQL several servers may start together: each transaction first takes one
    transaction-scoped advisory lock and re-reads what is done, so each file runs exactly once.
    """
    with db.write() as cur:
        _lock(db, cur)
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
        )
        done = _done(cur)
    applied = []
    for version, name, sql in for_dialect(db.dialect, folder):
        if version in done:  # a number filled in late (merged branches) is still applied
            continue
        with db.write() as cur:
            if _lock(db, cur) and version in _done(cur):
                continue  # another server applied it while we waited for the lock
            for statement in _statements(sql):
                cur.execute(statement)
            cur.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
        applied.append(version)
    return applied


# Any fixed 64-bit number, the same in every server: "the portal's migrations".
MIGRATION_LOCK = 0x2FA_0001


def _lock(db: Database, cur: Cursor) -> bool:
    """Hold the migration lock to the end of this transaction (PostgreSQL); True if taken."""
    if db.dialect != "postgresql":
        return False  # DuckDB: one writing process per file, writes serialised in it
    cur.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
    return True


def _done(cur: Cursor) -> set[int]:
    return {int(r[0]) for r in cur.execute("SELECT version FROM schema_version").fetchall()}


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
