"""The store's seam: a Database gives read and write transactions, each yielding a Cursor.

Services and store modules are typed against these two protocols, never against a driver's
types, so a second backend (PostgreSQL) plugs in behind the same functions and tests.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from portal.errors import StoreUnavailable

if TYPE_CHECKING:
    import pyarrow as pa

Row = tuple[Any, ...]
T = TypeVar("T")
ATTEMPTS = 3  # transact(): how many times a transaction may run before "try again"
BACKOFF_SECONDS = 0.05  # the first pause between two runs; doubled each time, with jitter
TRY_AGAIN = "The database is busy with a conflicting change: please try again."


class Cursor(Protocol):
    """DB-API style: `?` placeholders only, rows as tuples; execute() returns the cursor."""

    dialect: str  # the Database's: the few statements that differ per engine branch on it

    @property
    def description(self) -> Sequence[Sequence[Any]] | None: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...

    def fetchmany(self, size: int = 1) -> list[Row]: ...

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """The whole result of one query as an Arrow table (Explore works on such copies)."""
        ...


class Database(Protocol):
    """A migrated database: read() for queries, write() for one atomic transaction.

    write(): the first failed statement rolls the transaction back and raises, and so does a
    failed commit; a constraint violation raises portal.errors.ConstraintViolation.
    """

    @property
    def path(self) -> str: ...

    @property
    def dialect(self) -> str:
        """Names the SQL flavour; migrations may have files of their own per dialect."""
        ...

    def read(self) -> AbstractContextManager[Cursor]: ...

    def write(self) -> AbstractContextManager[Cursor]: ...

    def transact(self, work: Callable[[Cursor], T], attempts: int = ATTEMPTS) -> T:
        """work(cur) in one write transaction, re-run from the start after a transient failure.

        A serialization failure, a deadlock or a connection lost before the commit rolls the
        whole transaction back and runs `work` again (up to `attempts` times, after a short
        jittered pause), then raises a "try again" StoreUnavailable. `work` must therefore do
        nothing but database work through `cur` (and raise to roll back).
        """
        ...

    def close(self) -> None: ...


class Transient(Exception):
    """A backend's one run of a transaction was rolled back by a conflict: it may run again."""


def with_retries(
    once: Callable[[], T], attempts: int, pause: Callable[[float], None] = time.sleep
) -> T:
    """Run once() until it does not raise Transient; after `attempts` runs, StoreUnavailable."""
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return once()
        except Transient as exc:
            if attempt >= attempts:
                raise StoreUnavailable(str(exc) or TRY_AGAIN) from exc
            jitter = 0.5 + random.random()  # noqa: S311 - spreads retries, not a secret
            pause(BACKOFF_SECONDS * 2 ** (attempt - 1) * jitter)
    raise AssertionError("unreachable")


class RawRows:
    """What every backend's cursor adapter passes straight to its driver's cursor."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @property
    def description(self) -> Sequence[Sequence[Any]] | None:
        return self.raw.description

    def fetchone(self) -> Row | None:
        return self.raw.fetchone()

    def fetchall(self) -> list[Row]:
        return self.raw.fetchall()

    def fetchmany(self, size: int = 1) -> list[Row]:
        return self.raw.fetchmany(size)
