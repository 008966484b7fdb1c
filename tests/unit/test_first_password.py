"""An imported account's first password: it opens only the "choose your password" step, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from portal import events
from portal.access import accounts, first_sign_in, passwords
from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import InvalidCredentials, InvalidInput, Throttled
from portal.manager import importer
from portal.settings import Settings
from portal.twofactor import second_factor
from store import audit as audit_store
from store import users as user_store
from tests.conftest import on_engine, together

HOME = "198.51.100.7 Firefox"
NEW = "a fresh long passphrase 7"


@pytest.fixture(params=["duckdb", "postgresql"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The shared settings on a DuckDB file, then on a fresh PostgreSQL database."""
    yield from on_engine(settings, request)


def imported(p: Portal, name: str = "ann") -> str:
    """Import one account through the service; its first password."""
    data = f"username,display_name,email,role\n{name},Ann,,\n".encode()
    made = importer.run_import(p, None, "os:t", importer.plan_import(p, None, data), "cli")
    return made[0].first_password


def stored_hash(p: Portal, name: str = "ann") -> str:
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, name)
    assert user is not None
    return user.password_hash


def audit(p: Portal, name: str = "ann") -> list[tuple[str, str | None, str | None]]:
    with p.db.read() as cur:
        found = audit_store.list_events(cur, name)
    return [(e.event, e.actor, e.subject) for e in reversed(found)]


def change(p: Portal, ok: accounts.PasswordOk, new: str, source: str = HOME) -> Any:
    """The "choose your password" step with the same password typed twice."""
    return first_sign_in.set_first_password(p, ok.user.id, ok.password_at, new, new, source)


def step(p: Portal, name: str = "ann") -> tuple[str, accounts.PasswordOk]:
    first = imported(p, name)
    ok = accounts.sign_in_password(p, name, first, HOME)
    return first, ok


def test_a_first_password_asks_for_a_new_one_and_signs_nobody_in(p: Portal) -> None:
    _, ok = step(p)
    assert ok.next is accounts.Next.NEW_PASSWORD and ok.identity is None
    with p.db.read() as cur:
        sessions = cur.execute("SELECT count(*) FROM sessions").fetchone()
        user = user_store.get_user_by_username(cur, "ann")
    assert sessions == (0,) and user is not None and user.last_sign_in_at is None
    assert events.SIGN_IN_OK not in [e for e, _, _ in audit(p)]


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short", "short", "Use at least 8 characters."),
        (NEW, NEW + "!", "The two passwords do not match."),
        ("password123", "password123", "That password is too common."),
        ("x" * 73, "x" * 73, "Use at most 72 bytes"),
        (None, None, first_sign_in.REUSED),
    ],
)
def test_a_weak_mismatched_or_reused_password_is_refused_and_nothing_changes(
    p: Portal, new: str | None, confirm: str | None, message: str
) -> None:
    first, ok = step(p)
    before = stored_hash(p)
    with pytest.raises(InvalidInput) as refused:
        first_sign_in.set_first_password(
            p, ok.user.id, ok.password_at, new or first, confirm or first, HOME
        )
    assert str(refused.value).startswith(message)
    assert stored_hash(p) == before
    assert events.FIRST_PASSWORD_CHANGED not in [e for e, _, _ in audit(p)]
    again = accounts.sign_in_password(p, "ann", first, HOME)
    assert again.next is accounts.Next.NEW_PASSWORD


def test_the_new_password_is_stored_audited_and_signs_in(p: Portal) -> None:
    _, ok = step(p)
    done = change(p, ok, NEW, "10.0.0.2 Edge")
    assert done.next is accounts.Next.DONE and done.identity is not None
    assert done.identity.username == "ann" and done.identity.second_factor_at is None
    hashed = stored_hash(p)
    assert not passwords.is_first_password(hashed) and hashed.startswith("$2b$04$")
    assert audit(p)[-2:] == [
        (events.FIRST_PASSWORD_CHANGED, "ann", "ann"),
        (events.SIGN_IN_OK, "ann", "ann"),
    ]
    assert events.label(events.FIRST_PASSWORD_CHANGED) == "First password replaced"


def test_after_the_change_the_first_password_is_refused_and_the_new_one_works(
    p: Portal,
) -> None:
    first, ok = step(p)
    change(p, ok, NEW)
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(p, "ann", first, HOME)
    again = accounts.sign_in_password(p, "ann", NEW, HOME)
    assert again.next is accounts.Next.DONE and again.identity is not None


