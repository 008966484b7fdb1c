"""The fast paths of issue 15 stay correct: one commit per code step, atomic, short caches."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portal import events
from portal.access import accounts, notices, throttle
from portal.context import Portal
from portal.errors import InvalidCode, InvalidCredentials
from portal.twofactor import second_factor, totp
from portal.ui import account
from store import audit as audit_store
from store import users as user_store
from tests.conftest import PASSWORD, add_user, enrol

SOURCE = "203.0.113.5 Firefox"


class Injected(Exception):
    """The failure a test puts into one statement."""


class _Cursor:
    """A real cursor that fails the statements a test names (fault injection, not a fake)."""

    def __init__(self, cur: Any, owner: Observed) -> None:
        self._cur, self._owner = cur, owner

    def execute(self, sql: str, params: Any = ()) -> Any:
        if self._owner.fail is not None and self._owner.fail(sql, list(params)):
            raise Injected(sql)
        self._cur.execute(sql, params)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


class Observed:
    """The portal's real database, counting write transactions and able to fail a statement."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.writes = 0
        self.fail: Callable[[str, list[Any]], bool] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextlib.contextmanager
    def read(self) -> Iterator[Any]:
        with self._db.read() as cur:
            yield _Cursor(cur, self)

    @contextlib.contextmanager
    def write(self) -> Iterator[Any]:
        self.writes += 1
        with self._db.write() as cur:
            yield _Cursor(cur, self)

    def transact(self, work: Callable[[Any], Any], attempts: int = 3) -> Any:
        self.writes += 1
        return self._db.transact(lambda cur: work(_Cursor(cur, self)), attempts)


@pytest.fixture
def observed(portal: Portal) -> Iterator[tuple[Portal, Observed]]:
    db = Observed(portal.db)
    yield Portal(db=db, cipher=portal.cipher, settings=portal.settings, clock=portal.clock), db  # type: ignore[arg-type]


def _password_step(p: Portal, name: str) -> accounts.PasswordOk:
    return accounts.sign_in_password(p, name, PASSWORD, SOURCE)


def _throttle_rows(p: Portal) -> int:
    with p.db.read() as cur:
        return int(cur.execute("SELECT count(*) FROM throttle").fetchone()[0])


def test_a_code_step_that_succeeds_is_one_write_transaction(portal, clock, observed):
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    p, db = observed
    with pytest.raises(InvalidCredentials):  # an earlier failure keeps both rows at 1
        accounts.sign_in_password(p, "alice", "wrong password", SOURCE)
    start = _password_step(p, "alice")
    assert _throttle_rows(p) == 2  # the password step's address and account rows, released
    db.writes = 0
    done = second_factor.verify_sign_in(
        p, who.user_id, start.password_at, totp.code_at(secret, clock.now()), SOURCE
    )
    assert db.writes == 1
    assert done.identity.second_factor_at == clock.now()
    assert _throttle_rows(p) == 0  # released and cleared in that one commit
    with p.db.read() as cur:
        assert user_store.get_user(cur, who.user_id).last_sign_in_at == clock.now()
        found = audit_store.list_events(cur, "alice", limit=1)
    assert [(e.event, e.detail) for e in found] == [
        (events.SIGN_IN_OK, "password and second factor")
    ]


@pytest.mark.parametrize("failed_before", [False, True])
def test_a_right_code_on_duckdb_reads_the_counters_and_deletes_them_without_counting(
    portal, clock, observed, failed_before
):
    """DuckDB serialises write transactions: the code step decides from a read and counts only
    a wrong code, so a right one costs a lookup, and the DELETE only if rows are left: a right
    password with no failure before it released its rows to nothing, and they went."""
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    p, db = observed
    if failed_before:
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, "alice", "wrong password", SOURCE)
    start = _password_step(p, "alice")
    assert _throttle_rows(p) == (2 if failed_before else 0)
    statements: list[str] = []
    db.fail = lambda sql, params: statements.append(" ".join(sql.split())) and False
    second_factor.verify_sign_in(
        p, who.user_id, start.password_at, totp.code_at(secret, clock.now()), SOURCE
    )
    db.fail = None
    on_throttle = [s.split()[0] for s in statements if " throttle" in s]
    assert p.db.dialect == "duckdb"
    # the decision read, then (if any are left) both rows go
    assert on_throttle == (["SELECT", "DELETE"] if failed_before else ["SELECT"])
    assert _throttle_rows(p) == 0


def test_a_failed_sign_in_record_rolls_back_the_used_code(portal, clock, observed):
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    p, db = observed
    start = _password_step(p, "alice")
    with p.db.read() as cur:
        before = user_store.get_user(cur, who.user_id).last_sign_in_at
    clock.advance(seconds=1)
    code = totp.code_at(secret, clock.now())
    db.fail = lambda sql, params: (
        sql.startswith("INSERT INTO audit") and events.SIGN_IN_OK in params
    )
    with pytest.raises(Injected):
        second_factor.verify_sign_in(p, who.user_id, start.password_at, code, SOURCE)
    db.fail = None
    with p.db.read() as cur:
        assert [e.event for e in audit_store.list_events(cur, "alice", limit=1)] != [
            events.SIGN_IN_OK
        ]
        assert user_store.get_user(cur, who.user_id).last_sign_in_at == before
    # Nothing of the failed step was kept: the code is not used up, and no attempt stays counted.
    done = second_factor.verify_sign_in(p, who.user_id, start.password_at, code, SOURCE)
    assert done.identity.user_id == who.user_id
    with pytest.raises(InvalidCode):  # and now it is
        second_factor.verify_sign_in(p, who.user_id, start.password_at, code, SOURCE)


