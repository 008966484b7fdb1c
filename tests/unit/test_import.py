"""The CSV import service: every bad row with its line, then all or none, on both engines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal import crypto, events
from portal.access import accounts, first_sign_in, passwords
from portal.context import Portal
from portal.errors import ConstraintViolation, InvalidCredentials, InvalidInput, PermissionDenied
from portal.manager import importer
from portal.models import Identity, Role
from portal.settings import Settings
from store import users_bulk
from tests.conftest import PASSWORD, PostgresTemplate, add_user, on_engine

HEADER = "username,display_name,email,role\n"


@pytest.fixture(params=["duckdb", "postgresql"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The shared settings on a DuckDB file, then on a fresh PostgreSQL database."""
    yield from on_engine(settings, request)


def usernames(p: Portal) -> list[str]:
    with p.db.read() as cur:
        return [
            r[0] for r in cur.execute("SELECT username FROM users ORDER BY username").fetchall()
        ]


def imports(p: Portal) -> list[tuple[str, str, str]]:
    with p.db.read() as cur:
        rows = cur.execute(
            "SELECT actor, source, detail FROM audit WHERE event = ?", [events.USERS_IMPORTED]
        ).fetchall()
    return [tuple(r) for r in rows]


def test_every_bad_row_is_reported_with_its_line_and_reason(p: Portal) -> None:
    accounts.create_account(p, None, "taken", PASSWORD)
    text = (
        HEADER
        + "ann,Ann A,ann@example.org,user\n"  # 2: fine
        + "-x,Bad,,\n"  # 3: bad username
        + "ANN,Ann again,,\n"  # 4: the same name as line 2 (names are lower-cased)
        + "taken,Has one,,\n"  # 5: exists in the database
        + "bob,Bob,not-an-address,\n"  # 6: bad email
        + "cy,Cy,,admin\n"  # 7: bad role
        + "dee,Dee\n"  # 8: wrong column count
        + "\n"  # 9: blank, skipped
        + "eve,Eve\x07,,\n"  # 10: control character in the display name
        + "fay,Fay,,security_manager\n"  # 11: fine
        + "\x1b[2Jx,,,\n"  # 12: a terminal escape in a refused name is not printed as is
        + "gus,Gus,g\x00s@example.org,\n"  # 13: PostgreSQL refuses NUL in text: refused here
    )
    plan = importer.plan_import(p, None, text.encode())
    found = [(pr.line, pr.username, pr.reason) for pr in plan.problems]
    assert [(line, name) for line, name, _ in found] == [
        (3, "-x"),
        (4, "ann"),
        (5, "taken"),
        (6, "bob"),
        (7, "cy"),
        (8, "dee"),
        (10, "eve"),
        (12, "\ufffd[2Jx"),
        (13, "gus"),
    ]
    reasons = dict((line, reason) for line, _, reason in found)
    assert "A username has 2-64 characters" in reasons[3]
    assert reasons[4] == "also on line 2"
    assert reasons[5] == "already has an account"
    assert "email address" in reasons[6]
    assert "Unknown role 'admin'" in reasons[7]
    assert reasons[8] == "2 columns, the header has 4"
    assert "control characters" in reasons[10]
    assert reasons[13] == "The email address contains control characters."
    assert [(r.line, r.username, r.role) for r in plan.rows] == [
        (2, "ann", Role.USER),
        (11, "fay", Role.SECURITY_MANAGER),
    ]
    assert not plan.ok
    with pytest.raises(InvalidInput, match="nothing was imported"):
        importer.run_import(p, None, "os:test", plan, "cli")
    assert usernames(p) == ["taken"] and imports(p) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"  \n", "The file is empty"),
        (HEADER.encode(), "a header but no people"),
        (b"name,mail\nann,a@b.org\n", "The first line must name the columns"),
        (b"username,colour\nann,red\n", "not a column: colour"),
        ("username\nj\u00f6rg\n".encode("latin-1"), r"not UTF-8 text \(line 2\)"),
    ],
)
def test_a_file_that_is_not_a_people_csv_is_refused_in_one_line(
    p: Portal, data: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        importer.plan_import(p, None, data)


def test_a_bom_and_optional_columns_are_fine_and_role_defaults(p: Portal) -> None:
    plan = importer.plan_import(p, None, "\ufeffUsername,Email\nAnn,ann@example.org\n".encode())
    assert plan.ok
    assert plan.rows == (importer.Row(2, "ann", "ann", "ann@example.org", Role.USER),)
    managers = importer.plan_import(p, None, b"username\nbo\n", Role.SECURITY_MANAGER)
    assert managers.rows[0].role is Role.SECURITY_MANAGER


def test_checking_writes_nothing(p: Portal) -> None:
    plan = importer.plan_import(p, None, (HEADER + "ann,Ann,,\nbob,Bob,,\n").encode())
    assert plan.ok and len(plan.rows) == 2
    assert usernames(p) == [] and imports(p) == []


def test_import_creates_every_account_with_one_audit_row(p: Portal) -> None:
    text = HEADER + "ann,Ann A,ann@example.org,\nbob,,,security_manager\n"
    made = importer.run_import(
        p, None, "os:alice", importer.plan_import(p, None, text.encode()), "cli"
    )
    assert [c.username for c in made] == ["ann", "bob"]
    assert usernames(p) == ["ann", "bob"]
    with p.db.read() as cur:
        rows = cur.execute(
            "SELECT username, display_name, role, email, created_at FROM users ORDER BY username"
        ).fetchall()
    assert [r[:4] for r in rows] == [
        ("ann", "Ann A", "user", "ann@example.org"),
        ("bob", "bob", "security_manager", None),
    ]
    assert all(r[4] == p.now() for r in rows)
    assert imports(p) == [("os:alice", "cli", "2 account(s): 1 user(s), 1 security manager(s)")]
    assert "ann," + made[0].first_password in importer.passwords_csv(made)


def test_a_name_created_meanwhile_fails_the_whole_import_and_creates_none(p: Portal) -> None:
    plan = importer.plan_import(p, None, (HEADER + "ann,,,\nbob,,,\ncy,,,\n").encode())
    assert plan.ok

    def someone_else_creates_bob(done: int, total: int) -> None:
        accounts.create_account(p, None, "bob", PASSWORD)  # its own, committed transaction

    with pytest.raises(InvalidInput, match=r"while the import ran \(bob\): nothing was imported"):
        importer.run_import(p, None, "os:test", plan, "cli", someone_else_creates_bob)
    assert usernames(p) == ["bob"] and imports(p) == []


def test_the_bulk_insert_keeps_no_row_when_one_name_exists(p: Portal) -> None:
    accounts.create_account(p, None, "bob", PASSWORD)
    people = [users_bulk.NewUser(n, n, Role.USER, "x", None) for n in ("ann", "bob", "cy")]
    with pytest.raises(ConstraintViolation), p.db.write() as cur:
        users_bulk.insert_users_bulk(cur, people, p.now())
    assert usernames(p) == ["bob"]


def test_twenty_thousand_rows_import_in_one_go(p: Portal) -> None:
    text = HEADER + "".join(f"p{i:05d},Person {i},p{i}@example.org,\n" for i in range(20_000))
    seen: list[tuple[int, int]] = []
    plan = importer.plan_import(p, None, text.encode())
    made = importer.run_import(p, None, "os:test", plan, "cli", lambda d, t: seen.append((d, t)))
    assert len(made) == 20_000 and len({c.first_password for c in made}) == 20_000
    with p.db.read() as cur:
        assert cur.execute("SELECT count(*), count(email) FROM users").fetchone() == (
            20_000,
            20_000,
        )
    assert seen[-1] == (20_000, 20_000) and len(seen) == 40
    assert imports(p) == [
        ("os:test", "cli", "20000 account(s): 20000 user(s), 0 security manager(s)")
    ]


def test_only_a_manager_imports_from_the_page(p: Portal, boss: Identity) -> None:
    data = (HEADER + "ann,,,\n").encode()
    user = add_user(p, "uma")
    with pytest.raises(PermissionDenied):  # the plan would tell which names have accounts
        importer.plan_import(p, user, data)
    plan = importer.plan_import(p, boss, data)
    with pytest.raises(PermissionDenied):
        importer.run_import(p, user, user.username, plan, "manager page")
    assert imports(p) == []
    importer.run_import(p, boss, boss.username, plan, "manager page")
    assert imports(p) == [
        ("boss", "manager page", "1 account(s): 1 user(s), 0 security manager(s)")
    ]


def test_a_first_password_form_matches_only_its_password() -> None:
    clear = importer.first_password()
    assert len(clear) == 23 and clear.count("-") == 3
    stored = passwords.first_password_hash(clear, 4)
    assert passwords.check_password(clear, stored)
    assert not passwords.check_password(clear + "x", stored)
    assert not passwords.check_password(clear.upper(), stored)
    assert passwords.first_password_matches(clear, passwords.hash_password(clear, 4)) is None


def test_an_imported_person_signs_in_with_the_first_password_then_changes_it(p: Portal) -> None:
    text = HEADER + "ann,Ann,,\n"
    made = importer.run_import(p, None, "os:t", importer.plan_import(p, None, text.encode()), "cli")
    first = made[0].first_password
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(p, "ann", first + "x", "10.0.0.1")
    ok = accounts.sign_in_password(p, "ann", first, "10.0.0.1")
    assert ok.user.username == "ann" and ok.identity is None  # not signed in: change it first
    assert ok.next is accounts.Next.NEW_PASSWORD
    new = "a fresh long passphrase 7"
    done = first_sign_in.set_first_password(p, ok.user.id, ok.password_at, new, new, "10.0.0.1")
    assert done.next is accounts.Next.DONE and done.identity is not None
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(p, "ann", first, "10.0.0.1")
    assert accounts.sign_in_password(p, "ann", new, "10.0.0.1").user.username == "ann"


def test_a_concurrent_insert_of_a_name_on_postgresql_fails_the_whole_import(
    postgres_template: PostgresTemplate, clock
) -> None:
    """Another transaction holds a new 'bob' uncommitted: the import waits, then creates none."""
    import threading
    import time

    import psycopg

    from portal.context import open_portal

    url = postgres_template.fresh()
    key = crypto.encode_key(crypto.new_key())
    p = open_portal(Settings(db_path=url, secret_key=key, bcrypt_rounds=4), clock)
    other = psycopg.connect(url)
    try:
        plan = importer.plan_import(p, None, (HEADER + "ann,,,\nbob,,,\ncy,,,\n").encode())
        other.execute(
            "INSERT INTO users (username, display_name, role, password_hash, created_at)"
            " VALUES ('bob', 'bob', 'user', 'x', now())"
        )  # not committed yet: the import's own check cannot see it
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                importer.run_import(p, None, "os:test", plan, "cli")
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        waited = 0.0
        while waited < 20 and not _waiting_on_a_lock(url):  # the import's INSERT blocks on bob
            time.sleep(0.05)
            waited += 0.05
        assert _waiting_on_a_lock(url)
        other.commit()
        worker.join(30)
        assert isinstance(outcome[0], InvalidInput), outcome
        assert "nothing was imported" in str(outcome[0])
        assert usernames(p) == ["bob"] and imports(p) == []
    finally:
        other.close()
        p.db.close()
        postgres_template.drop(url)


def _waiting_on_a_lock(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])
