"""The "2FA required" policy: who must use 2FA, their grace period, and what they may open.

Grace rule: a person's grace period starts at the later of their account's creation and the
moment the portal first ran with the policy covering them (recorded once in the meta table).
Counting from creation alone would lock out every existing account the instant an organisation
switches the policy on; counting from the switch alone would give accounts created years later a
grace that ran out before they existed. Turning the policy off and on again does not restart the
grace, so toggling the setting is no way around it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from portal.context import Portal
from portal.errors import PermissionDenied, PolicySettingError, TwoFactorRequired
from portal.models import FactorStatus, Identity, Role
from portal.settings import Settings
from store import Cursor
from store import account_view as view_store
from store import factors as factor_store
from store import meta as meta_store
from store import users as user_store
from store.account_view import AccountView

NONE, ALL, MANAGERS = "none", "all", "managers"
MODES = (NONE, ALL, MANAGERS)
WIZARD_PAGE = "two_factor"
SINCE_KEY = "require_2fa_since:"  # + "users" or "managers": when the policy first covered them
STARTED_MEMO = "policy_started"  # Portal.memo: policy_started() once every start is recorded


MANAGER_MESSAGE = (
    "Security managers must have two-factor authentication on, and sign in with it, to use "
    "the manager page. Set it up in Two-factor set-up, then sign in again."
)


@dataclasses.dataclass(frozen=True)
class Requirement:
    """What the policy asks of one person at one instant."""

    applies: bool  # the policy covers this person
    enrolled: bool  # an active (verified and finished) key exists
    grace_ends: dt.datetime | None  # None when the policy does not apply
    blocked: bool  # applies, not enrolled, grace over: only the wizard may open

    @property
    def in_grace(self) -> bool:
        return self.applies and not self.enrolled and not self.blocked

    def days_left(self, now: dt.datetime) -> int:
        """Whole days (rounded up) until the grace period ends; 0 once it has."""
        if self.grace_ends is None or now >= self.grace_ends:
            return 0
        return math.ceil((self.grace_ends - now) / dt.timedelta(days=1))


def mode(settings: Settings) -> str:
    """The validated require_2fa value; PolicySettingError names the values that work."""
    value = str(settings.require_2fa).strip().lower()
    if value not in MODES:
        raise PolicySettingError(
            f"Unknown require_2fa setting {settings.require_2fa!r}: use one of "
            f"{', '.join(MODES)} (PORTAL_REQUIRE_2FA)."
        )
    days = settings.require_2fa_grace_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise PolicySettingError(
            f"require_2fa_grace_days must be a whole number of days, 0 or more (got {days!r})."
        )
    return value


def applies_to(settings: Settings, role: Role) -> bool:
    value = mode(settings)
    return value == ALL or (value == MANAGERS and Role(role) is Role.SECURITY_MANAGER)


def evaluate(
    settings: Settings,
    role: Role,
    created_at: dt.datetime,
    since: dt.datetime | None,
    enrolled: bool,
    now: dt.datetime,
) -> Requirement:
    """The rule without the database: grace is [start, start + days); blocked from its end on."""
    if not applies_to(settings, role):
        return Requirement(applies=False, enrolled=enrolled, grace_ends=None, blocked=False)
    start = max(created_at, since) if since is not None else created_at
    ends = start + dt.timedelta(days=settings.require_2fa_grace_days)
    return Requirement(True, enrolled, ends, blocked=not enrolled and now >= ends)


def account_view(p: Portal, identity: Identity) -> AccountView:
    """The person's account and keys in one read: what one rerun of their pages works from."""
    with p.db.read() as cur:
        view = view_store.get_account_view(cur, identity.user_id)
    if view is None:
        raise PermissionDenied()
    return view


def requirement(p: Portal, identity: Identity, view: AccountView | None = None) -> Requirement:
    """The policy for this person now: role and enrolment as they are (or as `view`, this run)."""
    if view is None or view.user_id != identity.user_id:
        view = account_view(p, identity)
    since = None
    if applies_to(p.settings, view.role):
        audience = "managers" if view.role is Role.SECURITY_MANAGER else "users"
        since = policy_started(p)[audience]
    return evaluate(p.settings, view.role, view.created_at, since, view.enabled, p.now())