def test_a_wrong_code_stays_counted_and_audited(portal, clock, observed):
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    p, _ = observed
    start = _password_step(p, "alice")
    right = totp.code_at(secret, clock.now())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(p, who.user_id, start.password_at, wrong, SOURCE)
    with p.db.read() as cur:
        counts = [r[0] for r in cur.execute("SELECT failures FROM throttle").fetchall()]
        last = audit_store.list_events(cur, "alice", limit=1)[0]
    assert sorted(counts) == [1, 1]
    assert (last.event, last.detail) == (events.CODE_FAILED, "sign-in: wrong authenticator code")


def test_an_existing_counter_at_its_limit_still_refuses(portal, clock):
    who = add_user(portal, "alice")
    limit = portal.settings.lockout_after
    for _ in range(limit):
        with pytest.raises(Exception):  # noqa: B017 - wrong passwords, then the lock
            accounts.sign_in_password(portal, "alice", "wrong password", SOURCE)
        clock.advance(minutes=1)
    with portal.db.write() as cur, pytest.raises(Exception) as refused:
        throttle.reserve(portal, cur, "alice", who.user_id, SOURCE)
    assert type(refused.value).__name__ == "Throttled"


def test_notices_need_the_name_to_match_and_start_after_the_last_acknowledgement(portal, clock):
    who = add_user(portal, "alice")
    with portal.db.write() as cur:
        audit_store.insert_event(cur, clock.now(), events.CODES_VIEWED, "alice", "alice", "t")
    assert len(notices.unseen(portal, who)) == 1
    renamed = dataclasses.replace(who, username="alice2")
    assert notices.unseen(portal, renamed) == []
    clock.advance(seconds=1)
    notices.acknowledge(portal, who)
    assert notices.unseen(portal, who) == []
    clock.advance(seconds=1)
    with portal.db.write() as cur:
        audit_store.insert_event(cur, clock.now(), events.CODE_USED, "alice", "alice", "t")
    assert [n.text for n in notices.unseen(portal, who)] == [notices.TEXT[events.CODE_USED]]


def test_account_panels_reread_after_five_seconds_and_per_person(portal, clock):
    alice, bob = add_user(portal, "alice"), add_user(portal, "bob")
    reads: list[str] = []
    ss: dict[str, Any] = {}

    def show(who: Any) -> str:
        return account.recent(
            ss, clock.now(), who, "notices", lambda: reads.append("r") or who.username
        )

    assert show(alice) == "alice" and len(reads) == 1
    clock.advance(seconds=account.FRESH_SECONDS - 1)
    assert show(alice) == "alice" and len(reads) == 1  # a rerun seconds later: kept
    assert show(bob) == "bob" and len(reads) == 2  # someone else: read
    clock.advance(seconds=account.FRESH_SECONDS)
    show(bob)
    assert len(reads) == 3  # older than FRESH_SECONDS: read again
    ss.pop(account.RECENT)  # what forget_recent() does after an action on the page
    show(bob)
    assert len(reads) == 4


def test_a_clock_set_back_does_not_keep_an_old_read(portal, clock):
    alice = add_user(portal, "alice")
    ss: dict[str, Any] = {}
    reads: list[int] = []
    account.recent(ss, clock.now(), alice, "sessions", lambda: reads.append(1))
    account.recent(
        ss, clock.now() - dt.timedelta(seconds=30), alice, "sessions", lambda: reads.append(1)
    )
    assert len(reads) == 2


def test_the_observer_counts_every_kind_of_transaction(portal):
    # The counting wrapper must not let a transaction slip past it (else "one" above means little).
    db = Observed(portal.db)
    with db.write():
        pass
    db.transact(lambda cur: None)
    assert db.writes == 2


def test_the_pages_code_step_reads_no_account_and_refuses_one_disabled_since(
    portal, clock, observed
):
    """With the name the password step found, the account is not read before the code: the
    stamp of its last sign-in returns it, and a disabled (or renamed) one rolls it all back."""
    secret, _, who = enrol(portal, clock, add_user(portal, "alice", display="Alice Ames"))
    p, db = observed
    start = _password_step(p, "alice")
    statements: list[str] = []
    db.fail = lambda sql, params: statements.append(" ".join(sql.split())) and False
    done = second_factor.verify_sign_in(
        p, who.user_id, start.password_at, totp.code_at(secret, clock.now()), SOURCE, "alice"
    )
    db.fail = None
    assert not [s for s in statements if s.startswith("SELECT") and " FROM users " in s]
    assert (done.identity.username, done.identity.display_name) == ("alice", "Alice Ames")
    assert done.identity.second_factor_at == clock.now()

    for disable, name in ((True, "alice"), (False, "mallory")):
        clock.advance(seconds=30)
        start = _password_step(p, "alice")
        with p.db.write() as cur:
            user_store.update_disabled(cur, who.user_id, disable)
        code = totp.code_at(secret, clock.now())
        with p.db.read() as cur:
            before = user_store.get_user(cur, who.user_id).last_sign_in_at
            events_before = len(audit_store.list_events(cur, "alice", limit=100))
        with pytest.raises(InvalidCredentials):
            second_factor.verify_sign_in(p, who.user_id, start.password_at, code, SOURCE, name)
        with p.db.read() as cur:
            assert user_store.get_user(cur, who.user_id).last_sign_in_at == before
            assert len(audit_store.list_events(cur, "alice", limit=100)) == events_before
        with p.db.write() as cur:
            user_store.update_disabled(cur, who.user_id, False)
        # rolled back whole: the code was not used up
        again = second_factor.verify_sign_in(
            p, who.user_id, start.password_at, code, SOURCE, "alice"
        )
        assert again.identity.user_id == who.user_id
