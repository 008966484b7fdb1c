"""Every button of every confirmation dialog closes it and does exactly what it says.

AppTest reruns the whole script, so it checks state and outcome; that a button inside a
dialog also closes it in the browser (where it reruns only the dialog) is
tests/e2e/test_dialogs_browser.py's job.
"""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from portal import events
from portal.clock import FixedClock
from portal.context import Portal
from portal.manager import actions as manager_actions
from portal.models import Identity
from portal.twofactor import enrolment, self_service, totp
from portal.ui import state
from portal.ui.manager import keys
from store import audit as audit_store
from tests.app.conftest import enter_code, page_path
from tests.app.conftest import sign_in as sign_in_page
from tests.app.manager_helpers import (
    add_person,
    enrol,
    open_manager,
    select_rows,
    sign_in,
    start_app,
    texts,
)
from tests.app.test_wizard_flow import open_wizard, walk_to_codes


def open_dialogs(at: AppTest) -> list[str]:
    """The titles of the dialogs on screen."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if getattr(node, "type", None) == "dialog":
            found.append(node.proto.dialog.title)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def trail(p: Portal, subject: str) -> list[str]:
    with p.db.read() as cur:
        return [e.event for e in audit_store.list_events(cur, subject, limit=500)]


@pytest.fixture
def manager_app(portal: Portal, boss: Identity) -> AppTest:
    at = start_app(portal)
    sign_in(at, "boss")
    return open_manager(at)


def open_action(at: AppTest, username: str, action: str) -> AppTest:
    at.text_input(key=keys.SEARCH).input(username).run()
    select_rows(at, [0], keys.table_key(at.session_state))
    at.button(key=keys.action_key(action)).click().run()
    assert len(open_dialogs(at)) == 1 and "(" + username + ")" in texts(at)
    return at


OUTCOME = {  # action -> the audit event its Confirm writes
    "reset": events.RESET_GRANTED,
    "deactivate": events.DEACTIVATED,
    "disable": events.ACCOUNT_DISABLED,
    "enable": events.ACCOUNT_ENABLED,
    "unlock": events.LOCKOUT_CLEARED,
}
CONFIRM_LABEL = {
    "reset": "Reset 2FA",
    "deactivate": "Deactivate 2FA",
    "disable": "Disable",
    "enable": "Enable",
    "unlock": "Clear lockout",
}


@pytest.mark.parametrize("action", OUTCOME)
def test_manager_dialog_cancel_closes_and_changes_nothing_then_confirm_acts(
    manager_app: AppTest, portal: Portal, boss: Identity, clock: FixedClock, action: str
) -> None:
    alice = add_person(portal, "alice")
    enrol(portal, clock, alice)
    if action == "enable":  # something for each action to undo
        manager_actions.set_disabled(portal, boss, [alice.user_id], True, "set-up", "t")
    if action == "unlock":
        person = start_app(portal)
        for _ in range(portal.settings.lockout_after):
            sign_in(person, "alice", "wrong password!")
            clock.advance(minutes=2)
    at = open_action(manager_app, "alice", action)
    confirm = at.button(key=keys.CONFIRM)
    assert confirm.label == CONFIRM_LABEL[action] and confirm.proto.type == "primary"
    assert at.button(key=keys.CANCEL).proto.type == "secondary"
    at.text_input(key=keys.REASON).input("should not happen")
    at.button(key=keys.CANCEL).click().run()
    assert not at.exception
    assert open_dialogs(at) == [] and keys.DIALOG not in at.session_state
    assert OUTCOME[action] not in trail(portal, "alice")
    assert not at.success

    # Opened again, it starts afresh (no old reason) and Confirm does what it says.
    at = open_action(at, "alice", action)
    assert at.text_input(key=keys.REASON).value == ""
    at.text_input(key=keys.REASON).input("asked by phone")
    at.button(key=keys.CONFIRM).click().run()
    assert not at.exception
    assert open_dialogs(at) == [] and keys.DIALOG not in at.session_state
    assert OUTCOME[action] in trail(portal, "alice")
    assert any("alice" in s.value for s in at.success)


def test_create_user_dialog_cancel_creates_nobody(manager_app: AppTest, portal: Portal) -> None:
    at = manager_app
    at.button(key=keys.action_key("create")).click().run()
    assert open_dialogs(at) == ["Create user"]
    at.text_input(key=keys.NEW_USERNAME).input("henry")
    at.button(key=keys.CANCEL).click().run()
    assert open_dialogs(at) == [] and keys.DIALOG not in at.session_state
    assert "henry" not in at.dataframe[0].value["username"].tolist()
    at.button(key=keys.action_key("create")).click().run()
    assert at.text_input(key=keys.NEW_USERNAME).value == ""  # Cancel forgot the typing


@pytest.fixture
def wizard_app(app: AppTest, portal: Portal, clock: FixedClock) -> AppTest:
    add_person(portal, "alice")
    app.run()
    sign_in_page(app, "alice")
    open_wizard(app)
    walk_to_codes(app, clock)
    app.button(key="wz_close").click().run()
    assert open_dialogs(app) == ["Close the set-up?"]
    return app


def test_wizard_keep_going_closes_the_dialog_and_stays_on_the_step(wizard_app: AppTest) -> None:
    at = wizard_app
    at.button(key="wz_close_no").click().run()
    assert open_dialogs(at) == [] and state.DIALOG not in at.session_state
    assert at.session_state[state.WIZARD].step == "codes"
    assert "Set-up was closed" not in texts(at)


def test_wizard_close_setup_closes_the_dialog_and_the_wizard(
    wizard_app: AppTest, portal: Portal
) -> None:
    at = wizard_app
    at.button(key="wz_close_yes").click().run()
    assert open_dialogs(at) == [] and state.WIZARD not in at.session_state
    assert "Set-up was closed before it finished" in texts(at)
    assert not enrolment.state(portal, at.session_state["identity"]).enabled


@pytest.fixture
def enabled_app(app: AppTest, portal: Portal, clock: FixedClock) -> AppTest:
    """alice with 2FA on, signed in with a code (fresh), on the two-factor page."""
    secret, _, _ = enrol(portal, clock, add_person(portal, "alice"))
    app.run()
    sign_in_page(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    clock.advance(seconds=30)
    return app.switch_page(page_path("two_factor")).run()


def test_regenerate_dialog_cancel_keeps_the_codes_and_confirm_replaces_them(
    enabled_app: AppTest, portal: Portal
) -> None:
    at = enabled_app
    who = at.session_state["identity"]
    at.button(key="mg_codes").click().run()
    at.button(key="mg_regen_open").click().run()
    assert open_dialogs(at) == ["Generate new backup codes?"]
    assert at.button(key="mg_regen_yes").proto.type == "primary"
    assert at.button(key="mg_regen_no").label == "Cancel"
    at.button(key="mg_regen_no").click().run()
    assert open_dialogs(at) == [] and state.DIALOG not in at.session_state
    assert events.CODES_REGENERATED not in trail(portal, "alice")
    at.button(key="mg_regen_open").click().run()
    at.button(key="mg_regen_yes").click().run()
    assert open_dialogs(at) == [] and state.DIALOG not in at.session_state
    assert "New backup codes generated" in texts(at)
    assert events.CODES_REGENERATED in trail(portal, "alice")
    assert self_service.backup_codes_left(portal, who) == 10


def test_deactivate_dialog_cancel_keeps_2fa_and_confirm_turns_it_off(
    enabled_app: AppTest, portal: Portal
) -> None:
    at = enabled_app
    who = at.session_state["identity"]
    at.button(key="mg_deactivate").click().run()
    at.button(key="mg_deactivate_open").click().run()
    assert open_dialogs(at) == ["Deactivate two-factor authentication?"]
    yes = at.button(key="mg_deactivate_yes")
    assert (yes.label, yes.proto.type) == ("Deactivate 2FA", "primary")
    at.button(key="mg_deactivate_no").click().run()
    assert open_dialogs(at) == [] and state.DIALOG not in at.session_state
    assert enrolment.state(portal, who).enabled
    at.button(key="mg_deactivate_open").click().run()
    at.button(key="mg_deactivate_yes").click().run()
    assert open_dialogs(at) == []
    assert "Two-factor authentication is now off." in texts(at)
    assert not enrolment.state(portal, who).enabled
