"""The faster statements of issue 15 decide exactly as the ones they replace, on every backend."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from portal.models import Role
from store import audit as audit_store
from store import sessions as session_store
from store import throttle as throttle_store
from store import throttle_attempts as attempts
from store import users as user_store
from tests.conftest import START

WINDOW = START + dt.timedelta(minutes=15)
STEPS = [0, 0, 0, 10, 40, 600, 900, 900, 901]  # seconds after START: counts, back-off, lock, anew


def _attempts(cur, key: str, seen: bool) -> list[int | None]:  # type: ignore[no-untyped-def]
    out = []
    for seconds in STEPS:
        at = START + dt.timedelta(seconds=seconds)
        expires = WINDOW if at < WINDOW else at + dt.timedelta(minutes=15)
        found = throttle_store.insert_attempt(cur, key, "account", 7, at, expires, 4, 2, 10.0, seen)
        out.append(found)
    return out


def test_counting_a_seen_row_by_update_decides_as_the_upsert(db):
    with db.write() as cur:
        upsert = _attempts(cur, "by-upsert", seen=False)
        update = _attempts(cur, "by-update", seen=True)
        rows = [throttle_store.get_throttle(cur, k) for k in ("by-upsert", "by-update")]
    assert upsert == [1, 2, None, 3, 4, None, 1, 2, None]
    assert update == upsert
    a, b = rows
    assert a is not None and b is not None
    fields = ("failures", "last_failure_at", "expires_at", "locked_until", "user_id")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


def test_a_seen_row_that_was_locked_stays_refused_until_its_window_ends(db):
    with db.write() as cur:
        for _ in range(4):
            throttle_store.insert_attempt(cur, "k", "account", None, START, WINDOW, 4, 4, 1.0)
        assert throttle_store.update_lock(cur, "k", 4) == WINDOW
        late = WINDOW - dt.timedelta(seconds=1)
        assert (
            throttle_store.insert_attempt(cur, "k", "account", None, late, WINDOW, 4, 4, 1.0, True)
            is None
        )
        after = WINDOW + dt.timedelta(minutes=15)
        assert (
            throttle_store.insert_attempt(cur, "k", "account", None, WINDOW, after, 4, 4, 1.0, True)
            == 1
        )
        counter = throttle_store.get_throttle(cur, "k")
    assert counter is not None and counter.locked_until is None


def test_forgetting_several_counters_at_once(db):
    with db.write() as cur:
        for key in ("a", "b", "c"):
            throttle_store.insert_attempt(cur, key, "address", None, START, WINDOW, 4, 2, 1.0)
        throttle_store.delete_throttle_keys(cur, ["a", "b"])
        left = [k for k in ("a", "b", "c") if throttle_store.get_throttle(cur, k) is not None]
    assert left == ["c"]


def test_a_session_ends_once(db):
    with db.write() as cur:
        uid = user_store.insert_user(cur, "alice", "Alice", Role.USER, "h", START)
        session_store.insert_session(cur, "s1", uid, "t", "b", WINDOW, START, None, "src")
        assert session_store.update_end(cur, "s1", START, "signed out")
        assert not session_store.update_end(cur, "s1", WINDOW, "again")
        assert not session_store.update_end(cur, "nope", START, "none")
        found = session_store.get_session(cur, "s1")
    assert found is not None and (found.ended_at, found.end_reason) == (START, "signed out")


@pytest.mark.parametrize("acknowledged", [False, True])
def test_unseen_events_start_at_the_account_or_the_last_acknowledgement(db, acknowledged):
    kinds = ["codes_viewed"]
    with db.write() as cur:
        uid = user_store.insert_user(cur, "alice", "Alice", Role.USER, "h", START)
        audit_store.insert_event(
            cur, START - dt.timedelta(days=1), "codes_viewed", "x", "alice", "s"
        )
        audit_store.insert_event(cur, START, "codes_viewed", "alice", "alice", "s")
        audit_store.insert_event(cur, START, "sign_in_ok", "alice", "alice", "s")
        if acknowledged:
            user_store.update_notices_seen_at(cur, uid, START)
        audit_store.insert_event(cur, WINDOW, "codes_viewed", "alice", "alice", "s")
        found = audit_store.list_unseen(cur, uid, "alice", kinds)
        renamed = audit_store.list_unseen(cur, uid, "bob", kinds)
    expected = [WINDOW] if acknowledged else [WINDOW, START]
    assert [e.occurred_at for e in found] == expected
    assert renamed == []


def test_two_counters_in_one_statement_keep_their_own_limits(db):
    address = throttle_store.Rule("addr", "address", 3, 1)  # back-off from the first failure
    account = throttle_store.Rule("acct", "account", 5, 5)  # only a lock, at 5
    with db.write() as cur:
        first = throttle_store.insert_attempts(cur, [address, account], 9, START, WINDOW, 10.0)
        again = throttle_store.insert_attempts(cur, [address, account], 9, START, WINDOW, 10.0)
        later = START + dt.timedelta(seconds=10)
        then = throttle_store.insert_attempts(cur, [address, account], 9, later, WINDOW, 10.0)
    assert first == {"addr": 1, "acct": 1}
    assert again == {"acct": 2}  # the address must wait 10 s; the account has no back-off
    assert then == {"addr": 2, "acct": 3}


class _Counting:
    """A real cursor that counts the statements it runs."""

    def __init__(self, cur) -> None:  # type: ignore[no-untyped-def]
        self._cur, self.statements = cur, 0

    def execute(self, sql, params=()):  # type: ignore[no-untyped-def]
        self.statements += 1
        return self._cur.execute(sql, params)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._cur, name)


def test_two_seen_counters_are_counted_in_one_statement_with_their_own_limits(db):
    address = throttle_store.Rule("addr", "address", 3, 1)
    account = throttle_store.Rule("acct", "account", 5, 5)
    rules = [address, account]
    with db.write() as cur:
        throttle_store.insert_attempts(cur, rules, 9, START, WINDOW, 10.0)  # the password step
        counting = _Counting(cur)
        again = throttle_store.insert_attempts(counting, rules, 9, START, WINDOW, 10.0, True)
        later = START + dt.timedelta(seconds=10)
        then = throttle_store.insert_attempts(counting, rules, 9, later, WINDOW, 10.0, True)
    assert again == {"acct": 2}  # the address must wait 10 s; the account row has no back-off
    assert then == {"addr": 2, "acct": 3}
    # PostgreSQL: one UPDATE for both rows each time; the refused address row is then left to
    # the upsert. DuckDB (serialised writes): a lookup, then one UPDATE for both rows each time.
    assert counting.statements == (4 if db.dialect == "duckdb" else 3)


def _decisions(cur, key: str, count) -> list[int | None]:  # type: ignore[no-untyped-def]
    """Each of STEPS counted by `count`, after `admitted` predicted it: (prediction, result)."""
    rule = throttle_store.Rule(key, "account", 4, 2)
    out = []
    for seconds in STEPS:
        at = START + dt.timedelta(seconds=seconds)
        expires = WINDOW if at < WINDOW else at + dt.timedelta(minutes=15)
        predicted = throttle_store.admitted(cur, [rule], at, 10.0)
        counted = count(cur, [rule], 7, at, expires, 10.0).get(key)
        out.append((predicted.get(key, 1), counted))  # no row yet: a new one counts 1
    return out


def test_admitted_predicts_what_counting_decides_on_every_path(db):
    """The DuckDB code step reads `admitted` and counts only a wrong code: it must decide as the
    conditional UPDATE, the upsert and the DuckDB lookup-then-insert, at every step."""
    paths = {
        "update": lambda cur, *a: (
            attempts._update_existing(cur, *a) or attempts._upsert(cur, *a)
        ),  # a row must exist for the UPDATE: the first step
        "upsert": attempts._upsert,
        "insert-or-update": attempts._insert_or_update,
    }
    with db.write() as cur:
        results = {name: _decisions(cur, f"by-{name}", count) for name, count in paths.items()}
    expected = [1, 2, None, 3, 4, None, 1, 2, None]
    for name, pairs in results.items():
        assert [counted for _, counted in pairs] == expected, name
        assert [predicted for predicted, _ in pairs] == expected, name


def test_a_release_leaves_what_the_update_it_replaces_left_or_no_row_where_that_was_empty(db):
    """DuckDB's release deletes the rows and puts back the ones still holding something: each
    ends as `failures - 1` would leave it, except that a row left with no failure and no lock
    is gone (it decides like no row: the next attempt counts 1 either way)."""
    later = START + dt.timedelta(seconds=30)
    with db.write() as cur:
        uid = user_store.insert_user(cur, "alice", "Alice", Role.USER, "h", START)
        for prefix in ("new-", "ref-"):
            throttle_store.insert_attempt(
                cur, prefix + "once", "address", uid, START, WINDOW, 9, 9, 1
            )
            for _ in range(3):
                throttle_store.insert_attempt(
                    cur, prefix + "thrice", "account", uid, START, WINDOW, 9, 9, 1
                )
            throttle_store.insert_lock(cur, prefix + "locked", uid, 1, START, WINDOW)
        names = ("once", "thrice", "locked")
        throttle_store.update_release(cur, *(f"new-{n}" for n in names))
        cur.execute(  # the statement every release was before (and still is on PostgreSQL)
            "UPDATE throttle SET failures = greatest(failures - 1, 0) WHERE key LIKE 'ref-%'"
        )
        fields = ("scope", "user_id", "failures", "last_failure_at", "expires_at", "locked_until")
        rows = {
            n: [throttle_store.get_throttle(cur, f"{side}-{n}") for side in ("new", "ref")]
            for n in names
        }
        following = [
            throttle_store.insert_attempt(
                cur, f"{side}-once", "address", uid, later, WINDOW, 9, 9, 1
            )
            for side in ("new", "ref")
        ]
    emptied = rows["once"][0]
    assert (
        emptied is None
        if db.dialect == "duckdb"
        else emptied == dataclasses.replace(rows["once"][1], key="new-once")
    )
    assert rows["once"][1] is not None and rows["once"][1].failures == 0
    for name in ("thrice", "locked"):
        new, ref = rows[name]
        assert new is not None and ref is not None, name
        assert [getattr(new, f) for f in fields] == [getattr(ref, f) for f in fields], name
    assert rows["thrice"][0].failures == 2 and rows["locked"][0].locked_until == WINDOW
    assert following == [1, 1]
