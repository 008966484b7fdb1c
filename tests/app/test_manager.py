"""The security-manager page through AppTest, clicked as a manager (and a non-manager) would."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from portal import events
from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import PermissionDenied
from portal.manager import actions, reports
from portal.models import Identity
from portal.twofactor import totp
from portal.ui import state
from portal.ui.manager import keys
from portal.ui.manager import notebooks_keys as nb_keys
from portal.ui.resources import use_portal
from store import audit as audit_store
from tests.app.manager_helpers import (
    MANAGER_PAGE,
    START,
    add_person,
    bulk_people,
    enrol,
    open_manager,
    select_rows,
    sign_in,
    sign_in_code,
    start_app,
    texts,
)


@pytest.fixture
def manager_app(portal: Portal, boss: Identity) -> AppTest:
    at = start_app(portal)
    sign_in(at, "boss")
    return open_manager(at)


def trail(p: Portal, subject: str) -> list[str]:
    """The person's audit events, oldest first."""
    with p.db.read() as cur:
        return [e.event for e in reversed(audit_store.list_events(cur, subject, limit=500))]


def find(at: AppTest, username: str) -> AppTest:
    """Search the table for one person and select their row."""
    at.text_input(key=keys.SEARCH).input(username).run()
    table = at.dataframe[0].value
    assert list(table["username"]) == [username]
    return select_rows(at, [0], keys.table_key(at.session_state))


def confirm(at: AppTest, action: str, reason: str = "lost phone") -> AppTest:
    at.button(key=keys.action_key(action)).click().run()
    at.text_input(key=keys.REASON).input(reason)
    return at.button(key=keys.CONFIRM).click().run()


def test_manager_sees_overview_table_and_tabs(manager_app: AppTest, portal: Portal) -> None:
    at = manager_app
    assert not at.exception
    assert "Security manager" in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accounts"] == "1"
    assert metrics["2FA enabled"] == "0"
    table = at.dataframe[0].value
    assert list(table["username"]) == ["boss"]
    assert "password_hash" not in table.columns


def test_plain_user_cannot_reach_the_page_nor_call_the_service(
    portal: Portal, boss: Identity
) -> None:
    plain = add_person(portal, "plain")
    at = start_app(portal)
    sign_in(at, "plain")
    assert state.identity(at.session_state) is not None  # signed in
    # The page is not in a plain user's navigation at all (typing its URL finds nothing) ...
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(MANAGER_PAGE)
    assert "Security manager" not in [t.value for t in at.title]
    # ... and the services refuse too.
    with pytest.raises(PermissionDenied):
        actions.grant_reset(portal, plain, [boss.user_id], "take over", "test")
    with pytest.raises(PermissionDenied):
        reports.accounts_page(portal, plain, reports.UserQuery())
    assert events.RESET_GRANTED not in trail(portal, "boss")


def test_page_refuses_a_session_that_is_not_a_manager(portal: Portal, boss: Identity) -> None:
    plain = add_person(portal, "plain")
    use_portal(portal)
    at = AppTest.from_file(MANAGER_PAGE, default_timeout=30)
    at.session_state[state.IDENTITY] = plain
    at.run()
    assert "You are not allowed to open this page." in [e.value for e in at.error]
    assert not at.dataframe


def test_reset_sends_the_next_sign_in_straight_to_the_wizard_once(
    manager_app: AppTest, portal: Portal, clock: FixedClock
) -> None:
    alice = add_person(portal, "alice", display="Alice Example")
    enrol(portal, clock, alice)
    at = find(manager_app, "alice")
    at.button(key=keys.action_key("reset")).click().run()
    assert "Alice Example" in texts(at) and "(alice)" in texts(at)
    at.text_input(key=keys.REASON).input("lost her phone")
    at.button(key=keys.CONFIRM).click().run()
    assert not at.exception
    assert any("Reset granted: alice" in s.value for s in at.success)
    assert at.dataframe[0].value["status"].tolist() == ["reset granted"]

    clock.advance(hours=2)
    person = start_app(portal)
    sign_in(person, "alice")
    assert not person.exception
    assert person.session_state[state.FORCED_WIZARD] is True
    assert state.pending(person.session_state) is None  # no code was asked for
    assert "Configure two-factor authentication" in [t.value for t in person.title]
    assert "reset your two-factor" in texts(person)

    # The grant is spent: the next sign-in is an ordinary one (2FA is off until she re-enrols).
    again = start_app(portal)
    sign_in(again, "alice")
    assert state.FORCED_WIZARD not in again.session_state
    steps = trail(portal, "alice")
    assert steps.count(events.RESET_USED) == 1
    assert state.pending(again.session_state) is None  # her old key is gone: no code step
    assert state.identity(again.session_state) is not None


