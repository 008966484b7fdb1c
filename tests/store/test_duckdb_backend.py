"""What only the DuckDB backend does: its own errors, its lock message, its settings."""

import subprocess
import sys
import threading

import duckdb
import pytest

from portal.errors import ConstraintViolation, PortalError
from store import open_database
from store import users as user_store


def test_a_failed_statement_rolls_back_the_whole_transaction(clock):
    db = open_database(":memory:")
    with pytest.raises(duckdb.Error), db.write() as cur:
        user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
        cur.execute("INSERT INTO users (id) VALUES (NULL)")  # fails
    with db.read() as cur:
        assert user_store.count_users(cur) == 0  # not half-written, and the error was raised
    db.close()


def test_a_second_process_gets_a_clear_message(tmp_path):
    path = tmp_path / "locked.duckdb"
    db = open_database(path)
    code = (
        "from store import open_database\n"
        "from portal.errors import StoreUnavailable\n"
        f"try:\n    open_database({str(path)!r})\n"
        "except StoreUnavailable as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    db.close()
    assert "in use by another running portal" in out.stdout
    assert "Traceback" not in out.stderr


def test_a_constraint_violation_is_ours_and_still_a_duckdb_error(clock):
    db = open_database(":memory:")
    with pytest.raises(ConstraintViolation) as caught, db.write() as cur:
        user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
        user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
    assert isinstance(caught.value, PortalError) and isinstance(caught.value, duckdb.Error)
    assert "alice" not in str(caught.value)  # safe to show: DuckDB's text is only the cause
    assert "duplicate key" in str(caught.value.__cause__).lower()
    db.close()


def test_every_cursor_reads_time_in_utc(tmp_path):
    db = open_database(tmp_path / "tz.duckdb")
    with db.read() as cur:
        assert cur.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    db.close()


def test_two_openings_of_one_file_in_one_process_never_write_at_once(tmp_path, clock):
    """The throttle decides from a read and counts later in the same write transaction, which
    holds only while DuckDB writes never interleave: per file, not per opening."""
    first = open_database(tmp_path / "one.duckdb")
    second = open_database(str(tmp_path / "." / "one.duckdb"))  # the same file, another spelling
    inside, order = threading.Event(), []

    def late_writer() -> None:
        inside.wait()
        with second.write() as cur:
            order.append("second")
            user_store.insert_user(cur, "bob", "Bob", "user", "h", clock.now())

    writer = threading.Thread(target=late_writer)
    writer.start()
    with first.write() as cur:
        inside.set()
        writer.join(timeout=0.5)  # it must still be waiting for this transaction
        order.append("first")
        user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
    writer.join()
    assert order == ["first", "second"]
    with first.read() as cur:
        assert user_store.count_users(cur) == 2


def test_the_portal_sets_how_many_threads_one_query_may_use(tmp_path, clock):
    from portal import crypto
    from portal.context import open_portal
    from portal.settings import Settings, load_settings

    assert load_settings(env={}, secrets_file=tmp_path / "none.toml").db_threads == 1
    key = crypto.encode_key(crypto.new_key())
    for threads in (1, 2):
        settings = Settings(db_path=str(tmp_path / "t.duckdb"), secret_key=key, db_threads=threads)
        p = open_portal(settings, clock)
        with p.db.read() as cur:  # every cursor of the database, not only the first
            assert cur.execute("SELECT current_setting('threads')").fetchone()[0] == threads
        again = open_database(tmp_path / "t.duckdb")  # another opening without the setting
        with again.read() as cur:
            assert user_store.count_users(cur) == 0
        again.close()
        p.db.close()
