"""The seam's contract on every backend: migrations, atomic writes, serialised writers."""

import threading

import pytest

from portal.errors import StoreUnavailable
from store import migrate
from store import users as user_store


def test_migrations_apply_once_on_empty_and_existing_database(open_db):
    db = open_db()
    latest = migrate.available()[-1][0]
    assert migrate.current_version(db) == latest
    db.close()
    db = open_db()
    assert migrate.apply(db) == []
    with db.read() as cur:
        versions = [r[0] for r in cur.execute("SELECT version FROM schema_version").fetchall()]
    assert versions == sorted(versions) and len(versions) == len(migrate.available())
    db.close()


def test_migration_files_are_numbered_without_gaps():
    numbers = [v for v, _, _ in migrate.available()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_backend_runs_every_number_once(backend):
    numbers = [v for v, _, _ in migrate.for_dialect(backend)]
    assert numbers == [v for v, _, _ in migrate.available()]


def test_an_exception_in_the_block_rolls_back(db, clock):
    with pytest.raises(RuntimeError), db.write() as cur:
        user_store.insert_user(cur, "alice", "Alice", "user", "h", clock.now())
        raise RuntimeError("boom")
    with db.read() as cur:
        assert user_store.count_users(cur) == 0


def test_concurrent_writers_are_serialised_without_conflicts(db, clock):
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


def test_store_unavailable_is_a_portal_error():
    assert issubclass(StoreUnavailable, Exception)