def test_unused_reset_expires_after_24_hours(
    manager_app: AppTest, portal: Portal, clock: FixedClock
) -> None:
    bob = add_person(portal, "bob")
    enrol(portal, clock, bob)
    confirm(find(manager_app, "bob"), "reset")
    clock.advance(hours=24, seconds=1)
    person = start_app(portal)
    sign_in(person, "bob")
    assert "Your two-factor reset has expired" in texts(person)
    assert state.identity(person.session_state) is None
    assert events.RESET_USED not in trail(portal, "bob")


def test_reset_just_inside_24_hours_still_works(
    manager_app: AppTest, portal: Portal, clock: FixedClock
) -> None:
    add_person(portal, "carol")
    confirm(find(manager_app, "carol"), "reset")
    clock.advance(hours=23, minutes=59)
    person = start_app(portal)
    sign_in(person, "carol")
    assert person.session_state[state.FORCED_WIZARD] is True


def test_manager_cannot_reset_themselves(
    manager_app: AppTest, portal: Portal, boss: Identity
) -> None:
    at = find(manager_app, "boss")
    at.button(key=keys.action_key("reset")).click().run()
    assert any("cannot reset your own two-factor" in w.value for w in at.warning)
    assert at.button(key=keys.CONFIRM).disabled  # said before a reason is typed
    assert at.session_state[keys.DIALOG] == "reset"
    with pytest.raises(PermissionDenied, match="cannot reset your own account"):
        actions.grant_reset(portal, boss, [boss.user_id], "testing", "test")  # nor the service
    assert events.RESET_GRANTED not in trail(portal, "boss")


def test_reset_needs_a_reason(manager_app: AppTest, portal: Portal) -> None:
    add_person(portal, "dave")
    at = confirm(find(manager_app, "dave"), "reset", "   ")
    assert any("Give a short reason" in e.value for e in at.error)
    assert events.RESET_GRANTED not in trail(portal, "dave")
    at.button(key=keys.CANCEL).click().run()
    assert keys.DIALOG not in at.session_state


def test_deactivate_turns_two_factor_off(
    manager_app: AppTest, portal: Portal, clock: FixedClock
) -> None:
    erin = add_person(portal, "erin")
    enrol(portal, clock, erin)
    at = manager_app.run()
    assert at.dataframe[0].value.set_index("username").loc["erin", "status"] == "enabled"
    at = confirm(find(at, "erin"), "deactivate", "left the project")
    assert not at.exception
    assert at.dataframe[0].value["status"].tolist() == ["off"]
    person = start_app(portal)
    sign_in(person, "erin")  # password only now: no code step, no wizard
    assert state.identity(person.session_state) is not None
    assert state.pending(person.session_state) is None
    assert state.FORCED_WIZARD not in person.session_state
    assert events.DEACTIVATED in trail(portal, "erin")


def test_disable_and_enable_an_account(manager_app: AppTest, portal: Portal) -> None:
    add_person(portal, "fred")
    at = confirm(find(manager_app, "fred"), "disable", "on leave")
    assert bool(at.dataframe[0].value["disabled"].iloc[0]) is True
    person = start_app(portal)
    sign_in(person, "fred")
    assert state.identity(person.session_state) is None
    at = confirm(select_rows(at, [0], keys.table_key(at.session_state)), "enable", "back")
    assert bool(at.dataframe[0].value["disabled"].iloc[0]) is False
    assert state.identity(sign_in(start_app(portal), "fred").session_state) is not None
    assert [e for e in trail(portal, "fred") if "account_" in e][-2:] == [
        events.ACCOUNT_DISABLED,
        events.ACCOUNT_ENABLED,
    ]


def test_clear_a_lockout(manager_app: AppTest, portal: Portal, clock: FixedClock) -> None:
    add_person(portal, "gina")
    person = start_app(portal)
    for _ in range(portal.settings.lockout_after):
        sign_in(person, "gina", "wrong password!")
        clock.advance(minutes=2)  # past the back-off delays
    assert "locked" in texts(sign_in(person, "gina"))
    at = manager_app.run()
    at.multiselect(key=keys.ONLY).select("Locked out").run()
    assert at.dataframe[0].value["username"].tolist() == ["gina"]
    at = confirm(
        select_rows(at, [0], keys.table_key(at.session_state)), "unlock", "verified by phone"
    )
    assert at.dataframe[0].value.empty  # nobody is locked out any more
    assert state.identity(sign_in(start_app(portal), "gina").session_state) is not None
    assert events.LOCKOUT_CLEARED in trail(portal, "gina")


