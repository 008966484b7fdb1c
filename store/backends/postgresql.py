"""PostgreSQL: psycopg 3 with a connection pool per process; `?` placeholders become `%s`."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg_pool
import pyarrow as pa
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from portal.errors import ConstraintViolation, StoreUnavailable
from store.database import ATTEMPTS, TRY_AGAIN, Cursor, RawRows, Transient, with_retries

# A `?` outside quoted strings/identifiers becomes `%s`; every `%` (quoted or not) is doubled,
# as psycopg reads `%` everywhere in the text.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")
_SWAP = {"?": "%s", "%": "%%"}
_LOST = "The database connection was lost: please try again."
_DOWN = "The database cannot be reached right now: please try again in a moment"
T = TypeVar("T")
# SQLSTATE class 40 (psycopg makes these OperationalErrors, not TransactionRollback subclasses)
_CONFLICTS = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.TransactionRollback,
)
_ARROW_TYPES = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    1043: pa.string(),
    701: pa.float64(),
    17: pa.binary(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}


class _Violation(ConstraintViolation, psycopg.IntegrityError):
    """Our error, still a psycopg.IntegrityError for code that looks at the driver's."""


def translate(sql: str) -> str:
    """`?` placeholders to psycopg's `%s`, only outside quotes; a literal `%` is doubled."""
    return _TOKEN.sub(lambda m: _SWAP.get(m.group(0)) or m.group(0).replace("%", "%%"), sql)


class PostgresCursor(RawRows):
    """A psycopg cursor behind the store.database.Cursor protocol."""

    raw: psycopg.Cursor[Any]
    dialect = "postgresql"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PostgresCursor:
        try:
            self.raw.execute(translate(sql), list(params))
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PostgresCursor:
        try:
            self.raw.executemany(translate(sql), [list(r) for r in rows])
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        return self

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        rows = self.execute(sql, params).fetchall()
        columns = self.raw.description or []
        arrays = []
        for i, column in enumerate(columns):
            values = [_arrow_value(r[i]) for r in rows]
            kind = _ARROW_TYPES.get(column.type_code)
            arrays.append(pa.array(values, type=kind) if kind is not None else pa.array(values))
        return pa.table(arrays, names=[c.name for c in columns])


def _arrow_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


class PostgresDatabase:
    """A PostgreSQL database behind a pool; read() for queries, write() for transactions."""

    dialect = "postgresql"

    def __init__(self, pool: psycopg_pool.ConnectionPool[Any], url: str) -> None:
        self._pool = pool
        self.path = url

    @contextlib.contextmanager
    def read(self) -> Iterator[PostgresCursor]:
        with self._connection() as conn, conn.cursor() as cur:
            try:
                yield PostgresCursor(cur)
            except psycopg.Error as exc:
                raise _unavailable(exc) from exc

    @contextlib.contextmanager
    def write(self) -> Iterator[PostgresCursor]:
        """A transaction: the first failed statement rolls back and raises; so does a failed commit.

        The block is the caller's code, so it cannot be replayed here: a serialization failure
        or deadlock rolls back and raises a "try again" StoreUnavailable instead.
        """
        with self._connection() as conn:
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield PostgresCursor(cur)
            except psycopg.Error as exc:
                raise _unavailable(exc) from exc

    def transact(self, work: Callable[[Cursor], T], attempts: int = ATTEMPTS) -> T:
        """work(cur) in a transaction, re-run on a serialization failure, a deadlock or a
        connection lost before the commit (the pool replaces a dead connection on the next run).

        A connection lost *during* the commit is not re-run: it may have committed.
        """
        return with_retries(lambda: self._once(work), attempts)

    def _once(self, work: Callable[[Cursor], T]) -> T:
        with self._connection() as conn:
            committing = False
            try:
                with conn.transaction(), conn.cursor() as cur:
                    result = work(PostgresCursor(cur))
                    committing = True
            except _CONFLICTS as exc:  # rolled back by the server: safe to run again
                raise Transient(TRY_AGAIN) from exc
            except psycopg.OperationalError as exc:
                if committing:
                    raise StoreUnavailable(f"{_LOST} {_first_line(exc)}") from exc
                raise Transient(f"{_LOST} {_first_line(exc)}") from exc
            except psycopg.Error as exc:
                raise _unavailable(exc) from exc
            return result

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError) as exc:
            # Mid-request: the pool keeps trying by itself, so the person may simply retry.
            raise StoreUnavailable(f"{_DOWN} ({_reason(exc)}).") from exc

    def close(self) -> None:
        self._pool.close()


def _mapped(exc: psycopg.Error) -> Exception:
    if isinstance(exc, psycopg.IntegrityError):  # unique, NOT NULL, CHECK: as DuckDB's
        return _Violation(_first_line(exc))
    return exc


def _unavailable(exc: psycopg.Error) -> Exception:
    if isinstance(exc, ConstraintViolation):
        return exc
    if isinstance(exc, psycopg.IntegrityError):
        return _mapped(exc)
    if isinstance(exc, _CONFLICTS):
        return StoreUnavailable(TRY_AGAIN)
    if isinstance(exc, psycopg.OperationalError):
        return StoreUnavailable(f"{_LOST} {_first_line(exc)}")
    return StoreUnavailable(f"The database could not complete the request: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def redacted(url: str) -> str:
    """The URL as it may be shown: user, host, port and database name, never a password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://(unreadable URL)"
    user = f"{info['user']}@" if info.get("user") else ""
    host = str(info.get("host") or "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname') or ''}"


def _describe(url: str, exc: BaseException) -> str:
    # psycopg's messages name host and port, not the password; still, show only our redaction.
    return f"The PostgreSQL database {redacted(url)} cannot be reached: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    reason = _first_line(exc)
    return "authentication failed" if "password" in reason.lower() else reason


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET TimeZone = 'UTC'")
    conn.commit()
    conn.autocommit = True  # read() runs plain statements; write() opens a transaction


def connect(url: str, pool_size: int = 5) -> PostgresDatabase:
    """A pool of connections to the database at url, not yet migrated; fails fast if unreachable."""
    try:  # once, directly: the pool would retry quietly and hide why
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        raise StoreUnavailable(_describe(url, exc)) from None
    pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
        url,
        min_size=1,
        max_size=max(1, pool_size),
        configure=_configure,
        check=psycopg_pool.ConnectionPool.check_connection,
        name="portal",
        timeout=10,
        open=True,
    )
    return PostgresDatabase(pool, url)
