"""The failed-attempt throttle: per (account, address) first, the whole account past a higher
limit, keyed by an HMAC so no typed name is stored, pruned, and a ceiling on dummy bcrypt work."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from portal.access import accounts, ceiling, passwords, throttle
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import InvalidCode, InvalidCredentials, StoreUnavailable, Throttled
from portal.manager import actions, reports
from portal.models import Role, UserQuery
from portal.settings import Settings
from portal.twofactor import second_factor
from store import audit as audit_store
from store import throttle as throttle_store
from tests.conftest import PASSWORD, add_user, enrol, stale_counter

HOME = "198.51.100.7 Firefox"
ATTACKER = "203.0.113.9 Chrome"
WRONG = "not the password at all"
TYPED = "Hunter2-Wrong-Box"  # a password typed into the username box


def fail(p: Portal, clock: FixedClock, name: str, source: str, times: int) -> None:
    """Wrong passwords, each after the back-off delay has passed."""
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, name, WRONG, source)
        clock.advance(minutes=1)


def lockouts(p: Portal) -> list[Any]:
    with p.db.read() as cur:
        return [e for e in audit_store.list_events(cur, None, limit=1000) if e.event == "lockout"]


@pytest.mark.parametrize(
    ("source", "address"),
    [
        ("203.0.113.9 Chrome", "203.0.113.9"),
        ("2001:db8::1 Edge", "2001:db8::1"),
        ("  10.0.0.1   Mozilla/5.0 (X11)", "10.0.0.1"),
        ("unknown address Safari", "unknown"),
        ("cli", "cli"),
        ("", ""),
    ],
)
def test_the_address_is_the_first_word_of_the_source(source: str, address: str) -> None:
    assert throttle.address_of(source) == address


def test_a_locked_address_does_not_lock_the_account_elsewhere(portal, clock):
    add_user(portal, "boss", Role.SECURITY_MANAGER)
    fail(portal, clock, "boss", ATTACKER, portal.settings.lockout_after)
    with pytest.raises(Throttled) as locked:
        accounts.sign_in_password(portal, "boss", PASSWORD, "203.0.113.9 Firefox")
    assert locked.value.locked  # the same address with another browser: still locked
    assert accounts.sign_in_password(portal, "boss", PASSWORD, HOME).identity is not None
    [lockout] = lockouts(portal)
    assert (lockout.subject, lockout.source) == ("boss", ATTACKER)


def test_the_whole_account_locks_past_lockout_account_after(settings, clock):
    p = open_portal(dataclasses.replace(settings, lockout_account_after=20), clock)
    add_user(p, "alice")
    fail(p, clock, "alice", "203.0.113.1 Chrome", 10)
    fail(p, clock, "alice", "203.0.113.2 Chrome", 10)
    with pytest.raises(Throttled) as locked:
        accounts.sign_in_password(p, "alice", PASSWORD, HOME)
    assert locked.value.locked
    assert [e.detail.split(";")[0] for e in lockouts(p)] == [
        "20 failed attempts from any address",
        "10 failed attempts from this address",
        "10 failed attempts from this address",
    ]
    clock.advance(minutes=p.settings.lockout_minutes)
    assert accounts.sign_in_password(p, "alice", PASSWORD, HOME).identity is not None
    p.db.close()


def test_the_account_limit_is_never_below_the_address_limit(settings, clock):
    p = open_portal(dataclasses.replace(settings, lockout_account_after=3), clock)
    add_user(p, "alice")
    fail(p, clock, "alice", ATTACKER, p.settings.lockout_after - 1)
    assert accounts.sign_in_password(p, "alice", PASSWORD, HOME).identity is not None
    p.db.close()


def test_a_correct_password_is_not_counted_as_a_failure(portal, clock):
    enrol(portal, clock, add_user(portal, "alice"))
    fail(portal, clock, "alice", HOME, portal.settings.throttle_after - 1)
    for _ in range(3):  # 2FA on: the password step passes without finishing the sign-in
        result = accounts.sign_in_password(portal, "alice", PASSWORD, HOME)
        assert result.next is accounts.Next.CODE
    with pytest.raises(InvalidCredentials):  # the 5th failure is still checked
        accounts.sign_in_password(portal, "alice", WRONG, HOME)
    with pytest.raises(Throttled):
        accounts.sign_in_password(portal, "alice", PASSWORD, HOME)


def test_unknown_names_lock_out_without_naming_anyone(portal, clock):
    fail(portal, clock, TYPED, ATTACKER, portal.settings.lockout_after)
    with pytest.raises(Throttled) as locked:
        accounts.sign_in_password(portal, TYPED, WRONG, ATTACKER)
    assert locked.value.locked  # exactly as for a real account
    [lockout] = lockouts(portal)
    assert lockout.subject is None and TYPED.lower() not in (lockout.detail or "").lower()


def text_columns(p: Portal) -> Iterator[tuple[str, str, Any]]:
    """Every value of every VARCHAR or BLOB column of every table: (table, column, value)."""
    with p.db.read() as cur:
        columns = cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE data_type IN ('VARCHAR', 'BLOB') ORDER BY table_name, column_name"
        ).fetchall()
        for table, column in columns:
            for (value,) in cur.execute(f'SELECT "{column}" FROM "{table}"').fetchall():
                yield table, column, value


def holding(p: Portal, text: str) -> set[tuple[str, str]]:
    needle = text.lower()
    found = set()
    for table, column, value in text_columns(p):
        if isinstance(value, bytes | bytearray):
            hit = needle.encode() in bytes(value).lower()
        else:
            hit = value is not None and needle in str(value).lower()
        if hit:
            found.add((table, column))
    return found


def test_no_table_holds_a_typed_name_and_the_throttle_holds_no_name(portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice"))
    fail(portal, clock, f"  {TYPED} ", ATTACKER, portal.settings.lockout_after)
    fail(portal, clock, "ALICE", ATTACKER, 3)
    user_id = accounts.sign_in_password(portal, "alice", PASSWORD, HOME).user.id
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, user_id, clock.now(), "000000", HOME)
    assert holding(portal, TYPED) == set()
    assert ("throttle", "key") not in holding(portal, "alice")
    assert {t for t, _ in holding(portal, "alice")} <= {"users", "audit"}
    with portal.db.read() as cur:
        assert cur.execute("SELECT count(*) FROM throttle").fetchone()[0] >= 4


def test_the_throttle_key_is_keyed_by_the_portal_key(tmp_path, clock):
    keys = []
    for n in range(2):
        base = Settings(db_path=str(tmp_path / f"p{n}.duckdb"), bcrypt_rounds=4)
        p = open_portal(base, clock)
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, "ghost", WRONG, ATTACKER)
        with p.db.read() as cur:
            keys.append({r[0] for r in cur.execute("SELECT key FROM throttle").fetchall()})
        p.db.close()
    assert len(keys[0]) == 2 and not keys[0] & keys[1]


def test_stale_rows_are_pruned_by_the_next_failure(portal, clock):
    for name in ("ghost-one", "ghost-two", "ghost-three"):
        fail(portal, clock, name, ATTACKER, 3)
    clock.advance(minutes=portal.settings.lockout_minutes)
    fail(portal, clock, "ghost-four", HOME, 1)
    with portal.db.read() as cur:
        assert cur.execute("SELECT count(*) FROM throttle").fetchone()[0] == 2  # pair + account


def _throttle_keys(p: Portal) -> set[str]:
    with p.db.read() as cur:
        return {r[0] for r in cur.execute("SELECT key FROM throttle").fetchall()}


def test_stale_counters_are_dropped_on_another_thread_while_the_password_is_checked(
    portal, clock, monkeypatch
):
    add_user(portal, "alice")
    clock.advance(seconds=throttle.PRUNE_EVERY.total_seconds())  # a prune is due
    stale_counter(portal, clock, "left-over")
    seen: list[tuple[str, int]] = []
    real_check, real_delete = passwords.check_password, throttle_store.delete_stale

    def check(*args: Any) -> bool:  # the real check, noting when it ran and on which thread
        seen.append(("check", threading.get_ident()))
        return real_check(*args)

    def delete_stale(*args: Any) -> int:
        seen.append(("prune", threading.get_ident()))
        return real_delete(*args)

    monkeypatch.setattr(passwords, "check_password", check)
    monkeypatch.setattr(throttle_store, "delete_stale", delete_stale)
    assert accounts.sign_in_password(portal, "alice", PASSWORD, HOME).identity is not None
    threads = dict(seen)
    assert set(threads) == {"check", "prune"}
    assert threads["prune"] != threads["check"] == threading.get_ident()
    assert "left-over" not in _throttle_keys(portal)  # joined before the sign-in returned


def test_a_prune_that_fails_does_not_fail_the_sign_in_and_is_tried_again(
    portal, clock, monkeypatch, caplog
):
    add_user(portal, "alice")
    clock.advance(seconds=throttle.PRUNE_EVERY.total_seconds())  # a prune is due
    stale_counter(portal, clock, "left-over")
    real_delete, calls = throttle_store.delete_stale, []

    def failing_once(*args: Any) -> int:  # fault injection: the first prune's database fails
        calls.append(args)
        if len(calls) == 1:
            raise StoreUnavailable("The database could not complete the request: disk I/O")
        return real_delete(*args)

    monkeypatch.setattr(throttle_store, "delete_stale", failing_once)
    assert accounts.sign_in_password(portal, "alice", PASSWORD, HOME).identity is not None
    assert "left-over" in _throttle_keys(portal)
    assert "dropping stale throttle rows failed: The database could not" in caplog.text
    clock.advance(seconds=1)  # not a minute: a failed prune is due again at once
    assert accounts.sign_in_password(portal, "alice", PASSWORD, HOME).identity is not None
    assert len(calls) == 2 and "left-over" not in _throttle_keys(portal)


def test_failures_older_than_the_window_are_forgotten(portal, clock):
    add_user(portal, "alice")
    fail(portal, clock, "alice", ATTACKER, portal.settings.throttle_after)
    clock.advance(minutes=portal.settings.lockout_minutes)
    fail(portal, clock, "alice", ATTACKER, portal.settings.lockout_after - 1)
    assert accounts.sign_in_password(portal, "alice", PASSWORD, ATTACKER).identity is not None


def test_the_managers_table_shows_and_clears_an_address_lockout(portal, clock):
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    alice = add_user(portal, "alice")
    fail(portal, clock, "alice", ATTACKER, portal.settings.lockout_after)
    [row] = reports.accounts_page(portal, boss, UserQuery(locked_only=True)).rows
    assert (row.username, row.failed_attempts, row.locked) == ("alice", 10, True)
    assert row.locked_until is not None
    cleared = actions.clear_lockout(portal, boss, [alice.user_id, boss.user_id], "called", "test")
    assert [u.username for u in cleared] == ["alice"]
    assert reports.accounts_page(portal, boss, UserQuery(locked_only=True)).rows == []
    assert accounts.sign_in_password(portal, "alice", PASSWORD, ATTACKER).identity is not None


# -- the ceiling on bcrypt work for unknown usernames ----------------------------------------


class Timed:
    """Counts and times the real bcrypt checks; records the pauses instead of pausing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checks: list[float] = []
        self.pauses: list[float] = []
        self._lock = threading.Lock()
        real = passwords.check_password

        def check(password: str, hashed: str) -> bool:
            started = time.perf_counter()
            try:
                return real(password, hashed)
            finally:
                with self._lock:
                    self.checks.append(time.perf_counter() - started)

        monkeypatch.setattr(passwords, "check_password", check)
        monkeypatch.setattr(ceiling, "idle", self.pauses.append)


