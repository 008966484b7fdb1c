"""Backups taken inside the server while people sign in, restored and used again."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from portal import crypto, events
from portal.access import accounts
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import EncryptionKeyError, InvalidInput, StoreUnavailable
from portal.models import Identity
from portal.ops import backup, restore
from portal.settings import Settings
from portal.twofactor import second_factor
from tests.conftest import PASSWORD, add_user, enrol

SIGNERS = 3
SEEDED = 100_000


def _rows(p: Portal) -> dict[str, set[tuple[object, ...]]]:
    """Every committed row a sign-in or an enrolment writes (columns that never change later)."""
    queries = {
        "users": "SELECT id, username, role, password_hash FROM users",
        "factors": "SELECT id, user_id, secret_enc, created_at FROM factors",
        "codes": "SELECT id, factor_id, code_enc FROM backup_codes",
        "used": "SELECT id, used_at FROM backup_codes WHERE used_at IS NOT NULL",
        "audit": "SELECT id, occurred_at, event, actor, subject, source, detail FROM audit",
    }
    with p.db.read() as cur:
        return {name: set(cur.execute(sql).fetchall()) for name, sql in queries.items()}


def _used_codes_match_their_audit_rows(p: Portal) -> None:
    """A used code and its audit row commit together: a torn copy would break this."""
    with p.db.read() as cur:
        used = cur.execute(
            "SELECT u.username, count(*) FROM backup_codes c JOIN users u ON u.id = c.user_id"
            " WHERE c.used_at IS NOT NULL GROUP BY u.username"
        ).fetchall()
        audited = cur.execute(
            "SELECT subject, count(*) FROM audit WHERE event = ? GROUP BY subject",
            [events.CODE_USED],
        ).fetchall()
    assert dict(used) == dict(audited)


class Traffic:
    """Threads signing in (password only; password + backup code) and enrolling people."""

    def __init__(self, p: Portal, clock: FixedClock, people: list[tuple[Identity, list[str]]]):
        self.p, self.clock = p, clock
        self.stop = threading.Event()
        self.signed_in = 0  # sign-ins done, for the figure the test prints
        self.warm = threading.Barrier(len(people) + 4)  # each thread has committed once, + main
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._sign_ins, args=(who, codes)) for who, codes in people
        ] + [threading.Thread(target=self._enrolments)]
        self.threads += [
            threading.Thread(target=self._passwords, args=(n,)) for n in ("pw0", "pw1")
        ]
        for name in ("pw0", "pw1"):
            add_user(p, name)

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        self.warm.wait(60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        assert self.errors == []

    def _guard(self, work: object) -> None:
        try:
            work()  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - reported by __exit__
            self.errors.append(exc)
            self.stop.set()
            self.warm.abort()

    def _sign_ins(self, who: Identity, codes: list[str]) -> None:
        def run() -> None:
            for i, code in enumerate(codes[:-1]):  # the last one is for the restored copy
                ok = accounts.sign_in_password(self.p, who.username, PASSWORD, "10.0.0.1 t")
                second_factor.verify_sign_in(self.p, ok.user.id, ok.password_at, code, "t")
                self.signed_in += 1
                if i == 0:
                    self.warm.wait(60)
                if self.stop.is_set():
                    return

        self._guard(run)

    def _passwords(self, name: str) -> None:
        def run() -> None:
            first = True
            while not self.stop.is_set():
                accounts.sign_in_password(self.p, name, PASSWORD, "10.0.0.3 t")
                self.signed_in += 1
                if first:
                    self.warm.wait(60)
                    first = False

        self._guard(run)

    def _enrolments(self) -> None:
        def run() -> None:
            n = 0
            while not self.stop.is_set() and n < 4:  # each moves the clock on 30 s
                n += 1
                who = add_user(self.p, f"new{n}")
                enrol(self.p, self.clock, who)
                if n == 1:
                    self.warm.wait(60)

        self._guard(run)


def test_a_backup_taken_during_sign_ins_restores_everything_committed_before_it(
    portal: Portal, clock: FixedClock, settings: Settings, tmp_path: Path
) -> None:
    people = []
    for i in range(SIGNERS):
        _, codes, who = enrol(portal, clock, add_user(portal, f"person{i}"))
        people.append((who, codes))
    with portal.db.write() as cur:  # a trail long enough that sign-ins run while it is copied
        cur.execute(
            "INSERT INTO audit (occurred_at, event, actor, subject, source, detail)"
            " SELECT ?, 'seeded', 'a', 'b', 'c', repeat('d', 40) FROM range(?)",
            [clock.now(), SEEDED],
        )
    dest = tmp_path / "backups" / "copy.duckdb"
    dest.parent.mkdir()
    with Traffic(portal, clock, people) as traffic:
        before = _rows(portal)  # all committed now, so all committed before the backup began
        started = traffic.signed_in
        backup.write_from_server(portal, dest)
        print(f"sign-ins while the backup ran: {traffic.signed_in - started}")
    assert dest.is_file() and dest.stat().st_mode & 0o077 == 0
    assert [p.name for p in dest.parent.iterdir()] == ["copy.duckdb"]  # no temporary file left
    again = dataclasses.replace(settings, db_path=str(tmp_path / "restored.duckdb"))
    restore.restore(again, dest, force=False)
    restored = open_portal(again, clock)
    try:
        after = _rows(restored)
        for table, rows in before.items():
            assert rows <= after[table], table
        assert before["audit"] and before["factors"]
        _used_codes_match_their_audit_rows(restored)
        # The restored database opens with the key and serves a sign-in with a backup code.
        who, codes = people[0]
        ok = accounts.sign_in_password(restored, who.username, PASSWORD, "10.0.0.2 t")
        done = second_factor.verify_sign_in(restored, ok.user.id, ok.password_at, codes[-1], "t")
        assert done.identity.username == who.username
    finally:
        restored.db.close()


def test_restore_refuses_another_key_and_an_existing_database(
    portal: Portal, settings: Settings, tmp_path: Path
) -> None:
    add_user(portal, "alice")
    dest = backup.write_from_server(portal, tmp_path / "b.duckdb")
    other = dataclasses.replace(
        settings,
        db_path=str(tmp_path / "other.duckdb"),
        secret_key=crypto.encode_key(crypto.new_key()),
    )
    with pytest.raises(EncryptionKeyError, match="is not the key of the backup"):
        restore.restore(other, dest, force=True)
    assert not Path(other.db_path).exists()  # nothing was written
    portal.db.close()
    size = Path(settings.db_path).stat().st_size
    with pytest.raises(InvalidInput, match="add --force"):
        restore.restore(settings, dest, force=False)
    assert Path(settings.db_path).stat().st_size == size


def test_restore_with_force_replaces_the_database(
    portal: Portal, settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    add_user(portal, "alice")
    dest = backup.write_from_server(portal, tmp_path / "b.duckdb")
    add_user(portal, "bob")  # after the backup: gone once it is restored
    portal.db.close()
    restore.restore(settings, dest, force=True)
    p = open_portal(settings, clock)
    try:
        assert [u.username for u in accounts.all_accounts(p)] == ["alice"]
        with p.db.read() as cur:
            last = cur.execute("SELECT event, actor FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        assert last is not None and last[0] == events.DATABASE_RESTORED
        assert str(last[1]).startswith("os:")
        add_user(p, "carol")  # the sequences came along: new rows get new ids
    finally:
        p.db.close()


def test_a_file_that_is_no_portal_backup_is_refused(settings: Settings, tmp_path: Path) -> None:
    stray = tmp_path / "stray.duckdb"
    stray.write_bytes(b"not a database at all")
    with pytest.raises(StoreUnavailable, match="cannot be read as a DuckDB database"):
        restore.restore(settings, stray, force=False)
    assert not Path(settings.db_path).exists()


def test_a_backup_destination_that_exists_is_refused(portal: Portal, tmp_path: Path) -> None:
    taken = tmp_path / "taken.duckdb"
    taken.write_text("mine")
    with pytest.raises(InvalidInput, match="exists already"):
        backup.target(taken, portal.settings.db_path, portal.now())
    assert taken.read_text() == "mine"
    named = backup.target(tmp_path, "data/portal.duckdb", portal.now())
    assert named.name == "portal-20260302T090000Z.duckdb"
