import subprocess
import sys
import threading

import duckdb
import pytest

from portal.errors import StoreUnavailable
from store import migrate, open_database
from store import users as user_store


def test_migrations_apply_once_on_empty_and_existing_database(tmp_path):
    path = tmp_path / "m.duckdb"
    db = open_database(path)
    latest = migrate.available()[-1][0]
    assert migrate.current_version(db) == latest
    db.close()
    db = open_database(path)
    assert migrate.apply(db) == []
    with db.read() as cur:
        versions = [r[0] for r in cur.execute("SELECT version FROM schema_version").fetchall()]
    assert versions == sorted(versions) and len(versions) == len(migrate.available())
    db.close()


def test_migration_files_are_numbered_without_gaps():
    numbers = [v for v, _, _ in migrate.available()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_failed_statement_rolls_back_the_whole_transaction(clock):
    db = open_database(":memory:")
    with pytest.raises(duckdb.Error), db.write() as cur:
        user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
        cur.execute("INSERT INTO users (id) VALUES (NULL)")  # fails
    with db.read() as cur:
        assert user_store.count_users(cur) == 0  # not half-written, and the error was raised
    db.close()


def test_an_exception_in_the_block_rolls_back(clock):
    db = open_database(":memory:")
    with pytest.raises(RuntimeError), db.write() as cur:
        user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
        raise RuntimeError("boom")
    with db.read() as cur:
        assert user_store.count_users(cur) == 0
    db.close()


def test_concurrent_writers_are_serialised_without_conflicts(clock):
    db = open_database(":memory:")
    with db.write() as cur:
        uid = user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
    errors = []

    def bump():
        try:
            for _ in range(20):
                with db.write() as cur:
                    user_store.update_last_sign_in(cur, uid, clock.now())
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
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


def test_store_unavailable_is_a_portal_error():
    assert issubclass(StoreUnavailable, Exception)
