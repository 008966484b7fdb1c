"""Parallel wrong attempts released by one barrier never evaluate more than the throttle allows.

The store is the real DuckDB file of the `portal` fixture; the only stand-ins are counting spies
around the expensive checks (bcrypt and the TOTP match), so the figures are checks that really ran.
On the frozen clock the back-off never runs out by itself: `throttle_after` attempts are checked,
then each wait the clock is moved past lets exactly one more in, until `lockout_after`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest

from portal.access import accounts, passwords
from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import InvalidCode, InvalidCredentials, PortalError, Throttled
from portal.models import Identity
from portal.twofactor import second_factor, self_service, totp
from tests.conftest import PASSWORD, add_user, enrol

THREADS = 20
ROUNDS = 5
WRONG = "not the password at all"
NEW = "a brand new passphrase"


class Spy:
    """Counts calls of a module function (thread-safe) and still runs the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        real = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    def take(self) -> int:
        with self._lock:
            calls, self.calls = self.calls, 0
        return calls


@pytest.fixture
def bcrypt_checks(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch, passwords, "check_password")


@pytest.fixture
def code_checks(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch, totp, "match_step")


def together(count: int, call: Callable[[], Any]) -> list[Any]:
    """Run call in `count` threads released by one barrier; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    for outcome in results:
        assert isinstance(outcome, PortalError), repr(outcome)
    return results


def refused(results: list[Any]) -> int:
    return sum(isinstance(r, Throttled) for r in results)


def wrong_code(secret: str, clock: FixedClock) -> str:
    """A well-formed code that matches none of the accepted steps around now."""
    near = {totp.code_at(secret, clock.now() + dt.timedelta(seconds=30 * k)) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def assert_throttled_like_one_client(
    p: Portal, clock: FixedClock, spy: Spy, attempt: Callable[[], Any], failure: type
) -> None:
    """The back-off admits throttle_after at once, then one per wait, then the lock holds."""
    s = p.settings
    results = together(THREADS, attempt)
    assert spy.take() == s.throttle_after
    assert refused(results) == THREADS - s.throttle_after
    assert sum(isinstance(r, failure) for r in results) == s.throttle_after
    for n in range(s.throttle_after, s.lockout_after):
        clock.advance(seconds=s.throttle_base_seconds * 2 ** (n - s.throttle_after))
        results = together(THREADS, attempt)
        assert spy.take() == 1, f"after {n} failures"
        assert refused(results) == THREADS - 1
    clock.advance(minutes=1)
    results = together(THREADS, attempt)
    assert spy.take() == 0
    assert all(isinstance(r, Throttled) and r.locked for r in results)


def test_parallel_wrong_passwords_are_checked_no_more_than_the_throttle_allows(
    portal: Portal, clock: FixedClock, bcrypt_checks: Spy
) -> None:
    for r in range(ROUNDS):
        add_user(portal, f"user{r}")
        bcrypt_checks.take()
        results = together(
            THREADS, lambda r=r: accounts.sign_in_password(portal, f"user{r}", WRONG, "test")
        )
        assert bcrypt_checks.take() == portal.settings.throttle_after, f"round {r}"
        assert refused(results) == THREADS - portal.settings.throttle_after


def test_parallel_wrong_passwords_reach_the_lockout_after_exactly_lockout_after_checks(
    portal: Portal, clock: FixedClock, bcrypt_checks: Spy
) -> None:
    add_user(portal, "alice")
    bcrypt_checks.take()
    assert_throttled_like_one_client(
        portal,
        clock,
        bcrypt_checks,
        lambda: accounts.sign_in_password(portal, "alice", WRONG, "test"),
        InvalidCredentials,
    )


def test_parallel_unknown_usernames_are_throttled_the_same(
    portal: Portal, clock: FixedClock, bcrypt_checks: Spy
) -> None:
    for r in range(ROUNDS):
        results = together(
            THREADS, lambda r=r: accounts.sign_in_password(portal, f"ghost{r}", WRONG, "test")
        )
        assert bcrypt_checks.take() == portal.settings.throttle_after, f"round {r}"
        assert refused(results) == THREADS - portal.settings.throttle_after


@pytest.fixture
def alice(portal: Portal, clock: FixedClock) -> tuple[str, Identity]:
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    return secret, who


def test_parallel_wrong_codes_at_sign_in_are_checked_no_more_than_the_throttle_allows(
    portal: Portal, clock: FixedClock, alice: tuple[str, Identity], code_checks: Spy
) -> None:
    secret, who = alice
    user_id = accounts.sign_in_password(portal, "alice", PASSWORD, "test").user.id
    code_checks.take()
    assert_throttled_like_one_client(
        portal,
        clock,
        code_checks,
        lambda: second_factor.verify_sign_in(
            portal, user_id, clock.now(), wrong_code(secret, clock), "test"
        ),
        InvalidCode,
    )


def test_parallel_wrong_codes_at_step_up_are_checked_no_more_than_the_throttle_allows(
    portal: Portal, clock: FixedClock, alice: tuple[str, Identity], code_checks: Spy
) -> None:
    secret, who = alice
    for r in range(ROUNDS):
        results = together(
            THREADS,
            lambda: second_factor.step_up(portal, who, wrong_code(secret, clock), "test"),
        )
        assert code_checks.take() == portal.settings.throttle_after, f"round {r}"
        assert refused(results) == THREADS - portal.settings.throttle_after
        clock.advance(seconds=30)  # past the back-off, and a new code step
        code = totp.code_at(secret, clock.now())
        second_factor.verify_sign_in(portal, who.user_id, clock.now(), code, "test")  # clears
        code_checks.take()


def test_parallel_wrong_passwords_at_reentry_are_checked_no_more_than_the_throttle_allows(
    portal: Portal, clock: FixedClock, bcrypt_checks: Spy
) -> None:
    who = add_user(portal, "alice")
    bcrypt_checks.take()
    assert_throttled_like_one_client(
        portal,
        clock,
        bcrypt_checks,
        lambda: self_service.confirm_password(portal, who, WRONG, "test"),
        InvalidCredentials,
    )


def test_parallel_wrong_current_passwords_are_checked_no_more_than_the_throttle_allows(
    portal: Portal, clock: FixedClock, bcrypt_checks: Spy
) -> None:
    for r in range(ROUNDS):
        who = add_user(portal, f"user{r}")
        bcrypt_checks.take()
        results = together(
            THREADS,
            lambda who=who: accounts.change_password(portal, who, WRONG, NEW, NEW, "test"),
        )
        assert bcrypt_checks.take() == portal.settings.throttle_after, f"round {r}"
        assert refused(results) == THREADS - portal.settings.throttle_after
