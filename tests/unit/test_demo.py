"""Trainer demo mode: seeding every state, the virtual authenticator, reset, and the guard."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal import cli, demo, demo_codes
from portal.access import accounts, sessions
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import ClockSkew, InvalidState, NotADemoDatabase, PermissionDenied, Throttled
from portal.manager import actions
from portal.models import FactorStatus, Role, User
from portal.settings import Settings
from portal.twofactor import enrolment, second_factor, self_service, totp
from store import factors as factor_store
from store import users as user_store
from tests.conftest import PASSWORD, add_user, enrol


@pytest.fixture
def demo_portal(settings: Settings, clock: FixedClock) -> Iterator[Portal]:
    p = open_portal(dataclasses.replace(settings, demo=True), clock)
    demo.seed(p)
    yield p
    p.db.close()


def user(p: Portal, name: str) -> User:
    with p.db.read() as cur:
        found = user_store.get_user_by_username(cur, name)
    assert found is not None
    return found


def sign_in_outcome(p: Portal, name: str) -> str:
    """What the password step of sign-in says for a demo account."""
    try:
        return str(accounts.sign_in_password(p, name, demo.PASSWORD, "test").next)
    except Throttled as exc:
        return "locked" if exc.locked else "throttled"


EXPECTED = {
    # username: (sign-in after the password, 2FA on, wizard pending, backup codes left)
    "manager": ("code", True, False, 10),
    "trainer": ("done", False, False, None),
    "ada": ("code", True, False, 10),
    "ben": ("done", False, True, None),
    "cleo": ("done", False, False, None),
    "dan": ("locked", True, False, 10),
    "eve": ("wizard", False, False, None),
    "finn": ("code", True, False, 2),
}


def assert_seeded_states(p: Portal) -> None:
    """Every demo account is in the state it was seeded in, checked through the services."""
    assert {a.username for a in demo.ACCOUNTS} == set(EXPECTED)
    assert {a.state for a in demo.ACCOUNTS} == set(demo.State)
    now = p.now()
    eve = user(p, "eve")
    assert eve.reset_open(now) and eve.reset_granted_by == "manager"
    assert user(p, "manager").role is Role.SECURITY_MANAGER
    for name, (outcome, enabled, pending, left) in EXPECTED.items():
        person = user(p, name)
        who = accounts.identity_for(person, now, None)
        state = enrolment.state(p, who)
        assert (state.enabled, state.pending) == (enabled, pending), name
        assert self_service.backup_codes_left(p, who) == left, name
        assert not person.disabled, name
        # Last, as it changes the state (eve's grant is used; dan stays locked).
        assert sign_in_outcome(p, name) == outcome, name
    assert 0 < EXPECTED["finn"][3] <= p.settings.backup_codes_low


def test_seed_creates_every_state(demo_portal):
    assert demo.is_demo_database(demo_portal)
    assert demo.demo_mode(demo_portal)
    assert_seeded_states(demo_portal)


def test_the_current_code_signs_in_right_after_seeding(demo_portal):
    # Seeding verified each key with the previous step's code, so "each code works once" does
    # not refuse the code the class sees first.
    ada = user(demo_portal, "ada")
    [entry] = demo_codes.authenticator(demo_portal, ada.id)
    assert not entry.pending
    verified = second_factor.verify_sign_in(
        demo_portal, ada.id, demo_portal.now(), entry.shown, "test"
    )
    assert verified.identity.username == "ada"


def test_authenticator_computes_codes_from_the_stored_key_like_a_phone(demo_portal):
    now = demo_portal.now()
    ada, ben, cleo = user(demo_portal, "ada"), user(demo_portal, "ben"), user(demo_portal, "cleo")
    with demo_portal.db.read() as cur:
        key = factor_store.get_factor(cur, ada.id, FactorStatus.ACTIVE)
    assert key is not None
    secret = second_factor.secret_of(demo_portal, key)
    [entry] = demo_codes.authenticator(demo_portal, ada.id)
    assert entry.code == totp.code_at(secret, now)
    assert entry.shown == f"{entry.code[:3]} {entry.code[3:]}"
    assert entry.label == "2FA Portal: ada"
    assert entry.seconds_left == totp.seconds_left(now)
    [off] = demo_codes.authenticator(demo_portal, ada.id, phone_off=True)
    assert off.code == totp.code_at(secret, now + dt.timedelta(minutes=2))
    [pending] = demo_codes.authenticator(demo_portal, ben.id)
    assert pending.pending
    assert demo_codes.authenticator(demo_portal, cleo.id) == []
    assert demo_codes.authenticator(demo_portal, 999_999) == []


def test_a_phone_two_minutes_off_gets_the_wizards_clock_warning(demo_portal):
    ben = user(demo_portal, "ben")
    who = accounts.identity_for(ben, demo_portal.now(), None)
    [off] = demo_codes.authenticator(demo_portal, ben.id, phone_off=True)
    with pytest.raises(ClockSkew, match="about 2 minute"):
        enrolment.verify(demo_portal, who, off.shown, "test")
    [right] = demo_codes.authenticator(demo_portal, ben.id)
    enrolment.verify(demo_portal, who, right.shown, "test")
    assert enrolment.state(demo_portal, who).pending_verified


def test_reset_restores_every_state(demo_portal, clock):
    p = demo_portal
    # A class at work: the trainer turns 2FA on, eve uses her reset, the manager clears dan's
    # lockout and adds an account, ada changes her password and deactivates 2FA.
    trainer = accounts.identity_for(user(p, "trainer"), p.now(), None)
    enrol(p, clock, trainer)
    assert accounts.sign_in_password(p, "eve", demo.PASSWORD, "test").next is accounts.Next.WIZARD
    manager = accounts.identity_for(user(p, "manager"), p.now(), p.now())
    actions.clear_lockout(p, manager, [user(p, "dan").id], "class", "test")
    extra = actions.create_account_for(p, manager, "zoe", PASSWORD)
    ada = accounts.identity_for(user(p, "ada"), p.now(), p.now())
    accounts.change_password(p, ada, demo.PASSWORD, PASSWORD + "!", PASSWORD + "!", "test")
    self_service.deactivate(p, ada, "test")
    ticket = sessions.issue_ticket(p, ada, "browser-1", "test")
    sessions.redeem_ticket(p, ticket.ticket, "browser-1", "Firefox")
    assert sessions.check(p, ticket.session_id) is None  # signed in
    clock.advance(minutes=3)

    seeded = demo.reset(p, manager, "test")

    assert seeded.accounts == demo.ACCOUNTS
    assert_seeded_states(p)
    assert sessions.check(p, ticket.session_id) is not None  # everyone is signed out
    assert user(p, "zoe").disabled  # the store cannot delete an account: it cannot sign in
    assert extra.id == user(p, "zoe").id


def test_only_the_trainer_or_a_manager_may_reset_the_demo(demo_portal, clock):
    p = demo_portal
    learner = accounts.identity_for(user(p, "ada"), p.now(), p.now())
    for nobody in (None, learner):
        with pytest.raises(PermissionDenied, match="trainer or a security manager"):
            demo.reset(p, nobody, "test")
    # A manager of the demo demoted meanwhile is refused too: the database decides, not the tab.
    manager = accounts.identity_for(user(p, "manager"), p.now(), p.now())
    with p.db.write() as cur:
        cur.execute("UPDATE users SET disabled = true WHERE username = 'manager'")
    with pytest.raises(PermissionDenied):
        demo.reset(p, manager, "test")
    assert demo.reset(p, accounts.identity_for(user(p, "trainer"), p.now(), None), "test")
    assert not demo.may_reset(learner) and demo.may_reset(manager)


def test_reset_is_refused_outside_demo_mode(demo_portal, settings, clock):
    demo_portal.db.close()
    off = open_portal(settings, clock)  # the same demo database, PORTAL_DEMO not set
    try:
        assert demo.is_demo_database(off)
        assert not demo.demo_mode(off)
        with pytest.raises(NotADemoDatabase):
            demo.reset(off, accounts.identity_for(user(off, "trainer"), off.now(), None), "test")
        with pytest.raises(NotADemoDatabase):
            demo_codes.authenticator(off, user(off, "ada").id)
    finally:
        off.db.close()


# --- demo mode can never be switched on for a non-demo database -----------------------------


@pytest.fixture
def real_database(portal: Portal, clock: FixedClock) -> Portal:
    """A real database: an account with 2FA on, never seeded as a demo."""
    enrol(portal, clock, add_user(portal, "alice"))
    return portal


def test_demo_flag_on_a_real_database_is_refused(real_database, settings, clock):
    real_database.db.close()
    p = open_portal(dataclasses.replace(settings, demo=True), clock)
    try:
        assert not demo.is_demo_database(p)
        with pytest.raises(NotADemoDatabase, match="not a demo database"):
            demo.demo_mode(p)
        alice = user(p, "alice")
        with pytest.raises(NotADemoDatabase):
            demo_codes.authenticator(p, alice.id)
        with pytest.raises(NotADemoDatabase):
            demo.reset(p, accounts.identity_for(alice, p.now(), p.now()), "test")
        # Seeding never turns real data into a demo.
        with pytest.raises(InvalidState, match="empty database"):
            demo.seed(p)
        assert not demo.is_demo_database(p)
        assert enrolment.state(p, accounts.identity_for(alice, p.now(), None)).enabled
    finally:
        p.db.close()


def test_demo_flag_on_an_empty_database_is_refused_too(settings, clock):
    p = open_portal(dataclasses.replace(settings, demo=True), clock)
    try:
        with pytest.raises(NotADemoDatabase):
            demo.demo_mode(p)
    finally:
        p.db.close()


def test_seeding_twice_is_refused(demo_portal):
    with pytest.raises(InvalidState):
        demo.seed(demo_portal)


def test_portal_serve_refuses_the_demo_flag_on_a_real_database(
    real_database, settings, monkeypatch, capsys
):
    real_database.db.close()
    monkeypatch.setenv("PORTAL_DEMO", "1")
    monkeypatch.setenv("PORTAL_SECRET_KEY", settings.secret_key or "")

    def no_server(*args: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(cli.os, "execve", no_server)
    assert cli.main(["serve", "--db", settings.db_path]) == 2
    assert "not a demo database" in capsys.readouterr().err


def test_portal_demo_seeds_a_fresh_database_in_a_temporary_folder(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(cli.tempfile, "tempdir", None)  # re-read TMPDIR
    monkeypatch.setenv("PORTAL_DEMO", "0")  # restored afterwards: `portal demo` sets it
    served = {}

    def fake_serve(db_path: str, port: int, address: str) -> int:
        served.update(db=db_path, port=port, address=address, demo=cli.os.environ["PORTAL_DEMO"])
        return 0

    monkeypatch.setattr(cli, "serve", fake_serve)
    assert cli.main(["demo", "--port", "8765"]) == 0
    out = capsys.readouterr().out
    for account in demo.ACCOUNTS:
        assert account.username in out
    assert demo.PASSWORD in out
    assert served["port"] == 8765 and served["address"] == "127.0.0.1" and served["demo"] == "1"
    assert Path(served["db"]).parent.parent == tmp_path
    p = open_portal(Settings(db_path=served["db"], demo=True))
    try:
        assert demo.demo_mode(p)
    finally:
        p.db.close()


def test_describe_lists_every_account_with_its_state(demo_portal):
    lines = demo.describe(demo.Seeded(demo.ACCOUNTS, demo.PASSWORD, 0.42))
    assert demo.PASSWORD in lines[0]
    for account, line in zip(demo.ACCOUNTS, lines[1:], strict=False):
        assert account.username in line and str(account.state) in line
    assert lines[-1] == "Seeded in 0.4 s."
