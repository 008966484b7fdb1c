"""Numbered SQL migrations (store/migrations/000N_name.sql), applied once, each atomically."""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.db import Database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def available() -> list[tuple[int, str, str]]:
    folder = resources.files("store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found)


def current_version(db: Database) -> int:
    with db.read() as cur:
        exists = cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()
        if not exists or not exists[0]:
            return 0
        row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def apply(db: Database) -> list[int]:
    """Apply every migration newer than the database; return the versions applied."""
    with db.write() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
        )
    with db.read() as cur:
        done = {int(r[0]) for r in cur.execute("SELECT version FROM schema_version").fetchall()}
    applied = []
    for version, name, sql in available():
        if version in done:  # a number filled in late (merged branches) is still applied
            continue
        with db.write() as cur:
            for statement in _statements(sql):
                cur.execute(statement)
            cur.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
        applied.append(version)
    return applied


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
