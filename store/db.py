"""One DuckDB connection per process, a cursor per operation, writes serialised and atomic."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb

from portal.errors import StoreUnavailable
from store import migrate

CONFLICT_RETRIES = 5
Cursor = duckdb.DuckDBPyConnection  # what read() and write() yield; store functions take it


class Database:
    """A migrated DuckDB database; use read() for queries and write() for transactions."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = threading.RLock()

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._cursor()
        try:
            yield cur
        except duckdb.Error as exc:
            raise _unavailable(exc) from exc
        finally:
            cur.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction: the first failed statement rolls back and raises; so does a failed commit.

        DuckDB lets commit() "succeed" after a failed statement while discarding the earlier
        writes, so we never commit after an error. Writes are serialised in-process (DuckDB has
        one writer anyway), which also removes same-row "Conflict on update" errors here.
        """
        with self._write_lock:
            cur = self._cursor()
            try:
                cur.begin()
                try:
                    yield cur
                except BaseException:
                    cur.rollback()
                    raise
                try:
                    cur.commit()
                except duckdb.Error as exc:
                    with contextlib.suppress(duckdb.Error):
                        cur.rollback()
                    raise _unavailable(exc) from exc
            finally:
                cur.close()

    def close(self) -> None:
        self._conn.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._conn.cursor()  # TimeZone was set GLOBAL at connect, so cursors inherit it


def _unavailable(exc: duckdb.Error) -> Exception:
    if isinstance(exc, duckdb.ConstraintException):
        return exc
    return StoreUnavailable(f"The database could not complete the request: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def open_database(path: str | Path, read_only: bool = False) -> Database:
    """Open (creating if needed) and migrate the database file; ':memory:' for tests."""
    path = str(path)
    if path != ":memory:":
        _keep_private(Path(path))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        raise StoreUnavailable(describe_open_error(path, exc)) from exc
    conn.execute("SET GLOBAL TimeZone = 'UTC'")  # plain SET would not reach the cursors
    db = Database(conn, path)
    if not read_only:
        migrate.apply(db)
    return db


def _keep_private(path: Path) -> None:
    """Files this process creates from now on (the database, its WAL, temp files) are 0600.

    DuckDB creates the WAL lazily at the first write, so a umask is the only way to cover it;
    the database holds no secret in plaintext, but hashes and the audit trail are still private.
    """
    os.umask(0o077)
    for existing in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(OSError):  # not ours to change: leave it as it is
            if existing.exists() and existing.stat().st_mode & 0o077:
                existing.chmod(0o600)


def describe_open_error(path: str, exc: Exception) -> str:
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        holder = f" (process {pid.group(1)})" if pid else ""
        return (
            f"The database {path} is in use by another running portal{holder}. "
            "Stop it first, or use another file with --db."
        )
    return f"The database {path} cannot be opened: {_first_line(exc)}"