def policy_started(p: Portal) -> dict[str, dt.datetime | None]:
    """Record (once) and return when this portal's policy first covered users and managers.

    None for an audience the setting does not cover. Each start is written once (a claim that
    never updates) and never deleted, so once every covered audience has one, the answer is
    kept for the process (the setting is part of the Portal: another setting, another memo).
    """
    value = mode(p.settings)  # a bad setting fails on every call, never memoised
    known = p.memo.get(STARTED_MEMO)
    if isinstance(known, dict):
        return dict(known)
    covered = {"managers": value in (ALL, MANAGERS), "users": value == ALL}
    found: dict[str, dt.datetime | None] = dict.fromkeys(covered)
    if any(covered.values()):
        with p.db.read() as cur:
            found.update({a: _since(cur, a) for a, on in covered.items() if on})
    missing = [a for a, on in covered.items() if on and found[a] is None]
    if missing:

        def record(cur: Cursor) -> dict[str, dt.datetime | None]:
            first = p.now().isoformat().encode()
            for audience in missing:  # another process may win: then its instant is kept
                meta_store.claim_meta(cur, SINCE_KEY + audience, first)
            return {audience: _since(cur, audience) for audience in missing}

        found.update(p.db.transact(record))
    if all(found[a] is not None for a, on in covered.items() if on):
        p.memo[STARTED_MEMO] = dict(found)
    return found


def _since(cur: Cursor, audience: str) -> dt.datetime | None:
    raw = meta_store.get_meta(cur, SINCE_KEY + audience)
    return dt.datetime.fromisoformat(raw.decode()) if raw else None


def check_allowed(p: Portal, identity: Identity, page: str) -> Requirement:
    """Raise TwoFactorRequired for any page but the wizard once the grace period is over."""
    need = requirement(p, identity)
    if need.blocked and page != WIZARD_PAGE:
        raise TwoFactorRequired()
    return need


def pages_for(
    p: Portal, identity: Identity, need: Requirement | None = None
) -> tuple[list[str], str]:
    """The page names this person may open, and the one to land on after sign-in."""
    need = need if need is not None else requirement(p, identity)
    if need.blocked:
        return [WIZARD_PAGE], WIZARD_PAGE
    names = ["home", WIZARD_PAGE]
    if identity.is_manager:
        names.append("manager")
    return names, WIZARD_PAGE if need.in_grace else "home"


def notice(p: Portal, need: Requirement) -> str | None:
    """One line telling a person without 2FA what the policy asks of them (None if nothing)."""
    if not need.applies or need.enrolled or need.grace_ends is None:
        return None
    if need.blocked:
        return TwoFactorRequired.message
    return (
        "Your organisation requires two-factor authentication. Set it up by "
        f"{need.grace_ends:%d %B %Y %H:%M} UTC ({need.days_left(p.now())} day(s) left)."
    )


def require_enrolled_manager(p: Portal, identity: Identity) -> None:
    """For the manager services: a manager the policy covers must have signed in with 2FA."""
    with p.db.read() as cur:
        check_manager(p, cur, identity)


def check_manager(p: Portal, cur: Cursor, identity: Identity) -> None:
    """require_enrolled_manager() inside a cursor the caller already holds."""
    covered = applies_to(p.settings, Role.SECURITY_MANAGER)  # a bad setting fails first
    user = user_store.get_user(cur, identity.user_id)
    if user is None or user.disabled or user.role is not Role.SECURITY_MANAGER:
        raise PermissionDenied()
    if covered:
        enrolled = factor_store.get_factor(cur, user.id, FactorStatus.ACTIVE) is not None
        _manager_enrolled(enrolled, identity)


def check_manager_view(p: Portal, view: AccountView, identity: Identity) -> None:
    """check_manager() on this run's AccountView of the person (read moments ago, this run)."""
    covered = applies_to(p.settings, Role.SECURITY_MANAGER)
    mine = view.user_id == identity.user_id
    if not mine or view.disabled or view.role is not Role.SECURITY_MANAGER:
        raise PermissionDenied()
    if covered:
        _manager_enrolled(view.enabled, identity)


def _manager_enrolled(enrolled: bool, identity: Identity) -> None:
    if not enrolled or identity.second_factor_at is None:
        raise TwoFactorRequired(MANAGER_MESSAGE)
