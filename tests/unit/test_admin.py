"""Security-manager services: role checks, one transaction per action, audit rows, reports, CSV."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest

from portal import events
from portal.access import accounts, notices, throttle
from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import InvalidCredentials, InvalidInput, NotFound, PermissionDenied
from portal.manager import actions, explore, reports
from portal.models import AuditEvent, FactorStatus, Identity, Role, TwoFactorStatus, UserQuery
from portal.twofactor import totp
from store import audit as audit_store
from store import factors as factor_store
from store import users as user_store
from tests.app.manager_helpers import PASSWORD, add_person, enrol


@pytest.fixture
def alice(p: Portal) -> Identity:
    return add_person(p, "alice")


def last_event(p: Portal, subject: str) -> AuditEvent:
    with p.db.read() as cur:
        return audit_store.list_events(cur, subject, limit=1)[0]


def user(p: Portal, name: str) -> Any:
    with p.db.read() as cur:
        return user_store.get_user_by_username(cur, name)


def factors_of(p: Portal, who: Identity) -> tuple[Any, Any]:
    with p.db.read() as cur:
        return (
            factor_store.get_factor(cur, who.user_id, FactorStatus.ACTIVE),
            factor_store.get_factor(cur, who.user_id, FactorStatus.PENDING),
        )


def test_reset_deletes_key_and_codes_and_opens_a_24_hour_grant(
    p: Portal, clock: FixedClock, boss: Identity, alice: Identity
) -> None:
    secret, codes, _ = enrol(p, clock, alice)
    actions.grant_reset(p, boss, [alice.user_id], "lost phone", "test")
    assert factors_of(p, alice) == (None, None)
    with p.db.read() as cur:
        left = cur.execute(
            "SELECT count(*) FROM backup_codes WHERE user_id = ?", [alice.user_id]
        ).fetchone()
    assert left == (0,)
    granted = user(p, "alice")
    assert granted.reset_granted_at == clock.now()
    assert granted.reset_expires_at == clock.now() + dt.timedelta(hours=24)
    assert granted.reset_granted_by == "boss"
    event = last_event(p, "alice")
    assert (event.event, event.actor, event.subject) == (events.RESET_GRANTED, "boss", "alice")
    assert "lost phone" in (event.detail or "")


def test_reset_grant_is_used_once_at_the_next_password(
    p: Portal, clock: FixedClock, boss: Identity, alice: Identity
) -> None:
    enrol(p, clock, alice)
    actions.grant_reset(p, boss, [alice.user_id], "lost phone", "test")
    first = accounts.sign_in_password(p, "alice", PASSWORD, "test")
    assert first.next is accounts.Next.WIZARD and first.identity is not None
    second = accounts.sign_in_password(p, "alice", PASSWORD, "test")
    assert second.next is accounts.Next.DONE  # an ordinary sign-in: the grant is spent


def test_unused_grant_expires(
    p: Portal, clock: FixedClock, boss: Identity, alice: Identity
) -> None:
    actions.grant_reset(p, boss, [alice.user_id], "lost phone", "test")
    clock.advance(hours=24)
    with pytest.raises(InvalidCredentials, match="expired"):
        accounts.sign_in_password(p, "alice", PASSWORD, "test")
    assert user(p, "alice").reset_open(clock.now()) is False


def test_manager_cannot_reset_themselves_even_among_others(
    p: Portal, boss: Identity, alice: Identity
) -> None:
    with pytest.raises(PermissionDenied, match="your own account"):
        actions.grant_reset(p, boss, [alice.user_id, boss.user_id], "both", "test")
    assert user(p, "alice").reset_expires_at is None  # all or nothing: alice untouched too
    with p.db.read() as cur:
        assert all(e.event != events.RESET_GRANTED for e in audit_store.list_events(cur))


def test_another_manager_can_reset_a_manager(p: Portal, boss: Identity) -> None:
    other = add_person(p, "other", Role.SECURITY_MANAGER)
    actions.grant_reset(p, other, [boss.user_id], "lost phone", "test")
    assert user(p, "boss").reset_expires_at is not None


ACTIONS: dict[str, Callable[[Portal, Identity, int], Any]] = {
    "grant_reset": lambda p, who, uid: actions.grant_reset(p, who, [uid], "why", "t"),
    "deactivate_for": lambda p, who, uid: actions.deactivate_for(p, who, [uid], "why", "t"),
    "set_disabled": lambda p, who, uid: actions.set_disabled(p, who, [uid], True, "why", "t"),
    "clear_lockout": lambda p, who, uid: actions.clear_lockout(p, who, [uid], "why", "t"),
    "create_account_for": lambda p, who, uid: actions.create_account_for(
        p, who, "newbie", "a long password"
    ),
    "accounts_page": lambda p, who, uid: reports.accounts_page(p, who, UserQuery()),
    "overview": lambda p, who, uid: reports.overview(p, who),
    "enrolments_by_day": lambda p, who, uid: reports.enrolments_by_day(p, who),
    "audit_trail": lambda p, who, uid: reports.audit_trail(p, who, reports.audit_query()),
    "users_csv": lambda p, who, uid: reports.users_csv(p, who, UserQuery()),
    "audit_csv": lambda p, who, uid: reports.audit_csv(p, who, reports.audit_query()),
    "explore": lambda p, who, uid: explore.run_cells(p, who, explore.CELLS),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_plain_user_is_refused_by_every_service(
    p: Portal, boss: Identity, alice: Identity, action: str
) -> None:
    with p.db.read() as cur:
        before = len(audit_store.list_events(cur, limit=1000))
    with pytest.raises(PermissionDenied):
        ACTIONS[action](p, alice, boss.user_id)
    with p.db.read() as cur:
        assert len(audit_store.list_events(cur, limit=1000)) == before


@pytest.mark.parametrize("change", ["demoted", "disabled"])
def test_a_manager_changed_since_sign_in_is_refused(
    p: Portal, boss: Identity, alice: Identity, change: str
) -> None:
    other = add_person(p, "other", Role.SECURITY_MANAGER)
    with p.db.write() as cur:
        if change == "disabled":
            user_store.update_disabled(cur, boss.user_id, True)
        else:
            cur.execute("UPDATE users SET role = 'user' WHERE id = ?", [boss.user_id])
    with pytest.raises(PermissionDenied):  # the session still says manager; the database does not
        actions.grant_reset(p, boss, [alice.user_id], "why", "test")
    actions.grant_reset(p, other, [alice.user_id], "why", "test")


def test_forged_identity_without_account_is_refused(p: Portal, boss: Identity) -> None:
    ghost = dataclasses.replace(boss, user_id=999_999, username="ghost")
    with pytest.raises(PermissionDenied):
        reports.overview(p, ghost)


def test_deactivate_turns_2fa_off_and_cancels_an_open_reset(
    p: Portal, clock: FixedClock, boss: Identity, alice: Identity
) -> None:
    bob = add_person(p, "bob")
    enrol(p, clock, alice)
    actions.grant_reset(p, boss, [bob.user_id], "lost phone", "test")
    actions.deactivate_for(p, boss, [alice.user_id, bob.user_id], "left", "test")
    assert factors_of(p, alice) == (None, None)
    assert user(p, "bob").reset_expires_at is None
    assert last_event(p, "alice").event == events.DEACTIVATED
    assert "already off" in (last_event(p, "bob").detail or "")
    assert accounts.sign_in_password(p, "alice", PASSWORD, "t").next is accounts.Next.DONE
    assert accounts.sign_in_password(p, "bob", PASSWORD, "t").next is accounts.Next.DONE


def test_manager_cannot_deactivate_or_disable_themselves(p: Portal, boss: Identity) -> None:
    with pytest.raises(PermissionDenied):
        actions.deactivate_for(p, boss, [boss.user_id], "why", "test")
    with pytest.raises(PermissionDenied):
        actions.set_disabled(p, boss, [boss.user_id], True, "why", "test")


def test_disabled_account_cannot_sign_in_until_enabled(
    p: Portal, boss: Identity, alice: Identity
) -> None:
    actions.set_disabled(p, boss, [alice.user_id], True, "on leave", "test")
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(p, "alice", PASSWORD, "test")
    actions.set_disabled(p, boss, [alice.user_id], False, "back", "test")
    assert accounts.sign_in_password(p, "alice", PASSWORD, "test").identity is not None
    assert last_event(p, "alice").event == events.SIGN_IN_OK


def test_clear_lockout_ends_a_lockout(
    p: Portal, clock: FixedClock, boss: Identity, alice: Identity
) -> None:
    with p.db.write() as cur:  # the whole account, as failures from many addresses would
        throttle.lock_out(p, cur, alice.user_id, "alice", "test")
    page = reports.accounts_page(p, boss, UserQuery(locked_only=True))
    assert [r.username for r in page.rows] == ["alice"]
    cleared = actions.clear_lockout(p, boss, [alice.user_id, boss.user_id], "called", "test")
    assert [u.username for u in cleared] == ["alice"]  # boss had nothing to clear
    assert accounts.sign_in_password(p, "alice", PASSWORD, "test").identity is not None
    with p.db.read() as cur:
        assert events.LOCKOUT_CLEARED in [e.event for e in audit_store.list_events(cur, "alice")]


def test_create_user_by_a_manager(p: Portal, boss: Identity) -> None:
    made = actions.create_account_for(p, boss, "Newbie", "a long password", Role.USER, "New Bie")
    assert (made.username, made.display_name) == ("newbie", "New Bie")
    assert (last_event(p, "newbie").actor, last_event(p, "newbie").event) == (
        "boss",
        events.ACCOUNT_CREATED,
    )
    with pytest.raises(InvalidInput, match="do not match"):
        actions.create_account_for(p, boss, "other", "a long password", confirm="a long passw0rd")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_actions_need_a_short_reason(
    p: Portal, boss: Identity, alice: Identity, reason: str
) -> None:
    with pytest.raises(InvalidInput):
        actions.grant_reset(p, boss, [alice.user_id], reason, "test")
    assert user(p, "alice").reset_expires_at is None


def test_unknown_or_missing_targets(p: Portal, boss: Identity) -> None:
    with pytest.raises(NotFound):
        actions.grant_reset(p, boss, [424242], "why", "test")
    with pytest.raises(InvalidInput):
        actions.grant_reset(p, boss, [], "why", "test")


def test_overview_and_statuses(p: Portal, clock: FixedClock, boss: Identity) -> None:
    on = add_person(p, "on")
    enrol(p, clock, on)
    half = add_person(p, "half")
    from portal.twofactor import enrolment

    enrolment.start(p, half, "test")
    reset = add_person(p, "reset")
    actions.grant_reset(p, boss, [reset.user_id], "why", "test")
    o = reports.overview(p, boss)
    assert (o.accounts, o.enabled, o.pending, o.reset_granted, o.off) == (4, 1, 1, 1, 1)
    assert o.codes_low == 0 and o.locked == 0 and o.disabled == 0
    rows = {r.username: r for r in reports.accounts_page(p, boss, UserQuery()).rows}
    assert rows["on"].status is TwoFactorStatus.ENABLED
    assert rows["on"].backup_codes_left == p.settings.backup_code_count
    assert rows["half"].status is TwoFactorStatus.PENDING
    assert rows["reset"].status is TwoFactorStatus.RESET_GRANTED
    assert rows["boss"].status is TwoFactorStatus.OFF
    clock.advance(hours=25)  # the grant lapsed unused: off again
    assert reports.overview(p, boss).reset_granted == 0


def test_enrolments_by_day_fills_empty_days(p: Portal, clock: FixedClock, boss: Identity) -> None:
    enrol(p, clock, add_person(p, "one"))
    clock.advance(days=2)
    enrol(p, clock, add_person(p, "two"))
    enrol(p, clock, add_person(p, "three"))
    days = reports.enrolments_by_day(p, boss, 5)
    assert [d for d, _ in days][-1] == clock.now().date()
    assert [n for _, n in days] == [0, 0, 1, 0, 2]


def test_the_overview_counts_not_me_reports_of_the_last_30_days(
    p: Portal, clock: FixedClock, boss: Identity
) -> None:
    alice = add_person(p, "alice")
    assert reports.disputed_notices(p, boss) == 0
    notices.dispute(p, alice, [], "test")
    clock.advance(days=20)
    notices.dispute(p, alice, [], "test")
    assert reports.disputed_notices(p, boss) == 2
    clock.advance(days=15)  # the first report is now 35 days old
    assert reports.disputed_notices(p, boss) == 1
    with pytest.raises(PermissionDenied):
        reports.disputed_notices(p, alice)


def test_list_users_clamps_the_page(p: Portal, boss: Identity) -> None:
    for k in range(5):
        add_person(p, f"user{k}")
    page = reports.accounts_page(p, boss, UserQuery(), page=99, size=2)
    assert (page.page, page.pages, page.total) == (3, 3, 6)
    assert [r.username for r in page.rows] == ["user3", "user4"]  # boss, user0 ... user4
    with pytest.raises(ValueError):
        reports.accounts_page(p, boss, UserQuery(sort="password_hash"))


def test_audit_query_covers_whole_days(p: Portal, clock: FixedClock, boss: Identity) -> None:
    day = clock.now().date()
    q = reports.audit_query("Boss", [events.SIGN_IN_OK], day, day)
    assert q.start == dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    assert q.end == q.start + dt.timedelta(days=1)
    assert reports.audit_trail(p, boss, q).total == 1
    clock.advance(days=1)
    accounts.sign_in_password(p, "boss", PASSWORD, "test")
    assert reports.audit_trail(p, boss, q).total == 1  # tomorrow's sign-in is outside the range
    with pytest.raises(InvalidInput):
        reports.audit_query(event_names=["no_such_event"])


def test_csv_exports_are_newest_first_and_defuse_formulas(
    p: Portal, clock: FixedClock, boss: Identity
) -> None:
    # The source (address and browser) comes from the request: an attacker controls it.
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(p, "nobody", "x", '=HYPERLINK("http://evil")')
    clock.advance(minutes=1)
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(p, "boss", "wrong password", "@SUM(1)")
    rows = list(csv.DictReader(io.StringIO(reports.audit_csv(p, boss, reports.audit_query()))))
    assert rows[0]["source"] == "'@SUM(1)"
    assert rows[1]["source"].startswith("'=HYPERLINK")
    assert rows[1]["subject"] == ""  # an unknown username is not kept: it may be a password
    assert rows[0]["occurred_at"] == "2026-03-02 09:01:00+00:00"
    for k in range(3):
        add_person(p, f"user{k}")
    text = reports.users_csv(p, boss, UserQuery(search="user"), limit=2)
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == ["id", "username", "display_name"]
    assert [line[1] for line in lines[1:]] == ["user0", "user1"]
    assert "password" not in lines[0]
    assert not any("$2b$" in cell for line in lines for cell in line)  # no bcrypt hash


def test_old_code_stops_working_at_once(
    p: Portal, clock: FixedClock, boss: Identity, alice: Identity
) -> None:
    from portal.errors import InvalidCode
    from portal.twofactor import second_factor

    secret, codes, _ = enrol(p, clock, alice)
    password_at = clock.now()
    actions.grant_reset(p, boss, [alice.user_id], "stolen phone", "test")
    for code in (totp.code_at(secret, clock.now()), codes[0]):
        with pytest.raises(InvalidCode):
            second_factor.verify_sign_in(p, alice.user_id, password_at, code, "test")


@pytest.mark.parametrize("action", ["reset", "disable"])
def test_reset_and_disable_end_the_persons_open_sessions(
    p: Portal, boss: Identity, alice: Identity, action: str
) -> None:
    from portal.access import sessions

    ticket = sessions.issue_ticket(p, alice, "alice-browser", "test")
    mine = sessions.issue_ticket(p, boss, "boss-browser", "test")
    assert sessions.check(p, ticket.session_id) is None
    if action == "reset":
        actions.grant_reset(p, boss, [alice.user_id], "stolen bag", "test")
    else:
        actions.set_disabled(p, boss, [alice.user_id], True, "stolen bag", "test")
    assert "ended" in (sessions.check(p, ticket.session_id) or "")
    assert sessions.check(p, mine.session_id) is None  # the manager stays signed in
    ended = last_event(p, "alice")
    assert (ended.event, ended.actor) == (events.SESSION_ENDED, "boss")
    assert (ended.detail or "").startswith("1 session(s)")
