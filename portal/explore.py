"""The Explore notebook: a manager's own SELECTs over secret-free copies, never the live database.

Safe by construction, in layers:
- the cells run in a separate in-memory DuckDB that holds only two copies, `user_status` and
  `audit`, made at one instant (no password hash, no key, no backup code: those columns are
  never copied);
- the copies are Arrow tables registered as views, so even a writable CTE has no table to
  change; Python replacement scans are off, so a query cannot reach other Python objects;
- file and network access are off and the configuration is locked before any cell runs;
- a cell is exactly one SELECT; its result is cut at MAX_ROWS rows and it is interrupted after
  TIME_LIMIT seconds. Errors come back as text for the cell to show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Sequence

import duckdb
import pandas as pd

from portal import events
from portal.admin import require_manager
from portal.core import Portal
from portal.models import Identity
from store import reports

MAX_ROWS = 10_000
TIME_LIMIT = 5.0  # seconds per cell
AUDIT_DAYS = 366  # the copy of the audit trail covers this many days back
MAX_SQL = 20_000  # characters
CHARTS = ("bar", "line", "none")
TABLES = ("user_status", "audit")


@dataclasses.dataclass(frozen=True)
class Cell:
    title: str
    sql: str
    chart: str = "none"  # one of CHARTS: x is the first column, y the numeric others


@dataclasses.dataclass(frozen=True)
class Result:
    """What a cell shows: a table (cut at MAX_ROWS), or the error text."""

    frame: pd.DataFrame | None = None
    error: str | None = None
    truncated: bool = False
    seconds: float = 0.0


CELLS = (
    Cell(
        "Who has not enrolled",
        "SELECT username, display_name, role, status, created_at, last_sign_in_at\n"
        "FROM user_status\n"
        "WHERE status IN ('off', 'pending') AND NOT disabled\n"
        "ORDER BY created_at",
    ),
    Cell(
        "Sign-in failures by day",
        "SELECT CAST(occurred_at AS DATE) AS day,\n"
        f"       count(*) FILTER (WHERE event = '{events.SIGN_IN_FAILED}') AS wrong_password,\n"
        f"       count(*) FILTER (WHERE event = '{events.CODE_FAILED}') AS wrong_code\n"
        "FROM audit\n"
        f"WHERE event IN ('{events.SIGN_IN_FAILED}', '{events.CODE_FAILED}')\n"
        "GROUP BY day ORDER BY day",
        "bar",
    ),
    Cell(
        "Backup-code use in the last 30 days",
        "SELECT CAST(occurred_at AS DATE) AS day, count(*) AS codes_used,\n"
        "       count(DISTINCT subject) AS people\n"
        "FROM audit\n"
        f"WHERE event = '{events.CODE_USED}' AND occurred_at >= portal_now() - INTERVAL 30 DAY\n"
        "GROUP BY day ORDER BY day",
        "bar",
    ),
    Cell(
        "Resets granted and used",
        "SELECT CAST(occurred_at AS DATE) AS day,\n"
        f"       count(*) FILTER (WHERE event = '{events.RESET_GRANTED}') AS granted,\n"
        f"       count(*) FILTER (WHERE event = '{events.RESET_USED}') AS used\n"
        "FROM audit\n"
        f"WHERE event IN ('{events.RESET_GRANTED}', '{events.RESET_USED}')\n"
        "GROUP BY day ORDER BY day",
        "bar",
    ),
    Cell(
        "2FA status by role",
        "SELECT role, status, count(*) AS accounts\n"
        "FROM user_status GROUP BY role, status ORDER BY role, status",
    ),
)


def check_sql(sql: str) -> str:
    """The cell's text if it is exactly one SELECT; raises ValueError with the reason otherwise."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise ValueError("The cell is empty: write one SELECT.")
    if len(text) > MAX_SQL:
        raise ValueError(f"Keep a cell under {MAX_SQL} characters.")
    statements = duckdb.extract_statements(text)
    if len(statements) != 1:
        raise ValueError("A cell runs exactly one statement: remove the extra ';'.")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise ValueError("Only SELECT queries can run here: nothing can be changed or attached.")
    return text


class Sandbox:
    """An in-memory DuckDB holding read-only copies of the user-status and audit views."""

    def __init__(self, now: dt.datetime, tables: dict[str, object]) -> None:
        self.now = now
        self._conn = duckdb.connect(":memory:")
        try:
            self._conn.execute("SET TimeZone = 'UTC'")
            self._conn.execute("SET python_enable_replacements = false")
            self._conn.execute("SET threads = 2")
            self._conn.execute("SET memory_limit = '512MB'")
            # portal_now(): the portal's clock at the copy, for "the last 30 days" questions.
            stamp = now.astimezone(dt.UTC).isoformat()
            self._conn.execute(f"CREATE MACRO portal_now() AS TIMESTAMPTZ '{stamp}'")
            for name, table in tables.items():
                self._conn.register(name, table)
            self._conn.execute("SET enable_external_access = false")
            self._conn.execute("SET lock_configuration = true")
        except BaseException:
            self._conn.close()
            raise

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def run(self, sql: str, max_rows: int = MAX_ROWS, time_limit: float = TIME_LIMIT) -> Result:
        """Run one cell; any failure (refused, wrong SQL, too slow) becomes Result.error."""
        began = time.perf_counter()
        try:
            text = check_sql(sql)
        except (ValueError, duckdb.Error) as exc:
            return Result(error=_message(exc))
        timer = threading.Timer(time_limit, self._conn.interrupt)
        timer.start()
        try:
            self._conn.execute("BEGIN")
            try:
                cursor = self._conn.execute(text)
                columns = [d[0] for d in cursor.description or []]
                rows = cursor.fetchmany(max_rows + 1)
            finally:
                self._conn.execute("ROLLBACK")  # nothing a cell did survives it
        except duckdb.InterruptException:
            return Result(
                error=f"The query took longer than {time_limit:g} seconds and was stopped."
            )
        except duckdb.Error as exc:
            return Result(error=_message(exc))
        finally:
            timer.cancel()
        frame = pd.DataFrame(rows[:max_rows], columns=_unique(columns))
        return Result(frame, None, len(rows) > max_rows, time.perf_counter() - began)


def open_sandbox(p: Portal, actor: Identity) -> Sandbox:
    """Copy the secret-free views (as of now) into a fresh sandbox; managers only."""
    now = p.now()
    since = now - dt.timedelta(days=AUDIT_DAYS)
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        users = reports.select_user_status_table(cur, now)
        audit = reports.select_audit_table(cur, since)
    return Sandbox(now, {"user_status": users, "audit": audit})


def run_cells(p: Portal, actor: Identity, cells: Sequence[Cell]) -> list[Result]:
    """Run the cells top to bottom against one fresh copy, like a notebook's "Run all"."""
    with open_sandbox(p, actor) as box:
        return [box.run(cell.sql) for cell in cells]


def chart_columns(frame: pd.DataFrame) -> tuple[str, list[str]] | None:
    """(x, ys) for a chart: the first column against the numeric columns after it, if any."""
    if frame.shape[1] < 2 or frame.empty:
        return None
    x = str(frame.columns[0])
    ys = [str(c) for c in frame.columns[1:] if pd.api.types.is_numeric_dtype(frame[c])]
    ys = [c for c in ys if not pd.api.types.is_bool_dtype(frame[c])]
    return (x, ys) if ys else None


def _unique(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split("\n\nLINE")[0].strip() or type(exc).__name__
