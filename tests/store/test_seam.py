"""The Database/Cursor seam and the store's conditional statements, on every backend.

Each promise here is one a service relies on for a check-then-act: a failed write keeps
nothing and raises, and a conditional UPDATE reports whether it changed the row.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest

from portal.errors import ConstraintViolation, PortalError, StoreUnavailable
from portal.models import FactorStatus, Role
from store import factors as factor_store
from store import open_database
from store import users as user_store
from tests.conftest import START
from tests.store.conftest import count_users, steal_unique_username

NOW = START
LATER = START + dt.timedelta(minutes=5)


def _add(cur, name: str = "alice") -> int:
    return user_store.insert_user(cur, name, name.title(), Role.USER, "h", NOW)


def test_a_failed_statement_rolls_back_and_raises(db):
    with pytest.raises(Exception) as caught, db.write() as cur:  # noqa: B017 - any error, raised
        _add(cur)
        cur.execute("INSERT INTO users (id) VALUES (NULL)")  # breaks NOT NULL columns
    assert isinstance(caught.value, ConstraintViolation)
    assert count_users(db) == 0


def test_a_bad_statement_rolls_back_and_raises(db):
    with pytest.raises(Exception), db.write() as cur:  # noqa: B017 - the driver's own error
        _add(cur)
        cur.execute("SELECT no_such_column FROM users")
    assert count_users(db) == 0


def test_a_duplicate_key_is_our_error_and_keeps_nothing(db):
    with db.write() as cur:
        _add(cur)
    with pytest.raises(ConstraintViolation) as caught, db.write() as cur:
        _add(cur, "bob")
        _add(cur)
    assert isinstance(caught.value, PortalError)
    assert count_users(db) == 1  # bob went with the failed transaction


def test_a_failed_commit_raises_and_keeps_nothing(db, backend):
    with pytest.raises((StoreUnavailable, ConstraintViolation)), db.write() as cur:
        _add(cur, "bob")
        _add(cur, "carol")
        steal_unique_username(backend, db, "carol")
    with db.read() as cur:
        assert user_store.get_user_by_username(cur, "bob") is None
        carol = user_store.get_user_by_username(cur, "carol")
    assert carol is not None and carol.display_name == "Other"  # the one committed first


def test_read_sees_committed_writes_from_another_thread(db):
    with db.write() as cur:
        uid = _add(cur)
    seen: list[object] = []

    def look() -> None:
        with db.read() as cur:
            seen.append(user_store.get_user(cur, uid))

    reader = threading.Thread(target=look)
    reader.start()
    reader.join()
    assert seen and seen[0] is not None and seen[0].username == "alice"  # type: ignore[attr-defined]


def test_a_reopened_database_keeps_committed_writes(open_db):
    db = open_db()
    with db.write() as cur:
        _add(cur)
    db.close()
    assert count_users(open_db()) == 1


def test_cursor_speaks_dbapi_with_question_marks(db):
    with db.write() as cur:
        cur.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)", [["a", b"1"], ["b", b"2"], ["c", b"3"]]
        )
    with db.read() as cur:
        assert cur.execute("SELECT key FROM meta WHERE key = ?", ["b"]) is cur
        assert cur.fetchone() == ("b",)
        cur.execute("SELECT key, value FROM meta ORDER BY key")
        assert [d[0] for d in cur.description or ()] == ["key", "value"]
        assert cur.fetchmany(2) == [("a", b"1"), ("b", b"2")]
        assert cur.fetchall() == [("c", b"3")]
        assert cur.arrow("SELECT key FROM meta WHERE key > ? ORDER BY key", ["a"]).to_pylist() == [
            {"key": "b"},
            {"key": "c"},
        ]


def test_lock_user_returns_the_account_or_none(db):
    with db.write() as cur:
        uid = _add(cur)
        locked = user_store.lock_user(cur, uid)
        assert user_store.lock_user(cur, uid + 999) is None
    assert locked is not None and locked.id == uid and locked.username == "alice"


def test_a_reset_grant_is_consumed_once_and_not_after_expiry(db):
    with db.write() as cur:
        uid = _add(cur)
        user_store.update_reset_grant(cur, uid, NOW, LATER, "boss")
        assert user_store.consume_reset_grant(cur, uid, NOW) is True
        assert user_store.consume_reset_grant(cur, uid, NOW) is False
        user_store.update_reset_grant(cur, uid, NOW, LATER, "boss")
        assert user_store.consume_reset_grant(cur, uid, LATER) is False  # expired at LATER


def test_factor_updates_succeed_once_and_refuse_old_steps(db):
    with db.write() as cur:
        uid = _add(cur)
        fid = factor_store.insert_factor(cur, uid, b"enc", NOW)
        assert factor_store.update_factor_active(cur, fid, NOW) is False  # not verified yet
        assert factor_store.update_factor_verified(cur, fid, 100, NOW) is True
        assert factor_store.update_factor_verified(cur, fid, 100, NOW) is False  # same step
        assert factor_store.update_factor_active(cur, fid, NOW) is True
        assert factor_store.update_factor_active(cur, fid, NOW) is False  # already on
        assert factor_store.update_factor_verified(cur, fid, 101, NOW) is False  # not pending
        assert factor_store.update_last_step(cur, fid, 100) is False  # used at verify
        assert factor_store.update_last_step(cur, fid, 99) is False
        assert factor_store.update_last_step(cur, fid, 101) is True
        assert factor_store.update_last_step(cur, fid, 101) is False
        active = factor_store.get_factor(cur, uid, FactorStatus.ACTIVE)
    assert active is not None and active.id == fid and active.last_step == 101


def test_a_backup_code_is_used_once(db):
    with db.write() as cur:
        uid = _add(cur)
        fid = factor_store.insert_factor(cur, uid, b"enc", NOW)
        factor_store.insert_backup_codes(cur, uid, fid, [b"c1", b"c2"], NOW)
        first, second = factor_store.list_backup_codes(cur, fid)
        assert factor_store.update_backup_code_used(cur, first.id, NOW) is True
        assert factor_store.update_backup_code_used(cur, first.id, LATER) is False
        assert factor_store.delete_factors(cur, uid) == 1
        assert factor_store.list_backup_codes(cur, fid) == []
    assert second.code_enc == b"c2"


def test_an_unreachable_postgresql_server_is_one_clear_line_without_the_password():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreUnavailable) as caught:
        open_database(f"postgresql://portal:s3cret@127.0.0.1:{port}/portal")
    text = str(caught.value)
    assert text.startswith(f"The PostgreSQL database postgresql://portal@127.0.0.1:{port}/portal")
    assert "cannot be reached" in text and "s3cret" not in text and "\n" not in text
