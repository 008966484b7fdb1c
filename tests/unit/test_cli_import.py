"""`portal user import`, through the real portal.cli.main, on a DuckDB file and on PostgreSQL."""

from __future__ import annotations

import getpass
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal import crypto, events
from portal.cli import main
from portal.cli_import import progress_bar
from store import open_database
from tests.conftest import PostgresTemplate

PEOPLE = (
    "username,display_name,email,role\nann,Ann A,ann@example.org,\nbob,Bob B,,security_manager\n"
)


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(params=["duckdb", "postgresql"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database target for --db: a DuckDB file, then a fresh PostgreSQL database."""
    for name in ("PORTAL_DB", "PORTAL_SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_BCRYPT_ROUNDS", "4")
    if request.param == "duckdb":
        monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
        yield str(tmp_path / "cli.duckdb")
        return
    monkeypatch.setenv("PORTAL_SECRET_KEY", crypto.encode_key(crypto.new_key()))
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    url = template.fresh()
    yield url
    template.drop(url)


def csv_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def query(db: str, sql: str) -> list[tuple]:
    database = open_database(db)
    try:
        with database.read() as cur:
            return cur.execute(sql).fetchall()
    finally:
        database.close()


def test_dry_run_checks_and_writes_nothing(db: str, tmp_path: Path, capsys) -> None:
    code = main(["user", "import", csv_file(tmp_path, PEOPLE), "--dry-run", "--db", db])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "would create 2 account(s) (1 user, 1 manager); nothing was written" in out.out
    assert query(db, "SELECT count(*) FROM users") == [(0,)]


def test_every_bad_row_is_listed_and_nothing_is_created(db: str, tmp_path: Path, capsys) -> None:
    text = PEOPLE + "Ann,dup,,\nc,,,\nduo,Duo,x@,\n"
    code = main(["user", "import", csv_file(tmp_path, text), "--yes", "--db", db])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == "line 4: ann: also on line 2"
    assert lines[1].startswith("line 5: c: A username has 2-64 characters")
    assert lines[2].startswith("line 6: duo: That email address does not look right")
    assert lines[3].startswith("portal: 3 row(s) with problems, 2 fine: nothing was imported")
    assert "Traceback" not in err
    assert query(db, "SELECT count(*) FROM users") == [(0,)]


def test_import_prints_the_first_passwords_once_and_audits_the_os_user(
    db: str, tmp_path: Path, capsys
) -> None:
    code = main(["user", "import", csv_file(tmp_path, PEOPLE), "--yes", "--db", db])
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = out.out.splitlines()
    assert lines[0] == "username,first_password"
    assert [line.split(",")[0] for line in lines[1:]] == ["ann", "bob"]
    assert "created 2 account(s)" in out.err
    assert "preparing accounts" not in out.err  # stderr is not a terminal: no bar
    rows = query(db, "SELECT username, role, email FROM users ORDER BY username")
    assert rows == [("ann", "user", "ann@example.org"), ("bob", "security_manager", None)]
    audit = query(
        db, f"SELECT actor, source, detail FROM audit WHERE event = '{events.USERS_IMPORTED}'"
    )
    assert audit == [
        (f"os:{getpass.getuser()}", "cli", "2 account(s): 1 user(s), 1 security manager(s)")
    ]
    stored = query(db, "SELECT password_hash FROM users")
    assert all(lines[1].split(",")[1] not in h for (h,) in stored)  # never in clear


def test_role_option_sets_the_role_of_rows_without_one(db: str, tmp_path: Path, capsys) -> None:
    path = csv_file(tmp_path, "username\nann\n")
    assert main(["user", "import", path, "--yes", "--role", "security_manager", "--db", db]) == 0
    assert query(db, "SELECT role FROM users") == [("security_manager",)]


def test_without_yes_it_asks_on_a_terminal_and_refuses_otherwise(
    db: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = csv_file(tmp_path, PEOPLE)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # a pipe, not a person
    assert main(["user", "import", path, "--db", db]) == 2
    assert "standard input is not a terminal: add --yes" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(["user", "import", path, "--db", db]) == 1
    out = capsys.readouterr()
    assert "Create 2 account(s) (1 user, 1 manager)? [y/N]" in out.err and out.out == ""
    assert query(db, "SELECT count(*) FROM users") == [(0,)]
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert main(["user", "import", path, "--db", db]) == 0
    assert query(db, "SELECT count(*) FROM users") == [(2,)]


def test_a_missing_or_binary_file_is_one_line(db: str, tmp_path: Path, capsys) -> None:
    assert main(["user", "import", str(tmp_path / "nope.csv"), "--yes", "--db", db]) == 2
    assert capsys.readouterr().err.startswith("portal: Cannot read ")
    (tmp_path / "bin.csv").write_bytes(b"username\n\xff\xfe\n")
    assert main(["user", "import", str(tmp_path / "bin.csv"), "--yes", "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portal: The file is not UTF-8 text (line 2)") and err.count("\n") == 1


def test_the_progress_bar_shows_on_a_terminal_only() -> None:
    assert progress_bar(io.StringIO()) is None
    screen = Terminal()
    show = progress_bar(screen)
    assert show is not None
    show(500, 1000)
    show(1000, 1000)
    assert screen.getvalue().endswith("[" + "#" * 30 + "] 1,000/1,000\n")
    assert "[" + "#" * 15 + "." * 15 + "] 500/1,000" in screen.getvalue()
