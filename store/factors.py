"""SQL for TOTP factors (encrypted secrets) and backup codes (encrypted codes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.models import BackupCode, Factor, FactorStatus
from store.database import Cursor

_FACTOR = "id, user_id, status, secret_enc, created_at, verified_at, activated_at, last_step"
_CODE = "id, user_id, factor_id, code_enc, created_at, used_at"


def _factor(row: tuple[Any, ...]) -> Factor:
    return Factor(row[0], row[1], FactorStatus(row[2]), bytes(row[3]), *row[4:])


def _code(row: tuple[Any, ...]) -> BackupCode:
    return BackupCode(row[0], row[1], row[2], bytes(row[3]), row[4], row[5])


def get_factor(cur: Cursor, user_id: int, status: FactorStatus) -> Factor | None:
    # DuckDB uses the user_id index only for a lone equality: filter the few rows in Python.
    rows = cur.execute(f"SELECT {_FACTOR} FROM factors WHERE user_id = ?", [user_id]).fetchall()
    mine = [r for r in rows if r[2] == str(status)]
    return _factor(max(mine, key=lambda r: r[0])) if mine else None


def insert_factor(cur: Cursor, user_id: int, secret_enc: bytes, now: dt.datetime) -> int:
    row = cur.execute(
        "INSERT INTO factors (user_id, status, secret_enc, created_at) VALUES (?, 'pending', ?, ?)"
        " RETURNING id",
        [user_id, secret_enc, now],
    ).fetchone()
    assert row is not None
    return int(row[0])


def update_factor_verified(cur: Cursor, factor_id: int, step: int, now: dt.datetime) -> bool:
    """Mark a pending key verified by a code of a step not used before (one conditional UPDATE)."""
    row = cur.execute(
        "UPDATE factors SET verified_at = ?, last_step = ? WHERE id = ? AND status = 'pending'"
        " AND (last_step IS NULL OR last_step < ?) RETURNING id",
        [now, step, factor_id, step],
    ).fetchone()
    return row is not None


def update_factor_active(cur: Cursor, factor_id: int, now: dt.datetime) -> bool:
    """Turn a verified pending key on, unless another request already did (conditional UPDATE)."""
    row = cur.execute(
        "UPDATE factors SET status = 'active', activated_at = ? WHERE id = ? AND status = 'pending'"
        " AND verified_at IS NOT NULL RETURNING id",
        [now, factor_id],
    ).fetchone()
    return row is not None


def get_factor_by_id(cur: Cursor, factor_id: int) -> Factor | None:
    row = cur.execute(f"SELECT {_FACTOR} FROM factors WHERE id = ?", [factor_id]).fetchone()
    return _factor(row) if row else None


def update_last_step(cur: Cursor, factor_id: int, step: int) -> bool:
    """Record a used time step unless it (or a later one) was used: the replay guard, atomically."""
    row = cur.execute(
        "UPDATE factors SET last_step = ? WHERE id = ? AND (last_step IS NULL OR last_step < ?)"
        " RETURNING id",
        [step, factor_id, step],
    ).fetchone()
    return row is not None


def delete_factors(cur: Cursor, user_id: int, status: FactorStatus | None = None) -> int:
    """Delete a person's factors (of one status, or all) and the backup codes issued with them."""
    return len(delete_factors_except(cur, user_id, status, None))


def delete_factors_except(
    cur: Cursor,
    user_id: int,
    status: FactorStatus | None,
    keep: int | None,
) -> list[int]:
    """Delete a person's factors (of one status, or all) but `keep`; returns the deleted ids."""
    where, params = "user_id = ? AND id IS DISTINCT FROM ?", list[object]([user_id, keep])
    if status is not None:
        where += " AND status = ?"
        params.append(str(status))
    ids = [r[0] for r in cur.execute(f"SELECT id FROM factors WHERE {where}", params).fetchall()]
    for factor_id in ids:
        cur.execute("DELETE FROM backup_codes WHERE factor_id = ?", [factor_id])
        cur.execute("DELETE FROM factors WHERE id = ?", [factor_id])
    return ids


def list_backup_codes(cur: Cursor, factor_id: int) -> list[BackupCode]:
    # backup_codes_factor (migration 0008) finds them: without it, a scan of every code row.
    rows = cur.execute(
        f"SELECT {_CODE} FROM backup_codes WHERE factor_id = ? ORDER BY id", [factor_id]
    ).fetchall()
    return [_code(r) for r in rows]


def insert_backup_codes(
    cur: Cursor,
    user_id: int,
    factor_id: int,
    codes_enc: list[bytes],
    now: dt.datetime,
) -> None:
    """Replace a key's codes; its count of unused codes (factors.codes_left) moves with them."""
    cur.execute("DELETE FROM backup_codes WHERE factor_id = ?", [factor_id])
    cur.executemany(
        "INSERT INTO backup_codes (user_id, factor_id, code_enc, created_at) VALUES (?, ?, ?, ?)",
        [[user_id, factor_id, enc, now] for enc in codes_enc],
    )
    cur.execute("UPDATE factors SET codes_left = ? WHERE id = ?", [len(codes_enc), factor_id])


def update_backup_code_used(cur: Cursor, code_id: int, now: dt.datetime) -> bool:
    """Mark a code used unless it already was: one conditional UPDATE, so a code works once.

    Its key's count of unused codes drops in the same transaction; on PostgreSQL the row lock
    makes two codes used at once both count (each decrement re-reads the other's).
    """
    row = cur.execute(
        "UPDATE backup_codes SET used_at = ? WHERE id = ? AND used_at IS NULL RETURNING factor_id",
        [now, code_id],
    ).fetchone()
    if row is None:
        return False
    cur.execute("UPDATE factors SET codes_left = codes_left - 1 WHERE id = ?", [row[0]])
    return True
