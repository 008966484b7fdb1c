"""Each key's stored count of unused backup codes (factors.codes_left, migration 0008) stays
equal to the real count through every change of the codes, on every backend."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from portal import crypto
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import InvalidCode
from portal.manager import actions, reports
from portal.models import Identity, Role, UserQuery
from portal.settings import Settings
from portal.twofactor import second_factor, self_service
from store import migrate
from store import reports as report_store
from tests.conftest import START, add_user, enrol
from tests.store.conftest import connect_unmigrated, database_target

FRESH_SECONDS = 30  # a new time step for the next TOTP code


@pytest.fixture
def env(backend: str, tmp_path: Path) -> Iterator[tuple[Portal, FixedClock]]:
    clock = FixedClock(START)
    settings = Settings(
        db_path=database_target(backend, tmp_path),
        secret_key=crypto.encode_key(crypto.new_key()),
        bcrypt_rounds=4,
    )
    p = open_portal(settings, clock)
    yield p, clock
    p.db.close()


def stored_and_real(p: Portal) -> list[tuple[int, int, int]]:
    """(factor id, stored count, counted unused codes) of every key."""
    with p.db.read() as cur:
        rows = cur.execute(
            "SELECT f.id, f.codes_left, (SELECT count(*) FROM backup_codes b"
            " WHERE b.factor_id = f.id AND b.used_at IS NULL) FROM factors f ORDER BY f.id"
        ).fetchall()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


def assert_counts_true(p: Portal) -> None:
    for factor_id, stored, real in stored_and_real(p):
        assert stored == real, f"factor {factor_id}: stored {stored}, real {real}"
    with p.db.read() as cur:  # the overview, counted directly, agrees with the per-person view
        for low in (3, 9, 10):
            direct = report_store.get_overview(cur, p.now(), low)
            assert direct == report_store.get_overview_from_view(cur, p.now(), low)


def codes_left_shown(p: Portal, boss: Identity, username: str) -> int | None:
    """What the manager's table says for one person."""
    rows = reports.accounts_page(p, boss, UserQuery(search=username)).rows
    return next(r.backup_codes_left for r in rows if r.username == username)


def sign_in_with(p: Portal, who: Identity, code: str) -> second_factor.Verified:
    return second_factor.verify_sign_in(p, who.user_id, p.now(), code, "test")


def test_the_count_follows_issue_use_regenerate_reset_and_deactivate(env) -> None:
    p, clock = env
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    _, _, boss = enrol(p, clock, boss)
    alice = add_user(p, "alice")
    _, codes, alice = enrol(p, clock, alice)
    assert [s for _, s, _ in stored_and_real(p)] == [10, 10]
    assert_counts_true(p)

    verified = sign_in_with(p, alice, codes[0])  # a code used at sign-in
    assert verified.backup_codes_left == 9
    with pytest.raises(InvalidCode):  # a code works once
        sign_in_with(p, alice, codes[0])
    assert_counts_true(p)
    assert codes_left_shown(p, boss, "alice") == 9

    fresh = self_service.regenerate_backup_codes(p, verified.identity, "test")
    assert len(fresh) == 10
    assert_counts_true(p)
    assert codes_left_shown(p, boss, "alice") == 10
    sign_in_with(p, alice, fresh[3])
    assert codes_left_shown(p, boss, "alice") == 9

    actions.grant_reset(p, boss, [alice.user_id], "lost phone", "test")  # keys and codes go
    assert_counts_true(p)
    _, again, alice = enrol(p, clock, alice)  # set up anew after the reset
    sign_in_with(p, alice, again[1])
    assert_counts_true(p)
    assert codes_left_shown(p, boss, "alice") == 9

    clock.advance(seconds=FRESH_SECONDS)
    actions.deactivate_for(p, boss, [alice.user_id], "left the company", "test")
    assert_counts_true(p)
    assert codes_left_shown(p, boss, "alice") is None
    assert reports.overview(p, boss).enabled == 1


def _use_together(p: Portal, who: Identity, pair: list[str]) -> list[object]:
    """Two sign-ins with two codes, released together; what each returned (or raised)."""
    gate = threading.Barrier(len(pair))
    outcomes: list[object] = []

    def use(code: str) -> None:
        gate.wait()
        try:
            outcomes.append(sign_in_with(p, who, code).backup_codes_left)
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the caller
            outcomes.append(exc)

    threads = [threading.Thread(target=use, args=(c,)) for c in pair]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_codes_used_at_the_same_instant_both_count(env) -> None:
    p, clock = env
    bob = add_user(p, "bob")
    _, codes, bob = enrol(p, clock, bob)
    for round_ in range(3):  # a few rounds: a lost update shows up in any of them
        outcomes = _use_together(p, bob, codes[2 * round_ : 2 * round_ + 2])
        assert all(isinstance(o, int) for o in outcomes), outcomes
        assert_counts_true(p)
        assert stored_and_real(p)[0][1] == 10 - 2 * (round_ + 1)


def test_the_migration_counts_the_codes_already_there(backend: str, tmp_path: Path) -> None:
    folder = tmp_path / "before_0008"
    shipped = Path(str(resources.files("store").joinpath("migrations")))
    for src in shipped.rglob("*.sql"):
        if int(src.name[:4]) < 8:
            dest = folder / src.relative_to(shipped)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    db = connect_unmigrated(backend, tmp_path)
    try:
        migrate.apply(db, folder)
        with db.write() as cur:
            cur.execute(
                "INSERT INTO users (id, username, display_name, role, password_hash, created_at)"
                " VALUES (1, 'ann', 'Ann', 'user', 'h', ?)",
                [START],
            )
            for fid, status in ((1, "active"), (2, "pending"), (3, "active")):
                cur.execute(
                    "INSERT INTO factors (id, user_id, status, secret_enc, created_at)"
                    " VALUES (?, 1, ?, ?, ?)",
                    [fid, status, b"k", START],
                )
            for cid, fid, used in ((1, 1, None), (2, 1, START), (3, 1, None), (4, 2, None)):
                cur.execute(
                    "INSERT INTO backup_codes (id, user_id, factor_id, code_enc, created_at,"
                    " used_at) VALUES (?, 1, ?, ?, ?, ?)",
                    [cid, fid, b"c", START, used],
                )
        assert 8 in migrate.apply(db)
        with db.read() as cur:
            got = cur.execute("SELECT id, codes_left FROM factors ORDER BY id").fetchall()
        assert [tuple(r) for r in got] == [(1, 2), (2, 1), (3, 0)]
    finally:
        db.close()
