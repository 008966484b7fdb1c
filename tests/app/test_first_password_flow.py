"""An imported person's first sign-in in AppTest: the first password asks for their own (both
engines), then home, or the set-up wizard when the policy requires 2FA."""

from __future__ import annotations

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from portal import events
from portal.access import first_sign_in, passwords
from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import TwoFactorRequired
from portal.manager import importer
from portal.settings import Settings
from portal.ui import first_password, state
from portal.ui.resources import use_portal
from store import audit as audit_store
from store import users as user_store
from tests.app.conftest import ENTRY, page_path, sign_in, texts

NEW = "a fresh long passphrase 7"
SUBMIT = "FormSubmitter:first_password-Set password and continue"
WIZARD_TITLE = "Configure two-factor authentication"
NOT_IN_NAVIGATION = "Could not find a navigation page"


@pytest.fixture
def require_2fa() -> str:
    return "none"


@pytest.fixture
def settings(settings: Settings, require_2fa: str) -> Settings:
    return dataclasses.replace(settings, require_2fa=require_2fa, require_2fa_grace_days=0)


@pytest.fixture
def first(portal: Portal) -> str:
    """Ann's first password, from an import through the service."""
    data = b"username,display_name,email,role\nann,,,\n"
    plan = importer.plan_import(portal, None, data)
    return importer.run_import(portal, None, "os:t", plan, "cli")[0].first_password


def choose(at: AppTest, new: str, again: str | None = None) -> AppTest:
    at.text_input(key="fp_new").input(new)
    at.text_input(key="fp_again").input(new if again is None else again)
    return at.button(key=SUBMIT).click().run()


def stored_hash(p: Portal) -> str:
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, "ann")
    assert user is not None
    return user.password_hash


def test_the_first_password_asks_for_a_new_one_then_home(app: AppTest, portal, first) -> None:
    app.run()
    sign_in(app, "ann", first)
    assert not app.exception
    assert first_password.INTRO in texts(app)
    assert state.IDENTITY not in app.session_state or app.session_state[state.IDENTITY] is None
    with pytest.raises(ValueError, match=NOT_IN_NAVIGATION):
        app.switch_page(page_path("home"))  # not signed in: only the sign-in page exists
    choose(app, "short")
    assert [e.value for e in app.error] == [f"Use at least {passwords.MIN_LENGTH} characters."]
    choose(app, NEW, NEW + "!")
    assert [e.value for e in app.error] == ["The two passwords do not match."]
    choose(app, first)
    assert [e.value for e in app.error] == ["Choose a new password, not the one you were given."]
    assert passwords.is_first_password(stored_hash(portal))
    choose(app, NEW)
    assert not app.exception
    assert "Hello, ann" in texts(app)
    assert not passwords.is_first_password(stored_hash(portal))
    with portal.db.read() as cur:
        found = [e.event for e in audit_store.list_events(cur, "ann")]
    assert events.FIRST_PASSWORD_CHANGED in found


def test_the_next_sign_in_uses_the_new_password(app: AppTest, portal, first) -> None:
    app.run()
    sign_in(app, "ann", first)
    choose(app, NEW)
    app.button(key="sign_out").click().run()
    sign_in(app, "ann", first)
    assert [e.value for e in app.error] == ["Incorrect username or password."]
    sign_in(app, "ann", NEW)
    assert "Hello, ann" in texts(app)


@pytest.mark.parametrize("require_2fa", ["all"])
def test_with_2fa_required_the_new_password_leads_to_the_wizard(
    app: AppTest, portal, first
) -> None:
    app.run()
    sign_in(app, "ann", first)
    choose(app, NEW)
    assert not app.exception
    assert WIZARD_TITLE in texts(app)
    assert TwoFactorRequired.message in texts(app)


def test_cancel_goes_back_to_the_sign_in_form(app: AppTest, portal, first) -> None:
    app.run()
    sign_in(app, "ann", first)
    app.button(key="cancel_first_password").click().run()
    assert first_password.INTRO not in texts(app)
    assert app.text_input(key="si_password") is not None
    assert passwords.is_first_password(stored_hash(portal))


def test_a_step_left_too_long_starts_over(app: AppTest, portal, clock: FixedClock, first) -> None:
    app.run()
    sign_in(app, "ann", first)
    clock.advance(minutes=first_sign_in.PENDING_MINUTES, seconds=1)
    choose(app, NEW)
    assert "Your sign-in took too long. Please start again." in [e.value for e in app.error]
    assert app.text_input(key="si_password") is not None
    assert passwords.is_first_password(stored_hash(portal))


def test_a_second_tab_is_told_the_password_was_changed_already(app: AppTest, portal, first) -> None:
    app.run()
    sign_in(app, "ann", first)
    use_portal(portal)
    other = AppTest.from_file(ENTRY, default_timeout=30)
    other.run()
    sign_in(other, "ann", first)
    choose(app, NEW)
    assert "Hello, ann" in texts(app)
    choose(other, "another long passphrase 8")
    assert [e.value for e in other.error] == [first_sign_in.ALREADY_CHANGED]
    assert other.text_input(key="si_password") is not None
    sign_in(other, "ann", NEW)
    assert "Hello, ann" in texts(other)
