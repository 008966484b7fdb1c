"""The Explore notebook: a manager's own SELECTs over secret-free copies, never the live database.

Safe by construction, in layers:
- the cells run in a separate in-memory DuckDB that holds only two copies, `user_status` and
  `audit`, made at one instant (no password hash, no key, no backup code: those columns are
  never copied);
- the copies are Arrow tables registered as views, so even a writable CTE has no table to
  change; Python replacement scans are off, so a query cannot reach other Python objects;
- file and network access are off, every path setting points nowhere, and the configuration
  is locked before any cell runs;
- that DuckDB lives in a child process (sandbox, sandbox_worker) with its own memory cap,
  killed when a cell overruns its time, so no cell can take the portal's memory or time;
- a cell is exactly one SELECT; its result is cut at MAX_ROWS rows and MAX_BYTES bytes, in types
  the table can show. Errors come back as text for the cell to show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import pandas as pd

from portal import events
from portal.context import Portal
from portal.manager.guard import require_manager
from portal.manager.sandbox import (
    MAX_BYTES,
    MAX_ROWS,
    MAX_SQL,
    MEMORY_CAP,
    TIME_LIMIT,
    Result,
    Sandbox,
    check_sql,
)
from portal.models import Identity
from store import audit as audit_store
from store import reports

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "MAX_SQL",
    "MEMORY_CAP",
    "TIME_LIMIT",
    "Cell",
    "Result",
    "Sandbox",
    "chart_columns",
    "check_sql",
    "open_sandbox",
    "run_cells",
]

AUDIT_DAYS = 366  # the copy of the audit trail covers this many days back
CHARTS = ("bar", "line", "none")
TABLES = ("user_status", "audit")


@dataclasses.dataclass(frozen=True)
class Cell:
    title: str
    sql: str
    chart: str = "none"  # one of CHARTS: x is the first column, y the numeric others


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


def audit_days(p: Portal) -> int:
    """How many days back the audit copy reaches: a year, or less when the trail is kept less."""
    return min(AUDIT_DAYS, p.settings.audit_keep_days or AUDIT_DAYS)


def open_sandbox(p: Portal, actor: Identity) -> Sandbox:
    """Copy the secret-free views (as of now) into a fresh sandbox; managers only."""
    now = p.now()
    since = now - dt.timedelta(days=audit_days(p))
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        users = reports.select_user_status_table(cur, now)
        audit = audit_store.select_audit_table(cur, since)
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
