"""PostgreSQL only: pruning old throttle rows never makes a sign-in wait for another transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from portal import crypto
from portal.access import accounts, throttle
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import InvalidCredentials
from portal.settings import Settings
from tests.conftest import PASSWORD, START, stale_counter
from tests.store.conftest import database_target


@pytest.fixture
def pg_portal(postgres_server: str, tmp_path: Path) -> Iterator[tuple[Portal, FixedClock]]:
    url = database_target("postgresql", tmp_path)
    key = crypto.encode_key(crypto.new_key())
    clock = FixedClock(START)
    p = open_portal(Settings(db_path=url, secret_key=key, bcrypt_rounds=4), clock)
    yield p, clock
    p.db.close()


def _keys(p: Portal) -> set[str]:
    with p.db.read() as cur:
        return {r[0] for r in cur.execute("SELECT key FROM throttle").fetchall()}


def test_a_sign_in_does_not_wait_for_a_stale_row_another_transaction_holds(pg_portal) -> None:
    p, clock = pg_portal
    accounts.create_account(p, None, "alice", PASSWORD)
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(p, "mallory", "wrong", "10.0.0.9 x")
    stale = _keys(p)
    assert len(stale) == 2  # the address and the account row of the unknown name
    clock.advance(minutes=p.settings.lockout_minutes + 1)  # their window has ended
    outcome: list[Any] = []

    def attempt() -> None:
        try:
            accounts.sign_in_password(p, "alice", "wrong", "10.0.0.1 x")
        except InvalidCredentials as exc:
            outcome.append(exc)

    with psycopg.connect(p.db.path) as holder:  # another server, mid-transaction on those rows
        holder.execute("SELECT key FROM throttle FOR UPDATE")
        worker = threading.Thread(target=attempt)
        worker.start()
        worker.join(timeout=8)
        blocked = worker.is_alive()
        holder.rollback()
    worker.join(timeout=30)
    assert not blocked, "the sign-in waited for another transaction's throttle rows"
    assert len(outcome) == 1
    assert stale <= _keys(p)  # they were skipped, not deleted under the other's lock
    clock.advance(seconds=throttle.PRUNE_EVERY.total_seconds())  # pruning is due again
    with pytest.raises(InvalidCredentials):  # nobody holds them now: the next attempt prunes
        accounts.sign_in_password(p, "alice", "wrong", "10.0.0.1 x")
    assert not stale & _keys(p)


def test_stale_counters_are_dropped_at_most_once_a_minute(pg_portal) -> None:
    p, clock = pg_portal
    with pytest.raises(InvalidCredentials):  # the first attempt of this process prunes
        accounts.sign_in_password(p, "bob", "wrong", "10.0.0.8 x")
    stale_counter(p, clock, "left-over")
    clock.advance(seconds=30)
    with pytest.raises(InvalidCredentials):  # pruned 30 s ago: not again yet
        accounts.sign_in_password(p, "carol", "wrong", "10.0.0.7 x")
    assert "left-over" in _keys(p)
    clock.advance(seconds=throttle.PRUNE_EVERY.total_seconds() - 30)
    with pytest.raises(InvalidCredentials):  # a minute since: due again
        accounts.sign_in_password(p, "dave", "wrong", "10.0.0.6 x")
    assert "left-over" not in _keys(p)


def test_the_first_attempt_on_a_pool_of_one_connection_does_not_wait_for_itself(
    postgres_server: str, tmp_path: Path
) -> None:
    # The throttle's HMAC key is made on first use; made inside the counting transaction it
    # needed a second connection from a pool whose only one that transaction held.
    url = database_target("postgresql", tmp_path)
    key = crypto.encode_key(crypto.new_key())
    settings = Settings(db_path=url, secret_key=key, bcrypt_rounds=4, db_pool_size=1)
    p = open_portal(settings, FixedClock(START))
    try:
        accounts.create_account(p, None, "alice", PASSWORD)
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, "alice", "wrong", "10.0.0.1 x")
        assert accounts.sign_in_password(p, "alice", PASSWORD, "10.0.0.1 x").identity
    finally:
        p.db.close()