def test_the_same_pending_step_cannot_change_it_twice(p: Portal) -> None:
    _, ok = step(p)
    change(p, ok, NEW)
    other = "another long passphrase 8"
    with pytest.raises(InvalidCredentials, match="changed already"):
        change(p, ok, other)
    assert accounts.sign_in_password(p, "ann", NEW, HOME).identity is not None


def test_a_double_submit_changes_it_exactly_once(p: Portal) -> None:
    _, ok = step(p)
    tries = [f"passphrase number {i} here" for i in range(4)]
    results = together(*(lambda pw=pw: change(p, ok, pw) for pw in tries), wait=60)
    won = [i for i, r in enumerate(results) if isinstance(r, accounts.PasswordOk)]
    lost = [r for r in results if not isinstance(r, accounts.PasswordOk)]
    assert len(won) == 1, results
    assert all(isinstance(r, InvalidCredentials) for r in lost), results
    assert {str(r) for r in lost} == {first_sign_in.ALREADY_CHANGED}
    changed = [e for e, _, _ in audit(p) if e == events.FIRST_PASSWORD_CHANGED]
    assert len(changed) == 1
    assert accounts.sign_in_password(p, "ann", tries[won[0]], HOME).identity is not None
    for i in set(range(len(tries))) - set(won):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, "ann", tries[i], HOME)


def test_an_expired_pending_step_must_start_over(p: Portal, clock: FixedClock) -> None:
    first, ok = step(p)
    before = stored_hash(p)
    clock.advance(minutes=first_sign_in.PENDING_MINUTES, seconds=1)
    with pytest.raises(InvalidCredentials, match="took too long"):
        change(p, ok, NEW)
    assert stored_hash(p) == before
    again = accounts.sign_in_password(p, "ann", first, HOME)  # starting over works
    done = change(p, again, NEW)
    assert done.identity is not None


def test_the_deadline_is_the_code_steps() -> None:
    assert first_sign_in.PENDING_MINUTES == second_factor.SIGN_IN_MINUTES


def test_at_the_deadline_itself_the_change_still_works(p: Portal, clock: FixedClock) -> None:
    _, ok = step(p)
    clock.advance(minutes=first_sign_in.PENDING_MINUTES)
    done = change(p, ok, NEW)
    assert done.identity is not None


def test_a_disabled_account_cannot_finish_the_step(p: Portal) -> None:
    _, ok = step(p)
    with p.db.write() as cur:
        user_store.update_disabled(cur, ok.user.id, True)
    with pytest.raises(InvalidCredentials, match="Incorrect username or password"):
        change(p, ok, NEW)
    assert passwords.is_first_password(stored_hash(p))


def test_wrong_first_passwords_are_throttled_like_any_password(
    p: Portal, clock: FixedClock
) -> None:
    first = imported(p)
    for _ in range(p.settings.lockout_after):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, "ann", first + "x", HOME)
        clock.advance(minutes=1)
    with pytest.raises(Throttled):
        accounts.sign_in_password(p, "ann", first, HOME)  # locked: even the right one waits
    wrong = [e for e, _, _ in audit(p) if e == events.SIGN_IN_FAILED]
    assert len(wrong) == p.settings.lockout_after


def test_a_correct_first_password_is_not_counted_as_a_failure(p: Portal, clock: FixedClock) -> None:
    first = imported(p)
    for _ in range(p.settings.lockout_after + 2):
        assert accounts.sign_in_password(p, "ann", first, HOME).next is accounts.Next.NEW_PASSWORD
        clock.advance(seconds=1)


def test_a_reset_grant_still_follows_after_the_change(p: Portal, clock: FixedClock) -> None:
    _, ok = step(p)
    now = clock.now()
    with p.db.write() as cur:
        user_store.update_reset_grant(cur, ok.user.id, now, now + dt.timedelta(hours=1), "boss")
    done = change(p, ok, NEW)
    assert done.next is accounts.Next.WIZARD and done.identity is not None
    assert [e for e, _, _ in audit(p)][-3:] == [
        events.FIRST_PASSWORD_CHANGED,
        events.RESET_USED,
        events.SIGN_IN_OK,
    ]
