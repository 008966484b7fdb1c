"""SQL for the security manager: the user-status table (paged, filtered, sorted, counted in SQL)
and the overview counts (the audit report is in store/audit.py).

Every value is a `?` parameter; the only SQL text built at run time is a sort column taken from
the SORTS whitelist and one `?` per item of a filter list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from portal.models import (
    EXPORT_USER_COLUMNS,
    USER_COLUMNS,
    Overview,
    TwoFactorStatus,
    UserQuery,
    UserRow,
)
from store.audit import in_clause
from store.database import Cursor

# One row per account: its 2FA status at the instant given as the first parameter. The status
# depends on that instant (a reset grant expires), so this is a query, not a stored view.
# {page} may add a CTE "page" of ids; {only} then limits every part to those ids.
_USER_STATUS = """
WITH clock AS (SELECT CAST(? AS TIMESTAMPTZ) AS now),{page}
fac AS (
    SELECT user_id,
           bool_or(status = 'active') AS has_active,
           bool_or(status = 'pending') AS has_pending,
           max(CASE WHEN status = 'active' THEN activated_at END) AS enrolled_at,
           -- each key keeps its count of unused codes (migration 0008): no code row is read
           coalesce(sum(CASE WHEN status = 'active' THEN codes_left END), 0) AS codes_left
    FROM factors WHERE true{only_f} GROUP BY user_id
),
-- Throttle rows of accounts (user_id set; rows of typed names that are no account have none),
-- per address and for the whole account: the most failures counted, and the latest lock.
thr AS (
    SELECT t.user_id, max(t.failures) AS failures,
           max(CASE WHEN t.locked_until > clock.now THEN t.locked_until END) AS locked_until
    FROM throttle t CROSS JOIN clock
    WHERE t.user_id IS NOT NULL AND t.expires_at > clock.now{only_t}
    GROUP BY t.user_id
),
user_status AS (
    SELECT u.id, u.username, u.display_name, u.role,
           CASE WHEN u.reset_expires_at > clock.now THEN 'reset granted'
                WHEN fac.has_active THEN 'enabled'
                WHEN fac.has_pending THEN 'pending'
                ELSE 'off' END AS status,
           u.disabled, fac.enrolled_at, u.last_sign_in_at,
           CASE WHEN fac.has_active THEN fac.codes_left END AS backup_codes_left,
           coalesce(thr.failures, 0) AS failed_attempts,
           thr.locked_until IS NOT NULL AS locked,
           thr.locked_until,
           u.created_at,
           CASE WHEN u.reset_expires_at > clock.now THEN u.reset_expires_at END
               AS reset_expires_at
    FROM users u
    CROSS JOIN clock
    LEFT JOIN fac ON fac.user_id = u.id
    LEFT JOIN thr ON thr.user_id = u.id
    WHERE true{only_u}
)
"""
_ALL = _USER_STATUS.format(page="", only_f="", only_t="", only_u="")
# The same, limited to the ids of a CTE "page" that is spliced in after the clock.
_PAGED = _USER_STATUS.format(
    page="{page}",
    only_f=" AND user_id IN (SELECT id FROM page)",
    only_t=" AND t.user_id IN (SELECT id FROM page)",
    only_u=" AND u.id IN (SELECT id FROM page)",
)

# What a person may sort by -> the SQL expression (the whitelist: nothing else reaches ORDER BY).
SORTS = {
    "username": "username",
    "display_name": "lower(display_name)",
    "role": "role",
    "status": "status",
    "enrolled_at": "enrolled_at",
    "last_sign_in_at": "last_sign_in_at",
    "backup_codes_left": "backup_codes_left",
    "failed_attempts": "failed_attempts",
    "created_at": "created_at",
}
# Sorts and filters that need only the users table: page there first, then join 50 rows.
_USERS_ONLY_SORTS = {"username", "display_name", "role", "created_at", "last_sign_in_at"}


def _user_row(row: tuple[Any, ...]) -> UserRow:
    values = dict(zip(USER_COLUMNS, row, strict=True))
    values["status"] = TwoFactorStatus(values["status"])
    values["disabled"] = bool(values["disabled"])
    values["locked"] = bool(values["locked"])
    return UserRow(**values)


def _contains(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, its % _ and \\ taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _user_where(query: UserQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    term = query.search.strip().lower()
    if term:
        # Usernames are stored lower-case (validate.username): LIKE there, ILIKE on names (both
        # cheaper than lower() of a million values), with LIKE's own characters escaped.
        clauses.append("(username LIKE ? ESCAPE '\\' OR display_name ILIKE ? ESCAPE '\\')")
        params += [_contains(term), _contains(term)]
    if query.statuses:
        clauses.append(in_clause("status", query.statuses))
        params += [str(s) for s in query.statuses]
    if query.roles:
        clauses.append(in_clause("role", query.roles))
        params += [str(r) for r in query.roles]
    if query.locked_only:
        clauses.append("locked")
    if query.disabled_only:
        clauses.append("disabled")
    if query.codes_low_at is not None:
        clauses.append("status = 'enabled' AND backup_codes_left <= ?")
        params.append(query.codes_low_at)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _order(query: UserQuery) -> str:
    if query.sort not in SORTS:
        raise ValueError(f"cannot sort by {query.sort!r}")
    direction = "DESC" if query.descending else "ASC"
    return f" ORDER BY {SORTS[query.sort]} {direction} NULLS LAST, id {direction}"


def _users_only(query: UserQuery) -> bool:
    """True when the filters and the sort need nothing but the users table."""
    needs_status = query.statuses or query.locked_only or query.codes_low_at is not None
    return not needs_status and query.sort in _USERS_ONLY_SORTS


def _select_users(query: UserQuery) -> tuple[str, list[Any]]:
    where, params = _user_where(query)
    columns = ", ".join(USER_COLUMNS)
    return f"{_ALL} SELECT {columns} FROM user_status{where}{_order(query)}", params


def count_user_status(
    cur: Cursor, query: UserQuery, now: dt.datetime, cap: int | None = None
) -> int:
    """How many accounts match; with a cap, counting stops at cap + 1 (more than cap match)."""
    where, params = _user_where(query)
    if _users_only(query):
        rows = f"SELECT 1 FROM users{where}"
    else:
        rows, params = f"{_ALL} SELECT 1 FROM user_status{where}", [now, *params]
    if cap is not None:
        rows, params = f"{rows} LIMIT ?", [*params, cap + 1]
    found = cur.execute(f"SELECT count(*) FROM ({rows}) AS matching", params).fetchone()
    return int(found[0]) if found else 0


def list_user_status(
    cur: Cursor,
    query: UserQuery,
    now: dt.datetime,
    limit: int = 50,
    offset: int = 0,
) -> list[UserRow]:
    """One page of the table, filtered, sorted and cut in SQL.

    When only users columns matter, the page is cut from the users table first and the
    factor and backup-code summaries are computed for those rows alone (about 20x faster at 1M).
    """
    if _users_only(query):
        where, params = _user_where(query)
        order = _order(query)
        page = f"\npage AS (SELECT id FROM users{where}{order} LIMIT ? OFFSET ?),"
        sql = _PAGED.replace("{page}", page, 1)
        columns = ", ".join(USER_COLUMNS)
        sql += f" SELECT {columns} FROM user_status{order}"
        rows = cur.execute(sql, [now, *params, limit, offset]).fetchall()
    else:
        sql, params = _select_users(query)
        rows = cur.execute(sql + " LIMIT ? OFFSET ?", [now, *params, limit, offset]).fetchall()
    return [_user_row(r) for r in rows]


def iter_user_status(
    cur: Cursor,
    query: UserQuery,
    now: dt.datetime,
    limit: int,
    batch: int = 10_000,
) -> Iterator[tuple[Any, ...]]:
    """The filtered view as plain tuples (USER_COLUMNS), fetched in batches: for CSV export."""
    sql, params = _select_users(query)
    result = cur.execute(sql + " LIMIT ?", [now, *params, limit])
    while rows := result.fetchmany(batch):
        yield from rows


# The overview without the per-person view: a reset grant wins over any key, so people with an
# open grant are counted apart and left out of the per-key summary (an anti-join: PostgreSQL ran
# a NOT IN subquery once per factor row); everybody else without a key is "off". The instant is
# a plain parameter, so PostgreSQL's planner sees how few grants are open (its partial index
# users_reset_open finds them). About 4x cheaper than counting the view at 1M accounts.
_OVERVIEW = """
WITH reset AS (SELECT id FROM users WHERE reset_expires_at > ?),
fac AS (
    SELECT f.user_id, bool_or(f.status = 'active') AS has_active,
           sum(CASE WHEN f.status = 'active' THEN f.codes_left END) AS codes_left
    FROM factors f WHERE NOT EXISTS (SELECT 1 FROM reset r WHERE r.id = f.user_id)
    GROUP BY f.user_id
),
locked AS (
    SELECT DISTINCT t.user_id FROM throttle t
    WHERE t.user_id IS NOT NULL AND t.expires_at > ? AND t.locked_until > ?
),
everyone AS (SELECT count(*) AS n, count(*) FILTER (WHERE disabled) AS disabled FROM users),
keyed AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE has_active) AS enabled,
           count(*) FILTER (WHERE has_active AND codes_left <= ?) AS codes_low
    FROM fac
)
SELECT everyone.n, keyed.enabled, keyed.n - keyed.enabled,
       everyone.n - keyed.n - (SELECT count(*) FROM reset),
       (SELECT count(*) FROM reset),
       (SELECT count(*) FROM locked JOIN users u ON u.id = locked.user_id),
       keyed.codes_low, everyone.disabled
