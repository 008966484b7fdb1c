"""Who may act as a security manager, and the step-up rule for their resets and deactivations.

Every manager service calls `require_manager` inside its own transaction or read, against the
database as well as the session, so a manager demoted or disabled since sign-in is refused.
"""

from __future__ import annotations

import dataclasses

from portal.context import Portal
from portal.errors import PermissionDenied, StepUpRequired
from portal.models import FactorStatus, Identity, Role, User
from portal.twofactor import policy, second_factor
from store import Cursor
from store import factors as factor_store
from store import users as user_store
from store.account_view import AccountView

STEP_UP_MESSAGE = (
    "Confirm it's you first: enter a current code from your authenticator app under "
    "*Confirm it's you* at the top of this page, then try again."
)


def require_manager(p: Portal, cur: Cursor, actor: Identity | None) -> User:
    """The acting manager's account as it is now; PermissionDenied for anyone else.

    Every manager service calls this inside its own transaction or read, so the check and the
    change see the same database. (`p` is for policy checks such as "managers must use 2FA".)
    """
    if actor is None or not actor.is_manager:
        raise PermissionDenied()
    user = user_store.get_user(cur, actor.user_id)
    if user is None or user.disabled or user.role is not Role.SECURITY_MANAGER:
        raise PermissionDenied()
    policy.check_manager(p, cur, actor)
    return user


@dataclasses.dataclass(frozen=True)
class Checked:
    """One page run's manager check (the account as it is now) and whether a step-up is due."""

    actor: Identity
    step_up_due: bool


def check_page(p: Portal, actor: Identity | None, view: AccountView | None = None) -> Checked:
    """The manager page's one role check per run, shared by the page's parts.

    `view`: the account as portal/app.py read it at the start of this run; with it the check
    needs no read of its own (it is the same moment's database), without it, one read.
    """
    if actor is None or not actor.is_manager:
        raise PermissionDenied()
    if view is not None and view.user_id == actor.user_id:
        policy.check_manager_view(p, view, actor)
        return Checked(actor, view.enabled and not second_factor.is_fresh(p, actor))
    with p.db.read() as cur:
        policy.check_manager(p, cur, actor)  # require_manager's checks, the account read once
        return Checked(actor, _step_up_due(p, cur, actor))


def confirm(p: Portal, actor: Identity, checked: Checked | None) -> None:
    """PermissionDenied unless `checked` is this run's check of `actor` (else read the role now)."""
    if checked is not None and checked.actor == actor:
        return
    with p.db.read() as cur:
        require_manager(p, cur, actor)


def _step_up_due(p: Portal, cur: Cursor, actor: Identity) -> bool:
    """Resets and deactivations need the manager's own code from the last few minutes."""
    if factor_store.get_factor(cur, actor.user_id, FactorStatus.ACTIVE) is None:
        return False  # a manager without 2FA has no code to give (the policy decides if allowed)
    return not second_factor.is_fresh(p, actor)


def needs_step_up(p: Portal, actor: Identity) -> bool:
    """True when the manager must confirm a code before a reset or deactivation (the page asks)."""
    with p.db.read() as cur:
        return _step_up_due(p, cur, actor)


def require_fresh_code(p: Portal, cur: Cursor, actor: Identity) -> None:
    """StepUpRequired unless the manager gave a code recently (or has no 2FA to give one)."""
    if _step_up_due(p, cur, actor):
        raise StepUpRequired(STEP_UP_MESSAGE)
