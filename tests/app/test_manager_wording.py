"""Issue 16 items 5, 6 and 15 (lockout) through AppTest: the manager's table and trail in
words (no "None", readable event names with the raw one kept), required fields marked before
submit, the refusal about one's own account naming the right place, and a lockout message that
says when to try again and whom to ask."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from portal import demo, events
from portal.access import accounts
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import PermissionDenied, Throttled
from portal.manager import actions, reports
from portal.models import Identity, Role
from portal.settings import Settings
from portal.ui.manager import keys, users
from portal.ui.nav import TITLES
from store import users as user_store
from tests.app.manager_helpers import (
    PASSWORD,
    START,
    add_person,
    enrol,
    open_manager,
    select_rows,
    sign_in,
    start_app,
    texts,
)

HELP = "the IT service desk (ext. 4357)"
NEVER_FINISHED = {demo.State.PENDING, demo.State.NOT_ENROLLED}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with a help contact of this organisation's own."""
    return dataclasses.replace(settings, help_contact=HELP)


@pytest.fixture
def manager_app(portal: Portal, boss: Identity) -> AppTest:
    return open_manager(sign_in(start_app(portal), "boss"))


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def test_the_accounts_table_has_no_none_in_any_cell(
    portal: Portal, clock: FixedClock, boss: Identity
) -> None:
    enrol(portal, clock, add_person(portal, "alice", display="Alice Example"))
    accounts.create_account(portal, None, "newbie", PASSWORD, Role.USER)  # never signed in
    at = open_manager(sign_in(start_app(portal), "boss"))
    table = at.dataframe[0]
    df = table.value.set_index("username", drop=False)
    for column in users.SHOWN:
        for username, value in df[column].items():
            # The only empty cell: backup codes of someone without 2FA, shown as a dash.
            if column == "backup_codes_left" and df.loc[username, "status"] != "enabled":
                assert _missing(value), (username, value)
                continue
            assert not _missing(value), (column, username)
            assert str(value) not in {"None", "nan", "NaT", "<NA>"}, (column, username, value)
    assert table.proto.placeholder == users.NOT_APPLICABLE == "—"
    assert df.loc["newbie", "last_sign_in_at"] == "never"
    assert df.loc["newbie", "enrolled_at"] == ""
    assert df.loc["alice", "enrolled_at"] == f"{START:%Y-%m-%d}"
    assert df.loc["alice", "backup_codes_left"] == portal.settings.backup_code_count
    assert df.loc["boss", "role"] == "security manager"
    assert df.loc["boss", "last_sign_in_at"] == f"{clock.now():%Y-%m-%d %H:%M}"


def test_the_audit_trail_shows_readable_names_and_keeps_the_raw_one(
    manager_app: AppTest, portal: Portal, clock: FixedClock
) -> None:
    add_person(portal, "gina")
    person = start_app(portal)
    for _ in range(portal.settings.lockout_after):  # a lockout has no actor: the portal's own
        sign_in(person, "gina", "wrong password!")
        clock.advance(minutes=2)
    at = open_manager(manager_app, "Audit trail")
    picker = at.multiselect(key=keys.AU_EVENTS)
    assert "Signed in" in picker.options and events.SIGN_IN_OK not in picker.options
    at.text_input(key=keys.AU_PERSON).input("gina").run()
    shown = at.dataframe[0].value
    assert not shown.isna().any().any()
    assert "None" not in shown.astype(str).to_numpy()
    names = dict(zip(shown["event"], shown["label"], strict=True))
    assert names[events.SIGN_IN_OK] == "Signed in"
    assert names[events.SIGN_IN_FAILED] == "Sign-in failed"
    assert names[events.LOCKOUT] == "Locked out"
    assert shown.loc[shown["event"] == events.LOCKOUT, "actor"].tolist() == [""]
    # The page shows the label; the raw name (what Explore's SQL sees) is a column too.
    config = json.loads(at.dataframe[0].proto.columns)
    assert (config["label"]["label"], config["event"]["label"]) == ("Event", "Name in Explore")
    picker = at.multiselect(key=keys.AU_EVENTS)
    picker.select(events.LOCKOUT).run()
    assert at.dataframe[0].value["event"].tolist() == [events.LOCKOUT]