FROM everyone CROSS JOIN keyed
"""


def get_overview(cur: Cursor, now: dt.datetime, codes_low_at: int) -> Overview:
    """How many accounts are in each state: the same counts as the view, counted directly."""
    row = cur.execute(_OVERVIEW, [now, now, now, codes_low_at]).fetchone()
    assert row is not None
    return Overview(*(int(v) for v in row))


def get_overview_from_view(cur: Cursor, now: dt.datetime, codes_low_at: int) -> Overview:
    """The same counts from the per-person view (the reference the tests compare against)."""
    row = cur.execute(
        f"""{_ALL}
        SELECT count(*),
               count(*) FILTER (WHERE status = 'enabled'),
               count(*) FILTER (WHERE status = 'pending'),
               count(*) FILTER (WHERE status = 'off'),
               count(*) FILTER (WHERE status = 'reset granted'),
               count(*) FILTER (WHERE locked),
               count(*) FILTER (WHERE status = 'enabled' AND backup_codes_left <= ?),
               count(*) FILTER (WHERE disabled)
        FROM user_status""",
        [now, codes_low_at],
    ).fetchone()
    assert row is not None
    return Overview(*(int(v) for v in row))


# Explore works on copies: these return Arrow tables of secret-free columns only.


def select_user_status_table(cur: Cursor, now: dt.datetime) -> pa.Table:
    columns = ", ".join(EXPORT_USER_COLUMNS)
    return cur.arrow(f"{_ALL} SELECT {columns} FROM user_status ORDER BY username", [now])
