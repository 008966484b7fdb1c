"""PostgreSQL restarted (or down) in the middle of a sign-in, on a cluster of this module's own.

The person gets success or the clear "try again" message, never a traceback; the pool recovers
by itself on the next request (the same Portal, never reopened); nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from portal import crypto, events
from portal.access import accounts
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import StoreUnavailable
from portal.models import FactorStatus
from portal.settings import Settings
from portal.twofactor import backup_codes, enrolment, second_factor, totp
from store import audit as audit_store
from store import factors as factor_store
from tests.conftest import PASSWORD, START, add_user, enrol
from tests.store import postgres

SRC = "10.0.0.1 browser"


class RestartingClock(FixedClock):
    """A fixed clock that restarts the server when read for the n-th time after arm(n).

    The services read the clock inside their transactions, so this puts the restart at an
    exact point of one (the server ends the open transaction, as a real restart does).
    """

    def __init__(self, server: postgres.Server) -> None:
        super().__init__(START)
        self.server, self.countdown, self.restarts = server, 0, 0

    def arm(self, n: int) -> None:
        self.countdown = n

    def now(self) -> dt.datetime:
        if self.countdown:
            self.countdown -= 1
            if not self.countdown:
                self.server.restart()
                self.restarts += 1
        return super().now()


@pytest.fixture(scope="module")
def server() -> Iterator[postgres.Server]:
    with postgres.own_cluster() as started:
        yield started


@pytest.fixture
def portal_on(server: postgres.Server) -> Iterator[tuple[Portal, RestartingClock]]:
    url = postgres.new_database(server.conninfo)
    clock = RestartingClock(server)
    key = crypto.encode_key(crypto.new_key())
    p = open_portal(Settings(db_path=url, secret_key=key, bcrypt_rounds=4), clock)
    yield p, clock
    p.db.close()


def attempt(call: Any) -> Any:
    """The call's result, or the StoreUnavailable a person would read (anything else raises)."""
    try:
        return call()
    except StoreUnavailable as exc:
        assert "please try again" in str(exc), str(exc)
        assert "\n" not in str(exc) and "Traceback" not in str(exc)
        return exc


def events_of(p: Portal, name: str, kind: str) -> int:
    with p.db.read() as cur:
        return sum(1 for e in audit_store.list_events(cur, name) if e.event == kind)


def throttle_rows(p: Portal, user_id: int) -> list[tuple[str, int]]:
    with p.db.read() as cur:
        rows = cur.execute("SELECT scope, failures FROM throttle WHERE user_id = ?", [user_id])
        return sorted((str(s), int(f)) for s, f in rows.fetchall())


def test_a_restart_between_the_password_and_the_code_step(portal_on) -> None:
    p, clock = portal_on
    secret, _codes, who = enrol(p, clock, add_user(p, "alice"))
    ok = accounts.sign_in_password(p, "alice", PASSWORD, SRC)
    assert ok.next is accounts.Next.CODE
    clock.server.restart()  # every pooled connection is now dead
    code = totp.code_at(secret, clock.now())
    done = attempt(lambda: second_factor.verify_sign_in(p, who.user_id, ok.password_at, code, SRC))
    if isinstance(done, StoreUnavailable):  # the person presses the button again
        done = second_factor.verify_sign_in(p, who.user_id, ok.password_at, code, SRC)
    assert done.identity.username == "alice"
    assert events_of(p, "alice", events.SIGN_IN_OK) == 2  # add_user's, and this one
    assert throttle_rows(p, who.user_id) == []  # counted, released, cleared: nothing left over


@pytest.mark.parametrize("reading", range(1, 6))
def test_a_restart_inside_the_code_step_at_each_clock_reading(portal_on, reading: int) -> None:
    p, clock = portal_on
    secret, _codes, who = enrol(p, clock, add_user(p, "bob"))
    ok = accounts.sign_in_password(p, "bob", PASSWORD, SRC)
    code = totp.code_at(secret, clock.now())
    clock.arm(reading)
    done = attempt(lambda: second_factor.verify_sign_in(p, who.user_id, ok.password_at, code, SRC))
    assert clock.restarts == 1
    with p.db.read() as cur:  # the pool recovered: the same Portal reads again
        factor = factor_store.get_factor(cur, who.user_id, FactorStatus.ACTIVE)
    assert factor is not None
    assert not isinstance(done, StoreUnavailable), done  # the transaction ran again, whole
    assert done.identity.username == "bob"
    assert events_of(p, "bob", events.SIGN_IN_OK) == 2  # add_user's, and this one, once
    assert factor.last_step == totp.match_step(secret, code, clock.now(), 1)
    assert throttle_rows(p, who.user_id) == []  # counted once, released, cleared


def test_a_restart_while_backup_codes_are_issued_leaves_all_or_none(portal_on) -> None:
    p, clock = portal_on
    who = add_user(p, "carol")
    view = enrolment.start(p, who, "tab")
    enrolment.verify(p, who, totp.code_at(view.secret, clock.now()), "tab")
    clock.arm(1)  # issue_codes reads the clock once: after the lock, before the codes go in
    got = attempt(lambda: enrolment.issue_codes(p, who, view.factor_id))
    assert clock.restarts == 1
    with p.db.read() as cur:
        stored = factor_store.list_backup_codes(cur, view.factor_id)
    assert not isinstance(got, StoreUnavailable), got
    assert len(got) == len(stored) == p.settings.backup_code_count  # all of them, once
    assert sorted(got) == sorted(backup_codes.decrypt(p, who.user_id, c.code_enc) for c in stored)
    assert enrolment.issue_codes(p, who, view.factor_id)  # and the next request works


def test_a_request_while_the_server_is_down_then_up_again(portal_on) -> None:
    p, clock = portal_on
    secret, _codes, who = enrol(p, clock, add_user(p, "dave"))
    ok = accounts.sign_in_password(p, "dave", PASSWORD, SRC)
    code = totp.code_at(secret, clock.now())
    clock.server.stop()
    try:
        started = time.monotonic()
        down = attempt(
            lambda: second_factor.verify_sign_in(p, who.user_id, ok.password_at, code, SRC)
        )
        waited = time.monotonic() - started
    finally:
        clock.server.start()
    assert isinstance(down, StoreUnavailable), down
    assert waited < 30, waited
    done = second_factor.verify_sign_in(p, who.user_id, ok.password_at, code, SRC)
    assert done.identity.username == "dave"
    assert events_of(p, "dave", events.SIGN_IN_OK) == 2
