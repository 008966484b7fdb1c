"""The "2FA required" policy as a person meets it (needs the policy wired into portal/app.py
and pages/manager.py: see portal/twofactor/policy.py and the wiring notes). Each test builds the
Portal with Settings(require_2fa=...) and drives the real entry script; no monkeypatching."""

import dataclasses

import pytest

from portal.errors import TwoFactorRequired
from portal.models import Role
from portal.settings import Settings
from portal.twofactor import policy, totp
from tests.app.conftest import enter_code, page_path, sign_in, texts
from tests.app.test_wizard_flow import open_wizard, walk_to_codes
from tests.conftest import add_user, enrol

WIZARD_TITLE = "Configure two-factor authentication"
IN_GRACE = (
    "Your organisation requires two-factor authentication. Set it up by "
    "09 March 2026 09:00 UTC (7 day(s) left)."
)
NOT_IN_NAVIGATION = "Could not find a navigation page"


@pytest.fixture
def require_2fa() -> str:
    return "all"


@pytest.fixture
def settings(settings: Settings, require_2fa: str) -> Settings:
    return dataclasses.replace(settings, require_2fa=require_2fa, require_2fa_grace_days=7)


def finish_wizard(at, clock) -> None:
    open_wizard(at)
    walk_to_codes(at, clock)
    at.checkbox(key="wz_stored").check().run()
    at.button(key="wz_finish").click().run()
    assert "Two-factor authentication is on" in texts(at)


def test_in_grace_sign_in_lands_on_the_wizard_and_the_rest_stays_open(app, portal):
    add_user(portal, "alice")  # created at START; the policy first runs at START too
    app.run()
    sign_in(app, "alice")
    assert not app.exception
    assert WIZARD_TITLE in texts(app)
    assert IN_GRACE in texts(app)
    app.switch_page(page_path("home")).run()
    assert "Hello, alice" in texts(app)
    assert IN_GRACE in texts(app)  # the reminder stays until 2FA is on


def test_after_the_grace_only_the_wizard_opens_until_2fa_is_on(app, portal, clock):
    add_user(portal, "alice")
    policy.policy_started(portal)
    clock.advance(days=7)
    app.run()
    sign_in(app, "alice")
    assert not app.exception
    assert WIZARD_TITLE in texts(app)
    assert TwoFactorRequired.message in texts(app)
    with pytest.raises(ValueError, match=NOT_IN_NAVIGATION):
        app.switch_page(page_path("home"))
    finish_wizard(app, clock)
    app.switch_page(page_path("home")).run()
    assert not app.exception
    assert "Hello, alice" in texts(app)
    assert "requires two-factor authentication" not in texts(app)


def test_one_second_before_the_end_of_the_grace_everything_still_opens(app, portal, clock):
    add_user(portal, "alice")
    policy.policy_started(portal)
    clock.advance(days=7, seconds=-1)
    app.run()
    sign_in(app, "alice")
    assert WIZARD_TITLE in texts(app)
    assert "(1 day(s) left)" in texts(app)
    app.switch_page(page_path("home")).run()
    assert "Hello, alice" in texts(app)


@pytest.mark.parametrize("require_2fa", ["managers"])
def test_managers_only_leaves_other_people_alone(app, portal, clock):
    add_user(portal, "alice")
    policy.policy_started(portal)
    clock.advance(days=30)
    app.run()
    sign_in(app, "alice")
    assert "Hello, alice" in texts(app)
    assert "requires two-factor authentication" not in texts(app)


@pytest.mark.parametrize("require_2fa", ["managers"])
def test_a_manager_without_2fa_cannot_use_the_manager_page_even_in_grace(app, portal, clock):
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    app.run()
    sign_in(app, "boss")
    assert WIZARD_TITLE in texts(app)
    app.switch_page(page_path("manager")).run()
    assert not app.exception
    assert policy.MANAGER_MESSAGE in [e.value for e in app.error]
    assert not app.get("dataframe")
    # With 2FA on and a sign-in that used it, the manager page opens.
    secret, _, _ = enrol(portal, clock, boss)
    app.button(key="sign_out").click().run()
    sign_in(app, "boss")
    enter_code(app, totp.code_at(secret, clock.now()))
    app.switch_page(page_path("manager")).run()
    assert not app.exception
    assert policy.MANAGER_MESSAGE not in [e.value for e in app.error]
    assert "Security manager" in texts(app)


@pytest.mark.parametrize("require_2fa", ["managers"])
def test_a_manager_after_the_grace_gets_only_the_wizard(app, portal, clock):
    add_user(portal, "boss", Role.SECURITY_MANAGER)
    policy.policy_started(portal)
    clock.advance(days=8)
    app.run()
    sign_in(app, "boss")
    assert WIZARD_TITLE in texts(app)
    for name in ("home", "manager"):
        with pytest.raises(ValueError, match=NOT_IN_NAVIGATION):
            app.switch_page(page_path(name))


@pytest.mark.parametrize("require_2fa", ["everyone"])
def test_an_unknown_policy_setting_is_one_clear_message(app, portal):
    assert not app.exception
    assert [e.value for e in app.error] == [
        "The portal cannot start: Unknown require_2fa setting 'everyone': use one of none, "
        "all, managers (PORTAL_REQUIRE_2FA)."
    ]