def test_every_event_has_one_readable_label() -> None:
    assert set(events.LABELS) == set(events.ALL)
    labels = list(events.LABELS.values())
    assert len(set(labels)) == len(labels)  # two events never read the same
    for name, label in events.LABELS.items():
        assert label != name and "_" not in label, name
    assert events.label("an_event_from_a_newer_version") == "an_event_from_a_newer_version"


def test_required_fields_are_marked_before_submit(portal: Portal) -> None:
    first = start_app(portal)  # an empty database: the first-run page
    for key in ("fr_username", "fr_password", "fr_confirm"):
        assert first.text_input(key=key).proto.required, key

    accounts.create_first_manager(portal, "boss", PASSWORD, PASSWORD, "test")
    at = open_manager(sign_in(start_app(portal), "boss"))
    at.button(key=keys.action_key("create")).click().run()
    required = {
        key: at.text_input(key=key).proto.required
        for key in (keys.NEW_USERNAME, keys.NEW_DISPLAY, keys.NEW_PASSWORD, keys.NEW_CONFIRM)
    }
    assert required == {
        keys.NEW_USERNAME: True,
        keys.NEW_DISPLAY: False,  # the one optional field
        keys.NEW_PASSWORD: True,
        keys.NEW_CONFIRM: True,
    }
    at.button(key=keys.CANCEL).click().run()
    add_person(portal, "alice")
    at = open_manager(at)
    select_rows(at, [0], keys.table_key(at.session_state))
    at.button(key=keys.action_key("unlock")).click().run()
    assert at.text_input(key=keys.REASON).proto.required


@pytest.mark.parametrize("action", ["disable", "reset", "deactivate"])
def test_acting_on_ones_own_account_says_where_to_go_instead(
    manager_app: AppTest, portal: Portal, boss: Identity, action: str
) -> None:
    at = manager_app
    at.text_input(key=keys.SEARCH).input("boss").run()
    at = select_rows(at, [0], keys.table_key(at.session_state))
    at.button(key=keys.action_key(action)).click().run()
    said = " ".join(w.value for w in at.warning)
    assert "Configure two-factor authentication" not in said
    if action == "disable":
        assert "cannot disable your own account" in said
        assert "another security manager can do that for you" in said
    else:
        assert f"*{TITLES['two_factor'][0]}* in the sidebar" in said
    assert at.button(key=keys.CONFIRM).disabled
    with pytest.raises(PermissionDenied):  # the service refuses too, whatever the page does
        actions.set_disabled(portal, boss, [boss.user_id], True, "test", "test")


def test_the_lockout_message_says_when_to_try_again_and_whom_to_ask(
    portal: Portal, clock: FixedClock
) -> None:
    add_person(portal, "gina")
    person = start_app(portal)
    limit = portal.settings.lockout_after
    for _ in range(limit):
        sign_in(person, "gina", "wrong password!")
        clock.advance(minutes=2)  # past the back-off delays
    locked_at = START + dt.timedelta(minutes=2 * (limit - 1))
    until = locked_at + dt.timedelta(minutes=portal.settings.lockout_minutes)
    left = (until - clock.now()).total_seconds() / 60
    said = texts(sign_in(person, "gina"))
    assert f"Sign-in is locked until {until:%H:%M} UTC (in about {round(left)} minutes)" in said
    assert f"ask {HELP} to unlock it sooner" in said


def test_the_default_help_contact_is_the_security_manager() -> None:
    assert Settings().help_contact == "your security manager"
    at = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
    said = str(Throttled(60, True, at))
    assert said.endswith(
        "until 09:15 UTC (in about 1 minute): try again then, or ask your "
        "security manager to unlock it sooner."
    )


def test_the_enrolment_chart_counts_people_not_demo_resets(
    settings: Settings, clock: FixedClock
) -> None:
    p = open_portal(dataclasses.replace(settings, demo=True), clock)
    try:
        demo.seed(p)
        with p.db.read() as cur:
            user = user_store.get_user_by_username(cur, demo.MANAGER)
        assert user is not None
        manager = accounts.identity_for(user, clock.now(), clock.now())
        for _ in range(2):  # a class that reset the demo twice on the day
            clock.advance(minutes=5)
            demo.reset(p, manager, "test")
        enrolled = [a for a in demo.ACCOUNTS if a.state not in NEVER_FINISHED]
        assert reports.enrolments_by_day(p, manager, 1) == [(clock.now().date(), len(enrolled))]
    finally:
        p.db.close()
