"""Database.transact(): one write transaction, re-run whole after a transient failure.

The contract part runs on every backend; the re-runs are proved on PostgreSQL with real server
errors: a deadlock between two connections, SQLSTATE 40001 and a backend killed mid-transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.errors import ConstraintViolation, InvalidInput, StoreUnavailable
from portal.models import Role
from store import Cursor, Database, open_database
from store import users as user_store
from store.database import ATTEMPTS, TRY_AGAIN
from tests.conftest import START
from tests.store.conftest import count_users, database_target


def _add(cur: Cursor, name: str) -> int:
    return user_store.insert_user(cur, name, name, Role.USER, "h", START)


def test_transact_commits_and_returns_what_the_work_returns(db: Database) -> None:
    assert db.transact(lambda cur: _add(cur, "alice")) > 0
    assert count_users(db) == 1


def test_a_portal_error_rolls_back_and_is_not_rerun(db: Database) -> None:
    runs: list[int] = []

    def work(cur: Cursor) -> None:
        runs.append(_add(cur, f"bob{len(runs)}"))
        raise InvalidInput("no")

    with pytest.raises(InvalidInput):
        db.transact(work)
    assert len(runs) == 1 and count_users(db) == 0


def test_a_constraint_violation_is_not_rerun(db: Database) -> None:
    db.transact(lambda cur: _add(cur, "carol"))
    runs: list[int] = []

    def work(cur: Cursor) -> None:
        runs.append(1)
        _add(cur, "dave")
        _add(cur, "carol")

    with pytest.raises(ConstraintViolation):
        db.transact(work)
    assert len(runs) == 1 and count_users(db) == 1


@pytest.fixture
def pg(postgres_server: str, tmp_path: Path) -> Iterator[Database]:
    db = open_database(database_target("postgresql", tmp_path), pool_size=3)
    yield db
    db.close()


def test_a_deadlock_is_rerun_and_both_transactions_commit(pg: Database) -> None:
    with pg.write() as cur:
        a, b = _add(cur, "a"), _add(cur, "b")
    meet, runs, results = threading.Barrier(2), [], {}

    def crossing(first: int, second: int) -> str:
        def work(cur: Cursor) -> str:
            runs.append(first)
            user_store.lock_user(cur, first)
            if runs.count(first) == 1:  # the first run of each waits for the other's first lock
                meet.wait(timeout=10)
            user_store.lock_user(cur, second)
            return "done"

        return pg.transact(work)

    threads = [
        threading.Thread(target=lambda f=f, s=s: results.update({f: crossing(f, s)}))
        for f, s in ((a, b), (b, a))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {a: "done", b: "done"}
    assert len(runs) == 3  # the deadlock detector aborted one; it ran again after the other


def test_the_same_deadlock_in_a_plain_write_says_try_again(pg: Database) -> None:
    with pg.write() as cur:
        a, b = _add(cur, "a"), _add(cur, "b")
    meet, outcomes = threading.Barrier(2), []

    def crossing(first: int, second: int) -> None:
        try:
            with pg.write() as cur:
                user_store.lock_user(cur, first)
                meet.wait(timeout=10)
                user_store.lock_user(cur, second)
            outcomes.append("done")
        except StoreUnavailable as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=crossing, args=fs) for fs in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == [TRY_AGAIN, "done"]


def test_a_conflict_every_time_ends_in_try_again_after_the_last_attempt(pg: Database) -> None:
    runs: list[int] = []

    def work(cur: Cursor) -> None:
        runs.append(_add(cur, f"eve{len(runs)}"))
        cur.execute("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")

    with pytest.raises(StoreUnavailable) as caught:
        pg.transact(work)
    assert str(caught.value) == TRY_AGAIN
    assert len(runs) == ATTEMPTS and count_users(pg) == 0


def test_a_connection_lost_before_commit_is_rerun_on_a_new_one(pg: Database) -> None:
    runs: list[int] = []

    def work(cur: Cursor) -> int:
        runs.append(_add(cur, "frank"))
        if len(runs) == 1:  # the server ends this backend, as a restart or failover would
            cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return runs[-1]

    kept = pg.transact(work)
    assert len(runs) == 2
    with pg.read() as cur:
        assert [u.id for u in user_store.list_users(cur)] == [kept]  # the first run left nothing
