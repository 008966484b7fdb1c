"""The virtual authenticator of demo mode: the codes a phone would show, computed from the keys.

Demo mode only (`demo.require_demo_mode`): it reads the stored keys, so never on real data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from portal.context import Portal
from portal.demo import require_demo_mode
from portal.models import FactorStatus
from portal.twofactor import second_factor, totp
from store import factors as factor_store
from store import users as user_store

PHONE_OFF = dt.timedelta(minutes=2)  # "Simulate a phone clock 2 minutes off"


@dataclasses.dataclass(frozen=True)
class AppEntry:
    """One entry of the virtual phone app: whose key, its current code, seconds to the next."""

    label: str
    code: str = dataclasses.field(repr=False)
    seconds_left: float
    pending: bool  # the wizard's key, not yet turned on

    @property
    def shown(self) -> str:
        """The code as phone apps show it: '123 456'."""
        half = len(self.code) // 2
        return f"{self.code[:half]} {self.code[half:]}"


def authenticator(p: Portal, user_id: int, phone_off: bool = False) -> list[AppEntry]:
    """The codes a phone would show for this account now (demo mode only), like any TOTP app.

    It reads the stored keys: the active one and the wizard's pending one. With phone_off, the
    phone's clock runs PHONE_OFF fast, to demonstrate the set-up wizard's clock warning.
    """
    require_demo_mode(p)
    instant = p.now() + (PHONE_OFF if phone_off else dt.timedelta())
    with p.db.read() as cur:
        user = user_store.get_user(cur, user_id)
        found = [
            factor_store.get_factor(cur, user_id, status)
            for status in (FactorStatus.ACTIVE, FactorStatus.PENDING)
        ]
    if user is None:
        return []
    return [
        AppEntry(
            label=f"{p.settings.issuer}: {user.username}",
            code=totp.code_at(second_factor.secret_of(p, factor), instant),
            seconds_left=totp.seconds_left(instant),
            pending=factor.status is FactorStatus.PENDING,
        )
        for factor in found
        if factor is not None
    ]
