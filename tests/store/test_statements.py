"""Store statements not covered elsewhere, on every backend: dialect differences show here."""

from __future__ import annotations

import datetime as dt

from portal.models import AuditQuery, FactorStatus, Role
from store import audit as audit_store
from store import factors as factor_store
from store import meta as meta_store
from store import sessions as session_store
from store import throttle as throttle_store
from store import users as user_store
from tests.conftest import START

LATER = START + dt.timedelta(minutes=5)
WINDOW = START + dt.timedelta(minutes=15)


def _attempt(cur, at: dt.datetime, key: str = "k") -> int | None:  # type: ignore[no-untyped-def]
    return throttle_store.insert_attempt(cur, key, "account", None, at, WINDOW, 4, 2, 10.0)


def test_the_throttle_upsert_counts_backs_off_and_locks(db):
    with db.write() as cur:
        assert _attempt(cur, START) == 1
        assert _attempt(cur, START) == 2
        assert _attempt(cur, START) is None  # from 2 failures on: wait 10 s first
        assert _attempt(cur, START + dt.timedelta(seconds=10)) == 3
        assert _attempt(cur, START + dt.timedelta(seconds=40)) == 4
        assert _attempt(cur, START + dt.timedelta(minutes=10)) is None  # at the limit
        assert throttle_store.update_lock(cur, "k", 4) == WINDOW
        assert throttle_store.update_lock(cur, "k", 4) is None
        counter = throttle_store.get_throttle(cur, "k")
        assert counter is not None and (counter.failures, counter.locked_until) == (4, WINDOW)
        assert _attempt(cur, WINDOW) == 1  # the window ended: afresh, unlocked
        assert (_attempt(cur, START, "m"), _attempt(cur, START, "m")) == (1, 2)
        throttle_store.update_release(cur, "m")
        counter = throttle_store.get_throttle(cur, "m")
        assert counter is not None and (counter.failures, counter.locked_until) == (1, None)
        throttle_store.update_release(cur, "m")
        throttle_store.update_release(cur, "m")  # never below none
        counter = throttle_store.get_throttle(cur, "m")
        # DuckDB deletes a row released to nothing; PostgreSQL keeps it at 0
        if db.dialect == "duckdb":
            assert counter is None
        else:
            assert counter is not None and (counter.failures, counter.locked_until) == (0, None)
        assert _attempt(cur, START, "m") == 1  # either way the next attempt is the first


def test_throttle_rows_of_an_account_are_seeded_pruned_and_forgotten(db):
    with db.write() as cur:
        uid = user_store.insert_user(cur, "alice", "Alice", Role.USER, "h", START)
        throttle_store.insert_lock(cur, "a1", uid, 10, START, WINDOW)
        throttle_store.insert_lock(cur, "a1", uid, 12, START, WINDOW)  # upsert
        throttle_store.insert_lock(cur, "a2", uid, 3, START, START)
        throttle_store.delete_stale(cur, LATER)
        assert throttle_store.get_throttle(cur, "a2") is None
        assert throttle_store.delete_user_throttle(cur, uid) == 1
        throttle_store.insert_key_blob(cur, b"first")
        throttle_store.insert_key_blob(cur, b"second")  # the first one stays
        assert throttle_store.get_key_blob(cur) == b"first"
        throttle_store.delete_all_throttle(cur)


def test_meta_rows_insert_and_upsert(db):
    with db.write() as cur:
        meta_store.insert_meta(cur, "x", b"\x00one")
        meta_store.upsert_meta(cur, "x", b"\x00two")
        assert meta_store.get_meta(cur, "x") == b"\x00two"
        assert meta_store.get_meta(cur, "missing") is None


def test_delete_all_but_none_and_end_all_but_none_take_a_null_parameter(db):
    with db.write() as cur:
        uid = user_store.insert_user(cur, "alice", "Alice", Role.USER, "h", START)
        keep = factor_store.insert_factor(cur, uid, b"k", START)
        factor_store.insert_factor(cur, uid, b"g", START)
        assert len(factor_store.delete_factors_except(cur, uid, FactorStatus.PENDING, keep)) == 1
        assert factor_store.delete_factors_except(cur, uid, None, None) == [keep]
        for sid in ("s1", "s2"):
            session_store.insert_session(cur, sid, uid, sid, "b", WINDOW, START, None, "t")
        assert session_store.update_end_all(cur, uid, LATER, "test", keep="s1") == 1
        assert session_store.update_end_all(cur, uid, LATER, "test", keep=None) == 1
        assert session_store.update_end(cur, "s1", LATER, "again") is False


def test_audit_statements_and_a_question_mark_inside_a_string(db):
    with db.write() as cur:
        audit_store.insert_event(cur, START, "sign_in_ok", "alice", "alice", "t", "why? 100%")
        audit_store.insert_event(cur, LATER, "sign_in_failed", None, "alice", "t")
        row = cur.execute("SELECT detail FROM audit WHERE detail = 'why? 100%' AND id > ?", [0])
        assert row.fetchone() == ("why? 100%",)
    with db.read() as cur:
        assert [e.event for e in audit_store.list_events(cur, "alice")] == [
            "sign_in_failed",
            "sign_in_ok",
        ]
        assert len(audit_store.list_events_since(cur, "alice", START, ["sign_in_failed"])) == 1
        assert len(audit_store.list_events_after(cur, 0, ["sign_in_ok"])) == 1
        assert audit_store.latest_id(cur) >= 2
        days = audit_store.count_events_by_day(cur, ["sign_in_ok", "sign_in_failed"], START)
        assert days == [(START.date(), 2)]
        assert audit_store.count_audit(cur, AuditQuery(person="alice")) == 2
        assert list(audit_store.iter_audit(cur, AuditQuery(), 10))[0][2] == "sign_in_failed"
        table = audit_store.select_audit_table(cur, START)
    assert table.num_rows == 2 and str(table.schema.field("occurred_at").type).startswith(
        "timestamp"
    )
