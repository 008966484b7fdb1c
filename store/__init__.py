"""Storage: the only package that writes SQL, behind the Database/Cursor seam of store.database."""

from __future__ import annotations

from pathlib import Path

from store import migrate
from store.database import Cursor, Database

__all__ = ["Cursor", "Database", "is_url", "open_database"]

_URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(target: str | Path) -> bool:
    """True for a PostgreSQL URL (postgresql:// or postgres://), False for a DuckDB file path."""
    return str(target).startswith(_URL_SCHEMES)


def open_database(
    path: str | Path, read_only: bool = False, pool_size: int = 5, threads: int | None = None
) -> Database:
    """Open and migrate the database: a DuckDB file (':memory:' for tests) or a PostgreSQL URL.

    pool_size: PostgreSQL's connections; threads: DuckDB's per query (None: one per core)."""
    target = str(path)
    db: Database
    if is_url(target):
        from store.backends import postgresql

        db = postgresql.connect(target, pool_size=pool_size)
    else:
        from store.backends import duckdb

        db = duckdb.connect(target, read_only=read_only, threads=threads)
    if not read_only:
        try:
            migrate.apply(db)
        except BaseException:
            db.close()
            raise
    return db