def test_create_user_from_the_dialog(manager_app: AppTest, portal: Portal) -> None:
    at = manager_app
    at.button(key=keys.action_key("create")).click().run()
    at.text_input(key=keys.NEW_USERNAME).input("Henry")
    at.text_input(key=keys.NEW_DISPLAY).input("Henry Hall")
    at.text_input(key=keys.NEW_PASSWORD).input("a long new password")
    at.text_input(key=keys.NEW_CONFIRM).input("a long new password")
    at.button(key=keys.CONFIRM).click().run()
    assert not at.exception
    assert any("henry" in s.value for s in at.success)
    assert "henry" in at.dataframe[0].value["username"].tolist()
    with portal.db.read() as cur:
        created = audit_store.list_events(cur, "henry")[0]
    assert (created.event, created.actor) == (events.ACCOUNT_CREATED, "boss")


def test_audit_trail_records_each_step(
    manager_app: AppTest, portal: Portal, clock: FixedClock
) -> None:
    ivy = add_person(portal, "ivy")
    secret, _, _ = enrol(portal, clock, ivy)
    person = start_app(portal)
    sign_in(person, "ivy")
    sign_in_code(person, totp.code_at(secret, clock.now()))
    assert state.identity(person.session_state) is not None
    clock.advance(minutes=1)
    confirm(find(manager_app, "ivy"), "reset", "new phone")
    clock.advance(minutes=1)
    sign_in(start_app(portal), "ivy")

    at = open_manager(manager_app, "Audit trail")
    at.text_input(key=keys.AU_PERSON).input("ivy").run()
    shown = at.dataframe[0].value
    expected = [
        events.ACCOUNT_CREATED,
        events.SIGN_IN_OK,
        events.WIZARD_STARTED,
        events.WIZARD_VERIFIED,
        events.WIZARD_COMPLETED,
        events.SIGN_IN_OK,
        events.RESET_GRANTED,
        events.RESET_USED,
        events.SIGN_IN_OK,
    ]
    assert shown["event"].tolist() == list(reversed(expected))  # newest first
    granted = shown[shown["event"] == events.RESET_GRANTED].iloc[0]
    assert (granted["actor"], granted["subject"]) == ("boss", "ivy")
    assert "new phone" in granted["detail"]
    at.multiselect(key=keys.AU_EVENTS).select(events.RESET_GRANTED).select(events.RESET_USED).run()
    assert at.dataframe[0].value["event"].tolist() == [events.RESET_USED, events.RESET_GRANTED]
    today = clock.now().date()
    at.date_input(key=keys.AU_DATES).set_value((today + dt.timedelta(days=1),)).run()
    assert at.dataframe[0].value.empty


def test_table_pages_in_sql(manager_app: AppTest, portal: Portal, clock: FixedClock) -> None:
    people = bulk_people(portal.db, 120, START)
    enabled = int((people["status"] == "enabled").sum())
    clock.advance(seconds=reports.SNAPSHOT_SECONDS)  # past the rows read when the page opened
    at = manager_app.run()
    assert len(at.dataframe[0].value) == reports.PAGE_SIZE
    assert "121 account(s) match · page 1 of 3" in texts(at)
    at.number_input(key=keys.PAGE).set_value(3).run()
    assert len(at.dataframe[0].value) == 21
    at.multiselect(key=keys.STATUS).select("enabled").run()
    assert at.session_state[keys.PAGE] == 1  # a new filter starts at page 1
    table: pd.DataFrame = at.dataframe[0].value
    assert set(table["status"]) == {"enabled"}
    assert f"{enabled} account(s) match" in texts(at)


def test_notebooks_run_the_shipped_cells_and_show_errors_in_the_cell(
    manager_app: AppTest,
) -> None:
    at = open_manager(manager_app, "Notebooks")
    assert not at.exception
    shipped = [b.key for b in at.button if b.key and b.key.startswith("sm_nb_open_")]
    assert len(shipped) == 3
    for key in shipped:
        at.button(key=key).click().run()
        at.button(key=nb_keys.RUN_ALL).click().run()
        assert not at.exception and not at.error
        sql_cells = [c for c in at.session_state[nb_keys.CELLS] if c["kind"] == "sql"]
        assert len(at.dataframe) == len(sql_cells) + 1  # and the version history
        at.button(key=nb_keys.BACK).click().run()
    at.button(key=nb_keys.NEW).click().run()
    first = [c["id"] for c in at.session_state[nb_keys.CELLS] if c["kind"] == "sql"][0]
    source = nb_keys.cell_key("source", first)
    at.text_area(key=source).input("SELECT password_hash FROM user_status")
    at.button(key=nb_keys.cell_key("run", first)).click().run()
    assert any("password_hash" in e.value for e in at.error)
    at.button(key=nb_keys.ADD_SQL).click().run()
    added = at.session_state[nb_keys.CELLS][-1]["id"]
    at.text_area(key=nb_keys.cell_key("source", added)).input("SELECT 1; DELETE FROM audit")
    at.button(key=nb_keys.cell_key("run", added)).click().run()
    assert any("exactly one statement" in e.value for e in at.error)
