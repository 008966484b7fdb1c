"""Crash safety: a portal process killed with SIGKILL loses no committed write and never leaves
2FA half-enabled. The child prints a line only after a transaction committed; the test kills it
at once (no clean shutdown, no checkpoint) and reopens the file in this process."""

import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from portal import crypto, events
from portal.access import accounts
from portal.clock import FixedClock
from portal.context import open_portal
from portal.models import FactorStatus
from portal.settings import Settings
from portal.twofactor import enrolment
from store import audit as audit_store
from store import factors as factor_store
from store import users as user_store
from tests.conftest import PASSWORD, ROOT, START

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = r"""
import datetime as dt, sys, time
from portal.access import accounts
from portal.twofactor import enrolment, totp
from portal.clock import FixedClock
from portal.context import open_portal
from portal.settings import Settings

db, key, task, password = sys.argv[1:5]
clock = FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
p = open_portal(Settings(db_path=db, secret_key=key, bcrypt_rounds=4), clock)


def say(*words):
    print(*words, flush=True)


def enrol_until(name, stop):
    accounts.create_account(p, None, name, password)
    who = accounts.sign_in_password(p, name, password, "child").identity
    view = enrolment.start(p, who, "child")
    say("started", name)
    enrolment.verify(p, who, totp.code_at(view.secret, clock.now()), "child")
    say("verified", name)
    if stop == "verified":
        return
    enrolment.issue_codes(p, who)
    say("codes", name)
    if stop == "codes":
        return
    enrolment.finish(p, who, "child")
    say("finished", name)


if task in ("verified", "codes"):
    enrol_until("alice", task)
    say("waiting")
    time.sleep(600)  # killed here: the wizard is never finished
elif task == "audit":
    accounts.create_account(p, None, "alice", password)
    who = accounts.sign_in_password(p, "alice", password, "child").identity
    for i in range(1_000_000):
        accounts.record_sign_out(p, who, f"loop {i}")
        say(i)
elif task == "enrol-loop":
    for i in range(1_000_000):
        enrol_until(f"user{i}", "finish")
"""


class Child:
    """The portal in another process; lines() yields what it printed, kill() is SIGKILL."""

    def __init__(self, db: Path, key: str, task: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), key, task, PASSWORD],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def wait_for(self, wanted: str, timeout: float = 60) -> None:
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"child ended early: {self.proc.stderr.read()}")
            self.seen.append(line)
            if line == wanted:
                return

    def kill(self) -> list[str]:
        """SIGKILL, then everything it printed (each line was printed after its commit)."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -9
        while (line := self.lines.get(timeout=30)) is not None:
            self.seen.append(line)
        return self.seen


@pytest.fixture
def key() -> str:
    return crypto.encode_key(crypto.new_key())


def reopen(db: Path, key: str):
    return open_portal(
        Settings(db_path=str(db), secret_key=key, bcrypt_rounds=4), FixedClock(START)
    )


@pytest.mark.parametrize("stop", ["verified", "codes"])
def test_killed_before_finish_leaves_a_pending_enrolment_never_2fa(tmp_path, key, stop):
    db = tmp_path / "crash.duckdb"
    child = Child(db, key, stop)
    child.wait_for("waiting")
    child.kill()
    p = reopen(db, key)
    try:
        with p.db.read() as cur:
            user = user_store.get_user_by_username(cur, "alice")
            assert user is not None
            assert factor_store.get_factor(cur, user.id, FactorStatus.ACTIVE) is None
            pending = factor_store.get_factor(cur, user.id, FactorStatus.PENDING)
            trail = [e.event for e in reversed(audit_store.list_events(cur, "alice"))]
        assert pending is not None and pending.verified_at is not None
        assert pending.activated_at is None
        expected = [
            events.ACCOUNT_CREATED,
            events.SIGN_IN_OK,
            events.WIZARD_STARTED,
            events.WIZARD_VERIFIED,
        ]
        assert trail == expected
        # 2FA is really off: the password alone signs in, and the wizard offers to resume.
        result = accounts.sign_in_password(p, "alice", PASSWORD, "test")
        assert result.next is accounts.Next.DONE and result.identity is not None
        state = enrolment.state(p, result.identity)
        assert state.pending and state.pending_verified and not state.enabled
        assert state.codes_issued is (stop == "codes")
    finally:
        p.db.close()


def test_killed_during_audit_writes_loses_no_committed_row(tmp_path, key):
    db = tmp_path / "crash.duckdb"
    child = Child(db, key, "audit")
    child.wait_for("200")
    printed = {int(line) for line in child.kill()}
    p = reopen(db, key)
    try:
        with p.db.read() as cur:
            rows = audit_store.list_events(cur, "alice", limit=10_000_000)
    finally:
        p.db.close()
    stored = sorted(int(e.source.split()[1]) for e in rows if e.event == events.SIGN_OUT)
    assert printed <= set(stored)  # every row the child saw committed is there
    assert stored == list(range(len(stored)))  # and no hole: nothing lost in between
    assert len(stored) - len(printed) <= 1  # at most the one committed before its print


def test_killed_during_enrolments_leaves_each_account_all_on_or_all_off(tmp_path, key):
    db = tmp_path / "crash.duckdb"
    child = Child(db, key, "enrol-loop")
    child.wait_for("finished user3")
    seen = child.kill()
    finished = {line.split()[1] for line in seen if line.startswith("finished")}
    p = reopen(db, key)
    try:
        with p.db.read() as cur:
            users = user_store.list_users(cur)
            on = set()
            for user in users:
                active = factor_store.get_factor(cur, user.id, FactorStatus.ACTIVE)
                trail = {e.event for e in audit_store.list_events(cur, user.username)}
                if active is None:
                    assert events.WIZARD_COMPLETED not in trail, user.username
                    continue
                on.add(user.username)
                assert active.verified_at is not None and active.activated_at is not None
                assert len(factor_store.list_backup_codes(cur, active.id)) == 10
                assert events.WIZARD_COMPLETED in trail
                pending = factor_store.get_factor(cur, user.id, FactorStatus.PENDING)
                assert pending is None, user.username
    finally:
        p.db.close()
    assert finished <= on  # every enrolment the child saw finish survived
    assert len(on - finished) <= 1  # at most the one finished just before the kill
    assert len(users) >= len(finished)
