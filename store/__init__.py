"""Storage: the only package that writes SQL, behind the Database/Cursor seam of store.database."""

from __future__ import annotations

from pathlib import Path

from portal.errors import StoreUnavailable
from store import migrate
from store.database import Cursor, Database

__all__ = ["Cursor", "Database", "open_database"]

_URL_SCHEMES = ("postgresql://", "postgres://")


def open_database(path: str | Path, read_only: bool = False) -> Database:
    """Open (creating if needed) and migrate the database: a file path, or ':memory:' for tests."""
    target = str(path)
    if target.startswith(_URL_SCHEMES):
        # Never echo the URL: it may hold a password.
        raise StoreUnavailable(
            "PostgreSQL databases (--db postgresql://...) are not supported yet: "
            "give a DuckDB file path."
        )
    from store.backends import duckdb as backend  # the only backend today

    db = backend.connect(target, read_only=read_only)
    if not read_only:
        migrate.apply(db)
    return db
