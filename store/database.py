"""The store's seam: a Database gives read and write transactions, each yielding a Cursor.

Services and store modules are typed against these two protocols, never against a driver's
types, so a second backend (PostgreSQL) plugs in behind the same functions and tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

Row = tuple[Any, ...]


class Cursor(Protocol):
    """DB-API style: `?` placeholders only, rows as tuples; execute() returns the cursor."""

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

    def close(self) -> None: ...


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
