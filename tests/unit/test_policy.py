"""The "2FA required" policy: who it covers, the grace period to the microsecond, what opens."""

import dataclasses
import datetime as dt

import pytest

from portal.errors import PermissionDenied, PolicySettingError, PortalError, TwoFactorRequired
from portal.models import Role
from portal.twofactor import enrolment, policy, self_service, totp
from tests.conftest import START, add_user, enrol

WEEK = dt.timedelta(days=7)
TICK = dt.timedelta(microseconds=1)


def under(p, require_2fa, days=7, start=True):
    """The same database and clock restarted with another policy setting, now."""
    changed = dataclasses.replace(p.settings, require_2fa=require_2fa, require_2fa_grace_days=days)
    p = dataclasses.replace(p, settings=changed)
    if start:
        policy.policy_started(p)  # what the portal does when it opens (see the wiring notes)
    return p


def setting(settings, require_2fa, days=7):
    return dataclasses.replace(settings, require_2fa=require_2fa, require_2fa_grace_days=days)


@pytest.mark.parametrize("bad", ["", "yes", "everyone", "manager", "1", "all,managers"])
def test_an_unknown_setting_is_a_clear_error(settings, bad):
    with pytest.raises(PolicySettingError, match="use one of none, all, managers"):
        policy.mode(setting(settings, bad))
    assert issubclass(PolicySettingError, ValueError)
    assert issubclass(PolicySettingError, PortalError)  # the app shows it, no traceback


def test_the_services_refuse_an_unknown_setting_too(portal):
    who = add_user(portal, "alice")
    p = under(portal, "everyone", start=False)
    for check in (policy.requirement, policy.require_enrolled_manager, policy.pages_for):
        with pytest.raises(PolicySettingError, match="Unknown require_2fa setting"):
            check(p, who)


@pytest.mark.parametrize("days", [-1, 1.5, "7", True])
def test_a_bad_grace_period_is_a_clear_error(settings, days):
    with pytest.raises(PolicySettingError, match="whole number of days"):
        policy.mode(setting(settings, "all", days))


@pytest.mark.parametrize("value", ["ALL", " all ", "Managers", "NONE"])
def test_case_and_spaces_do_not_matter(settings, value):
    assert policy.mode(setting(settings, value)) == value.strip().lower()


def test_policy_none_asks_nothing_and_records_nothing(portal, clock):
    who = add_user(portal, "alice")
    clock.advance(days=400)
    need = policy.requirement(portal, who)
    assert need == policy.Requirement(False, False, None, False)
    assert policy.pages_for(portal, who) == (["home", "two_factor"], "home")
    assert policy.notice(portal, need) is None
    assert policy.policy_started(portal) == {"managers": None, "users": None}


def test_grace_ends_exactly_seven_days_after_the_later_start(portal, clock):
    p = under(portal, "all")
    who = add_user(p, "alice")
    need = policy.requirement(p, who)
    assert need.applies and not need.enrolled and need.in_grace
    assert need.grace_ends == START + WEEK
    assert policy.pages_for(p, who) == (["home", "two_factor"], "two_factor")
    clock.set(START + WEEK - TICK)
    need = policy.requirement(p, who)
    assert not need.blocked and need.days_left(clock.now()) == 1
    assert policy.check_allowed(p, who, "home") == need
    clock.set(START + WEEK)
    need = policy.requirement(p, who)
    assert need.blocked and not need.in_grace and need.days_left(clock.now()) == 0
    with pytest.raises(TwoFactorRequired, match="requires two-factor authentication"):
        policy.check_allowed(p, who, "home")
    with pytest.raises(TwoFactorRequired):
        policy.check_allowed(p, who, "manager")
    assert policy.check_allowed(p, who, "two_factor").blocked
    assert policy.pages_for(p, who) == (["two_factor"], "two_factor")


def test_an_old_account_gets_its_grace_from_when_the_policy_first_ran(portal, clock):
    old = add_user(portal, "old")  # created at START, long before the policy
    clock.advance(days=30)
    p = under(portal, "all")
    switched_on = clock.now()
    assert policy.requirement(p, old).grace_ends == switched_on + WEEK
    clock.advance(days=2)
    newer = add_user(p, "newer")  # created after the policy started: its own creation counts
    assert policy.requirement(p, newer).grace_ends == clock.now() + WEEK
    clock.set(switched_on + WEEK - TICK)
    assert not policy.requirement(p, old).blocked
    clock.set(switched_on + WEEK)
    assert policy.requirement(p, old).blocked
    assert not policy.requirement(p, newer).blocked


def test_turning_the_policy_off_and_on_does_not_restart_the_grace(portal, clock):
    p = under(portal, "all")
    who = add_user(p, "alice")
    assert policy.requirement(p, who).grace_ends == START + WEEK
    clock.advance(days=20)
    assert not policy.requirement(portal, who).applies  # switched off for a while
    assert policy.requirement(p, who).blocked  # back on: the old start still counts


