"""SQL for what one rerun of a person's pages needs: their account and keys, in one query."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from portal.models import FactorStatus, Role
from store.database import Cursor

_USER = "u.id, u.username, u.role, u.disabled, u.created_at"
_KEY = "f.id, f.status, f.created_at, f.verified_at, f.activated_at, f.codes_left"


@dataclasses.dataclass(frozen=True)
class AccountView:
    """A person's account and 2FA state as one query saw them (no secret, no password hash)."""

    user_id: int
    username: str
    role: Role
    disabled: bool
    created_at: dt.datetime
    enabled_at: dt.datetime | None  # when the active key turned on; None: 2FA is off
    codes_left: int | None  # the active key's unused backup codes; None: 2FA is off
    pending_started_at: dt.datetime | None  # the unfinished set-up's key; None: no set-up open
    pending_verified: bool  # a code from the app matched the pending key
    pending_codes: bool  # backup codes were issued for the pending key

    @property
    def enabled(self) -> bool:
        return self.codes_left is not None

    @property
    def pending(self) -> bool:
        return self.pending_started_at is not None


def get_account_view(cur: Cursor, user_id: int) -> AccountView | None:
    """The account and its newest active and pending keys; None when the account is gone.

    Both sides are indexed equalities (users.id, factors.user_id) on DuckDB and PostgreSQL. A
    pending key's codes cannot be used (sign-in takes the active key's), so its codes_left is
    the number issued.
    """
    rows = cur.execute(
        f"SELECT {_USER}, {_KEY} FROM users u LEFT JOIN factors f ON f.user_id = u.id"
        " WHERE u.id = ?",
        [user_id],
    ).fetchall()
    if not rows:
        return None
    active = _newest(rows, FactorStatus.ACTIVE)
    pending = _newest(rows, FactorStatus.PENDING)
    uid, username, role, disabled, created_at = rows[0][:5]
    return AccountView(
        user_id=uid,
        username=username,
        role=Role(role),
        disabled=bool(disabled),
        created_at=created_at,
        enabled_at=active[4] if active else None,
        codes_left=int(active[5] or 0) if active else None,
        pending_started_at=pending[2] if pending else None,
        pending_verified=bool(pending and pending[3] is not None),
        pending_codes=bool(pending and pending[5]),
    )


def _newest(rows: list[tuple[Any, ...]], status: FactorStatus) -> tuple[Any, ...] | None:
    """The key columns of the newest key in `status` (as factors.get_factor picks), or None."""
    keys = [r[5:] for r in rows if r[5] is not None and r[6] == str(status)]
    return max(keys, key=lambda k: k[0]) if keys else None
