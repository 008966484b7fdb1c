"""The manager page's role check from this run's account view decides as the one that reads."""

from __future__ import annotations

import dataclasses

import pytest

from portal.context import Portal
from portal.errors import PermissionDenied, PortalError
from portal.manager import guard
from portal.models import Identity, Role
from portal.twofactor import policy
from store import account_view as view_store
from store import user_admin
from store import users as user_store
from tests.conftest import add_user, enrol


def _both(p: Portal, who: Identity) -> tuple[object, object]:
    """(check_page reading the database, check_page on a view read now): each result or error."""

    def outcome(view: view_store.AccountView | None) -> object:
        try:
            return guard.check_page(p, who, view)
        except PortalError as exc:
            return type(exc).__name__

    with p.db.read() as cur:
        view = view_store.get_account_view(cur, who.user_id)
    assert view is not None
    return outcome(None), outcome(view)


@pytest.mark.parametrize("managers_need_2fa", [True, False])
def test_the_view_check_decides_as_the_reading_check_in_every_state(
    portal, clock, managers_need_2fa
):
    p = dataclasses.replace(
        portal,
        settings=dataclasses.replace(
            portal.settings, require_2fa="managers" if managers_need_2fa else "none"
        ),
    )
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    cases = {"manager, no key": boss}
    _, _, enrolled = enrol(p, clock, boss)
    cases["manager with 2FA"] = enrolled
    cases["manager with 2FA, signed in without it"] = dataclasses.replace(
        enrolled, second_factor_at=None
    )
    clock.advance(minutes=30)  # the code is no longer fresh: a step-up is due
    cases["manager with 2FA, code not fresh"] = enrolled
    outcomes = {name: _both(p, who) for name, who in cases.items()}
    with p.db.write() as cur:
        user_admin.update_role(cur, boss.user_id, Role.USER)
    outcomes["demoted"] = _both(p, enrolled)
    with p.db.write() as cur:
        user_admin.update_role(cur, boss.user_id, Role.SECURITY_MANAGER)
        user_store.update_disabled(cur, boss.user_id, True)
    outcomes["disabled"] = _both(p, enrolled)
    for name, (reading, from_view) in outcomes.items():
        assert reading == from_view, name
    assert outcomes["demoted"][0] == outcomes["disabled"][0] == "PermissionDenied"
    assert outcomes["manager with 2FA, code not fresh"][0].step_up_due  # type: ignore[union-attr]
    if managers_need_2fa:
        assert outcomes["manager, no key"][0] == "TwoFactorRequired"


def test_someone_elses_view_is_never_taken_for_the_actors(portal, clock):
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    other = add_user(portal, "other", Role.SECURITY_MANAGER)
    with portal.db.read() as cur:
        others = view_store.get_account_view(cur, other.user_id)
    assert others is not None
    with pytest.raises(PermissionDenied):
        policy.check_manager_view(portal, others, boss)
    assert guard.check_page(portal, boss, others).actor == boss  # falls back to reading
