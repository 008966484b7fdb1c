"""DuckDB: one connection per process, a cursor per operation, writes serialised and atomic."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from portal.errors import ConstraintViolation, StoreUnavailable
from store.database import ATTEMPTS, TRY_AGAIN, Cursor, RawRows, Transient, with_retries

T = TypeVar("T")


class _Violation(ConstraintViolation, duckdb.ConstraintException):
    """Our error, still a duckdb.Error for code that caught DuckDB's own before the seam."""


class DuckDBCursor(RawRows):
    """A DuckDB cursor behind the store.database.Cursor protocol."""

    raw: duckdb.DuckDBPyConnection
    dialect = "duckdb"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> DuckDBCursor:
        try:
            self.raw.execute(sql, params)
        except duckdb.ConstraintException as exc:
            raise _mapped(exc) from exc
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> DuckDBCursor:
        try:
            self.raw.executemany(sql, list(rows))
        except duckdb.ConstraintException as exc:
            raise _mapped(exc) from exc
        return self

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        self.raw.complete()  # DuckDB 2 refuses sql() while an earlier execute() result is unread
        return self.raw.sql(sql, params=list(params)).to_arrow_table()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)  # DuckDB-only calls (bench/: df(), register())


class DuckDBDatabase:
    """A DuckDB database file; use read() for queries and write() for transactions."""

    dialect = "duckdb"

    def __init__(self, conn: duckdb.DuckDBPyConnection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = _lock_for(path)

    @contextlib.contextmanager
    def read(self) -> Iterator[DuckDBCursor]:
        cur = self._cursor()
        try:
            yield DuckDBCursor(cur)
        except duckdb.Error as exc:
            raise _unavailable(exc) from exc
        finally:
            cur.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[DuckDBCursor]:
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
                    yield DuckDBCursor(cur)
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

    def transact(self, work: Callable[[Cursor], T], attempts: int = ATTEMPTS) -> T:
        """work(cur) in one write(); re-run if DuckDB reports a write-write conflict.

        Writes are serialised in this process, so a conflict needs another connection to the
        same file (rare): the loop is the same contract as PostgreSQL's, not a hot path.
        """

        def once() -> T:
            try:
                with self.write() as cur:
                    return work(cur)
            except duckdb.TransactionException as exc:
                raise Transient(TRY_AGAIN) from exc

        return with_retries(once, attempts)

    def close(self) -> None:
        self._conn.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._conn.cursor()  # TimeZone was set GLOBAL at connect, so cursors inherit it


def _mapped(exc: duckdb.ConstraintException) -> ConstraintViolation:
    return exc if isinstance(exc, ConstraintViolation) else _Violation()


def _unavailable(exc: duckdb.Error) -> Exception:
    if isinstance(exc, duckdb.ConstraintException):
        return _mapped(exc)
    return StoreUnavailable(f"The database could not complete the request: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: str) -> threading.RLock:
    """One write lock per database file in this process, however many times it is opened:
    the throttle relies on DuckDB's write transactions never interleaving (store/throttle_attempts).
    """
    if path == ":memory:":  # each in-memory connection is a database of its own
        return threading.RLock()
    key = os.path.realpath(path)
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


def connect(path: str, read_only: bool = False, threads: int | None = None) -> DuckDBDatabase:
    """Open (creating if needed) the database file, not yet migrated; ':memory:' for tests.

    threads: how many threads one query may use (None: DuckDB's default, one per core). With 1
    each query runs on the thread that asked: a sign-in's dozen one-row statements skip the
    hand-over to DuckDB's workers, about 10% of their time, while the manager page's scans of
    a million rows take about 1.5 times as long (bench/README.md)."""
    if path != ":memory:":
        _keep_private(Path(path))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        raise StoreUnavailable(describe_open_error(path, exc)) from exc
    conn.execute("SET GLOBAL TimeZone = 'UTC'")  # plain SET would not reach the cursors
    if threads is not None:  # a SET, not a config: another opening of the file may differ
        conn.execute(f"SET GLOBAL threads = {max(1, int(threads))}")
    return DuckDBDatabase(conn, path)


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
