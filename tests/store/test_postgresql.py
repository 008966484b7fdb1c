"""PostgreSQL only: OS processes racing on one database, and the services end to end on it."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal import crypto
from portal.clock import FixedClock
from portal.context import open_portal
from portal.errors import EncryptionKeyError, InvalidCode
from portal.models import Role
from portal.settings import Settings
from portal.twofactor import second_factor, totp
from store import factors as factor_store
from store import open_database
from store import sessions as session_store
from store import users as user_store
from store.backends.postgresql import translate
from tests.conftest import START, add_user, enrol
from tests.store.conftest import database_target

PROCESSES = 4
LATER = START + dt.timedelta(minutes=1)


@pytest.fixture
def pg_url(postgres_server: str, tmp_path: Path) -> str:
    return database_target("postgresql", tmp_path)


def _grant(cur, ids) -> bool:  # type: ignore[no-untyped-def]
    return user_store.consume_reset_grant(cur, ids["user"], LATER)


def _step(cur, ids) -> bool:  # type: ignore[no-untyped-def]
    return factor_store.update_last_step(cur, ids["factor"], 1000)


def _ticket(cur, ids) -> bool:  # type: ignore[no-untyped-def]
    token = f"token-{multiprocessing.current_process().name}"
    return (
        session_store.update_redeem_ticket(cur, "ticket", "browser", token, "ua", LATER) is not None
    )


RACES: dict[str, Callable[..., bool]] = {"grant": _grant, "step": _step, "ticket": _ticket}


def _racer(url: str, race: str, ids: dict[str, int], barrier, results) -> None:  # type: ignore[no-untyped-def]
    try:
        db = open_database(url, pool_size=1)
        try:
            barrier.wait(timeout=60)
            with db.write() as cur:
                results.put(RACES[race](cur, ids))
        finally:
            db.close()
    except BaseException as exc:  # the parent must hear it, not wait for a result
        results.put(f"{type(exc).__name__}: {exc}")
        raise


@contextlib.contextmanager
def plain_main() -> Iterator[None]:
    """Start 'spawn' children as if from a plain interpreter.

    AppTest (Streamlit's script runner) leaves an app script as sys.modules["__main__"], and a
    spawned child would run that script first; a bare __main__ makes the child import nothing.
    """
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def _seed(url: str) -> dict[str, int]:
    db = open_database(url)
    with db.write() as cur:
        uid = user_store.insert_user(cur, "alice", "Alice", Role.USER, "h", START)
        user_store.update_reset_grant(cur, uid, START, START + dt.timedelta(hours=1), "boss")
        fid = factor_store.insert_factor(cur, uid, b"enc", START)
        session_store.insert_session(
            cur, "s1", uid, "ticket", "browser", START + dt.timedelta(hours=1), START, None, "t"
        )
    db.close()
    return {"user": uid, "factor": fid}


@pytest.mark.parametrize("race", sorted(RACES))
def test_processes_released_together_get_exactly_one_success(pg_url: str, race: str) -> None:
    ids = _seed(pg_url)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=_racer, args=(pg_url, race, ids, barrier, results))
        for _ in range(PROCESSES)
    ]
    with plain_main():
        for proc in procs:
            proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert sorted(outcomes) == [False] * (PROCESSES - 1) + [True]


def test_the_services_work_on_postgresql_and_a_replayed_code_is_refused(pg_url: str) -> None:
    settings = Settings(
        db_path=pg_url, secret_key=crypto.encode_key(crypto.new_key()), bcrypt_rounds=4
    )
    clock = FixedClock(START)
    p = open_portal(settings, clock)
    try:
        who = add_user(p, "alice")
        secret, codes, who = enrol(p, clock, who)
        code = totp.code_at(secret, clock.now())
        verified = second_factor.verify_sign_in(p, who.user_id, clock.now(), code, "t")
        assert verified.identity.username == "alice"
        with pytest.raises(InvalidCode):
            second_factor.verify_sign_in(p, who.user_id, clock.now(), code, "t")
        used = second_factor.verify_sign_in(p, who.user_id, clock.now(), codes[0], "t")
        assert used.used_backup_code and used.backup_codes_left == len(codes) - 1
    finally:
        p.db.close()
    again = open_portal(settings, clock)  # the same key opens it again
    again.db.close()


def test_postgresql_without_a_secret_key_refuses_with_one_line(pg_url: str) -> None:
    with pytest.raises(EncryptionKeyError) as caught:
        open_portal(Settings(db_path=pg_url))
    assert "PORTAL_SECRET_KEY" in str(caught.value) and "\n" not in str(caught.value)


def test_postgresql_with_another_key_refuses(pg_url: str) -> None:
    first = Settings(db_path=pg_url, secret_key=crypto.encode_key(crypto.new_key()))
    open_portal(first).db.close()
    other = Settings(db_path=pg_url, secret_key=crypto.encode_key(crypto.new_key()))
    with pytest.raises(EncryptionKeyError) as caught:
        open_portal(other)
    assert "does not match" in str(caught.value) and "postgresql://" not in str(caught.value)


def test_placeholders_are_translated_outside_quotes_only() -> None:
    sql = "SELECT ?, 'a?b%', \"c?\", 5 % 2 FROM t WHERE s = 'it''s ?' AND n = ?"
    assert translate(sql) == (
        "SELECT %s, 'a?b%%', \"c?\", 5 %% 2 FROM t WHERE s = 'it''s ?' AND n = %s"
    )
