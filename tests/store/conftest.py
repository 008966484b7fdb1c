"""The store contract suite: every test here runs once per backend (today DuckDB only).

A new backend joins by adding its name to BACKENDS and a branch to each helper below, in the
spirit of django-otp's shared test mixins: the same tests then prove it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from store import Database, open_database
from store import users as user_store
from store.backends import duckdb as duckdb_backend

BACKENDS = ["duckdb"]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def database_target(backend: str, folder: Path) -> str:
    """Where a fresh database of this backend lives: a file in folder (a URL for servers)."""
    if backend == "duckdb":
        return str(folder / "store.duckdb")
    raise AssertionError(f"no target for backend {backend!r}")


def connect_unmigrated(backend: str, folder: Path) -> Database:
    """A fresh, empty database of this backend: migrations not applied."""
    if backend == "duckdb":
        return duckdb_backend.connect(database_target(backend, folder))
    raise AssertionError(f"no connect for backend {backend!r}")


def steal_unique_username(backend: str, db: Database, username: str) -> None:
    """While a write() holding `username` is open, commit the same username elsewhere first."""
    if backend == "duckdb":
        with db.read() as other:  # another cursor, autocommit: its insert commits at once
            other.execute(
                "INSERT INTO users (username, display_name, role, password_hash, created_at)"
                " VALUES (?, 'Other', 'user', 'h', current_timestamp)",
                [username],
            )
        return
    raise AssertionError(f"no commit conflict for backend {backend!r}")


@pytest.fixture
def open_db(backend: str, tmp_path: Path) -> Iterator[Callable[[], Database]]:
    """Open (and migrate) this test's database; may be called again after close()."""
    opened: list[Database] = []

    def _open() -> Database:
        db = open_database(database_target(backend, tmp_path))
        opened.append(db)
        return db

    yield _open
    for db in opened:
        db.close()


@pytest.fixture
def db(open_db: Callable[[], Database]) -> Database:
    """A migrated database of the backend under test, on a real file in tmp_path."""
    return open_db()


def count_users(db: Database) -> int:
    with db.read() as cur:
        return user_store.count_users(cur)
