"""A manager's reset and deactivate need their own fresh code; the policy guards them too."""

import dataclasses

import pytest

from portal.errors import StepUpRequired, TwoFactorRequired
from portal.manager import actions, reports
from portal.models import Role
from portal.twofactor import second_factor, totp
from tests.conftest import add_user, enrol


def test_manager_with_2fa_needs_a_fresh_code_to_reset_or_deactivate(portal, clock):
    secret, _, boss = enrol(portal, clock, add_user(portal, "boss", Role.SECURITY_MANAGER))
    alice = add_user(portal, "alice")
    clock.advance(minutes=11)
    for action in (actions.grant_reset, actions.deactivate_for):
        with pytest.raises(StepUpRequired, match="Confirm it's you"):
            action(portal, boss, [alice.user_id], "lost phone", "t")
    boss = second_factor.step_up(portal, boss, totp.code_at(secret, clock.now()), "t").identity
    assert [
        u.username for u in actions.grant_reset(portal, boss, [alice.user_id], "lost phone", "t")
    ] == ["alice"]


def test_manager_without_2fa_is_not_asked_for_a_code_when_no_policy(portal, clock):
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    alice = add_user(portal, "alice")
    clock.advance(minutes=30)
    assert actions.deactivate_for(portal, boss, [alice.user_id], "left", "t")


def test_policy_for_managers_refuses_the_services_until_enrolled(settings, clock):
    from portal.context import open_portal

    p = open_portal(dataclasses.replace(settings, require_2fa="managers"), clock)
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    with pytest.raises(TwoFactorRequired):
        reports.overview(p, boss)
    _, _, boss = enrol(p, clock, boss)
    assert reports.overview(p, boss) is not None
    p.db.close()