@pytest.fixture
def capped(settings: Settings, clock: FixedClock) -> Iterator[Portal]:
    p = open_portal(dataclasses.replace(settings, unknown_user_checks_per_minute=3), clock)
    yield p
    p.db.close()


def test_unknown_names_past_the_ceiling_wait_as_long_as_a_check_instead_of_hashing(
    capped, clock, monkeypatch
):
    add_user(capped, "alice")
    timed = Timed(monkeypatch)
    messages = set()
    for n in range(6):
        with pytest.raises(InvalidCredentials) as caught:
            accounts.sign_in_password(capped, f"ghost{n}", WRONG, ATTACKER)
        messages.add(str(caught.value))
    with pytest.raises(InvalidCredentials) as wrong:
        accounts.sign_in_password(capped, "alice", WRONG, ATTACKER)  # known: never capped
    assert messages == {str(wrong.value)}
    assert (len(timed.checks), len(timed.pauses)) == (3 + 1, 3)
    assert all(min(timed.checks) / 2 <= w <= max(timed.checks) * 2 for w in timed.pauses)
    clock.advance(minutes=1)  # the budget refills with time
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(capped, "ghost-later", WRONG, ATTACKER)
    assert (len(timed.checks), len(timed.pauses)) == (5, 3)


def test_the_migration_drops_typed_names_from_the_throttle_and_lockout_rows(
    tmp_path, clock, monkeypatch
):
    from store import migrate, open_database

    path = str(tmp_path / "old.duckdb")
    every = migrate.available()
    monkeypatch.setattr(migrate, "available", lambda: [m for m in every if m[0] <= 3])
    db = open_database(path)
    with db.write() as cur:
        cur.execute(
            "INSERT INTO users (username, display_name, role, password_hash, created_at)"
            " VALUES ('alice', 'Alice', 'user', 'x', ?)",
            [clock.now()],
        )
        cur.execute(
            "INSERT INTO throttle (subject, failures) VALUES (?, 10), ('alice', 3)", [TYPED]
        )
        for subject in (TYPED.lower(), "alice"):
            cur.execute(
                "INSERT INTO audit (occurred_at, event, subject) VALUES (?, 'lockout', ?)",
                [clock.now(), subject],
            )
    db.close()
    monkeypatch.setattr(migrate, "available", lambda: every)
    db = open_database(path)
    with db.read() as cur:
        assert cur.execute("SELECT count(*) FROM throttle").fetchone() == (0,)
        subjects = cur.execute("SELECT subject FROM audit ORDER BY id").fetchall()
    db.close()
    assert subjects == [(None,), ("alice",)]
