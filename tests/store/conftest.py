"""The store contract suite: every test here runs once per backend (DuckDB and PostgreSQL).

A new backend joins by adding its name to BACKENDS and a branch to each helper below, in the
spirit of django-otp's shared test mixins: the same tests then prove it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from store import Database, open_database
from store import users as user_store
from store.backends import duckdb as duckdb_backend
from store.backends import postgresql as postgresql_backend
from tests.store import postgres

BACKENDS = ["duckdb", "postgresql"]
_server: list[str] = []  # the PostgreSQL server of this session, once started
_databases: dict[Path, str] = {}  # folder -> URL of the fresh database made for it


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A superuser conninfo: PORTAL_TEST_POSTGRES, or a throw-away cluster for this session."""
    with contextlib.ExitStack() as stack:
        given = os.environ.get("PORTAL_TEST_POSTGRES")
        server = given or stack.enter_context(postgres.cluster())
        _server.append(server)
        yield server
        _server.remove(server)
        for url in _databases.values() if given else ():  # a cluster of ours goes whole
            with contextlib.suppress(psycopg.Error):
                postgres.drop_database(server, url)
        _databases.clear()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("postgres_server")
    return str(request.param)


def database_target(backend: str, folder: Path) -> str:
    """Where a fresh database of this backend lives: a file in folder (a URL for servers)."""
    if backend == "duckdb":
        return str(folder / "store.duckdb")
    if backend == "postgresql":
        if folder not in _databases:
            _databases[folder] = postgres.new_database(_server[0])
        return _databases[folder]
    raise AssertionError(f"no target for backend {backend!r}")


def connect_unmigrated(backend: str, folder: Path) -> Database:
    """A fresh, empty database of this backend: migrations not applied."""
    if backend == "duckdb":
        return duckdb_backend.connect(database_target(backend, folder))
    if backend == "postgresql":
        return postgresql_backend.connect(database_target(backend, folder))
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
    if backend == "postgresql":
        # End the write's connection (its commit then fails), and commit the name from another.
        with psycopg.connect(db.path, autocommit=True) as other:
            other.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            other.execute(
                "INSERT INTO users (username, display_name, role, password_hash, created_at)"
                " VALUES (%s, 'Other', 'user', 'h', current_timestamp)",
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


def copy_tables(source: Database, target: Database) -> None:
    """Copy every row of the bulk-loaded tables from DuckDB into a PostgreSQL database."""
    tables = ("users", "factors", "backup_codes", "throttle", "audit")
    with psycopg.connect(target.path) as conn, source.read() as src:
        for table in tables:
            result = src.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own names
            names = ", ".join(d[0] for d in result.description or [])
            with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                while rows := result.fetchmany(10_000):
                    for row in rows:
                        copy.write_row(row)
        for table in ("users", "factors", "backup_codes", "audit"):
            conn.execute(
                f"SELECT setval('{table}_id_seq', coalesce((SELECT max(id) FROM {table}), 1))"
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")  # as autovacuum would soon: the planner needs the row counts