def test_managers_only_covers_managers_and_all_later_covers_users_from_then(portal, clock):
    p = under(portal, "managers")
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    alice = add_user(p, "alice")
    assert policy.requirement(p, boss).grace_ends == START + WEEK
    clock.advance(days=10)
    assert policy.requirement(p, boss).blocked
    assert not policy.requirement(p, alice).applies
    assert policy.pages_for(p, alice) == (["home", "two_factor"], "home")
    everyone = under(portal, "all")
    assert policy.requirement(everyone, boss).blocked  # managers keep their earlier start
    assert policy.requirement(everyone, alice).grace_ends == clock.now() + WEEK


def test_zero_grace_days_blocks_at_once(portal):
    p = under(portal, "all", days=0)
    who = add_user(p, "alice")
    assert policy.requirement(p, who).blocked


def test_enrolled_people_are_never_blocked(portal, clock):
    p = under(portal, "all")
    _, _, who = enrol(p, clock, add_user(p, "alice"))
    clock.advance(days=365)
    need = policy.requirement(p, who)
    assert need.applies and need.enrolled and not need.blocked and not need.in_grace
    assert policy.notice(p, need) is None
    assert policy.pages_for(p, who) == (["home", "two_factor"], "home")
    policy.check_allowed(p, who, "home")


def test_a_verified_but_unfinished_set_up_does_not_count(portal, clock):
    p = under(portal, "all")
    who = add_user(p, "alice")
    view = enrolment.start(p, who, "test")
    enrolment.verify(p, who, totp.code_at(view.secret, clock.now()), "test")
    enrolment.issue_codes(p, who)
    clock.advance(days=8)
    need = policy.requirement(p, who)
    assert not need.enrolled and need.blocked


def test_turning_2fa_off_after_the_grace_blocks_at_once(portal, clock):
    p = under(portal, "all")
    _, _, who = enrol(p, clock, add_user(p, "alice"))
    clock.advance(days=30)
    who = dataclasses.replace(who, second_factor_at=clock.now())
    self_service.deactivate(p, who, "test")
    assert policy.requirement(p, who).blocked
    assert policy.pages_for(p, who) == (["two_factor"], "two_factor")


def test_the_notice_gives_the_deadline_then_the_block(portal, clock):
    p = under(portal, "all")
    who = add_user(p, "alice")
    clock.advance(days=2, hours=1)
    text = policy.notice(p, policy.requirement(p, who))
    assert text == (
        "Your organisation requires two-factor authentication. Set it up by "
        "09 March 2026 09:00 UTC (5 day(s) left)."
    )
    clock.advance(days=5)
    assert policy.notice(p, policy.requirement(p, who)) == TwoFactorRequired.message


@pytest.mark.parametrize("require_2fa", ["managers", "all"])
def test_a_manager_needs_2fa_for_the_manager_services_even_in_grace(portal, clock, require_2fa):
    p = under(portal, require_2fa)
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    assert policy.requirement(p, boss).in_grace
    assert "manager" in policy.pages_for(p, boss)[0]
    with pytest.raises(TwoFactorRequired, match="Security managers must have"):
        policy.require_enrolled_manager(p, boss)
    secret, _, enrolled = enrol(p, clock, boss)
    policy.require_enrolled_manager(p, enrolled)
    # 2FA on, but this session signed in with the password only: sign in again with the code.
    stale = dataclasses.replace(enrolled, second_factor_at=None)
    with pytest.raises(TwoFactorRequired):
        policy.require_enrolled_manager(p, stale)


def test_without_the_policy_a_manager_without_2fa_may_manage(portal):
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    policy.require_enrolled_manager(portal, boss)


def test_the_manager_check_refuses_a_non_manager_whatever_the_policy(portal):
    alice = add_user(portal, "alice")
    posing = dataclasses.replace(alice, role=Role.SECURITY_MANAGER)
    for p in (portal, under(portal, "all")):
        with pytest.raises(PermissionDenied):
            policy.require_enrolled_manager(p, posing)


@pytest.mark.parametrize(
    ("require_2fa", "role", "created", "since", "enrolled", "now", "blocked"),
    [
        ("none", Role.USER, START, None, False, START + 100 * WEEK, False),
        ("managers", Role.USER, START, START, False, START + 100 * WEEK, False),
        ("managers", Role.SECURITY_MANAGER, START, START, False, START + WEEK - TICK, False),
        ("managers", Role.SECURITY_MANAGER, START, START, False, START + WEEK, True),
        ("all", Role.USER, START, START + WEEK, False, START + 2 * WEEK - TICK, False),
        ("all", Role.USER, START + WEEK, START, False, START + 2 * WEEK, True),
        ("all", Role.USER, START, START, True, START + 100 * WEEK, False),
    ],
)
def test_the_rule_table(settings, require_2fa, role, created, since, enrolled, now, blocked):
    need = policy.evaluate(setting(settings, require_2fa), role, created, since, enrolled, now)
    assert need.blocked is blocked
    covered = require_2fa == "all" or (require_2fa == "managers" and role is not Role.USER)
    assert need.applies is covered
