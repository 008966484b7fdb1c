"""The `portal` command, run as a person would: a subprocess on a real database file."""

import json
import subprocess
import sys

from portal import crypto
from store import open_database
from tests.conftest import PASSWORD, ROOT


def portal(*args, stdin="", db=None, env_key=None):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_BCRYPT_ROUNDS"] = "4"
    if env_key:
        env["PORTAL_SECRET_KEY"] = env_key
    cmd = [sys.executable, "-m", "portal", *args]
    if db:
        cmd += ["--db", str(db)]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )


def test_user_add_and_list(tmp_path):
    db = tmp_path / "cli.duckdb"
    out = portal(
        "user",
        "add",
        "Alice",
        "--role",
        "security_manager",
        "--password-stdin",
        "--email",
        "alice@example.org",
        stdin=PASSWORD + "\n",
        db=db,
    )
    assert out.returncode == 0, out.stderr
    assert "created alice (security_manager)" in out.stdout
    assert (tmp_path / "cli.duckdb.key").exists()
    listed = portal("user", "list", "--json", db=db)
    rows = json.loads(listed.stdout)
    assert [(r["username"], r["role"]) for r in rows] == [("alice", "security_manager")]


def test_bad_input_is_one_line_not_a_traceback(tmp_path):
    db = tmp_path / "cli.duckdb"
    out = portal("user", "add", "x", "--password-stdin", stdin="short\n", db=db)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.startswith("portal: ")
    weak = portal("user", "add", "bob", "--password-stdin", stdin="password123\n", db=db)
    assert "too common" in weak.stderr and weak.returncode == 2


def test_database_held_by_another_process_gives_one_line(tmp_path):
    db = tmp_path / "held.duckdb"
    key = crypto.encode_key(crypto.new_key())
    holder = open_database(db)
    try:
        out = portal("user", "list", db=db, env_key=key)
    finally:
        holder.close()
    assert out.returncode == 2
    assert "in use by another running portal" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_missing_key_file_gives_one_line(tmp_path):
    db = tmp_path / "k.duckdb"
    assert (
        portal("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=db).returncode
        == 0
    )
    (tmp_path / "k.duckdb.key").unlink()
    out = portal("user", "list", db=db)
    assert out.returncode == 2 and "key file" in out.stderr and "Traceback" not in out.stderr


def test_help_lists_the_commands():
    out = portal("--help")
    assert out.returncode == 0
    for word in ("serve", "user"):
        assert word in out.stdout


def test_serve_keeps_a_postgresql_url_and_never_prints_its_password(tmp_path):
    import dataclasses

    from portal import cli
    from portal.settings import Settings

    url = "postgresql://portal:s3cret-pw@127.0.0.1:5433/portal"
    env = cli._server_env(dataclasses.replace(Settings(), db_path=url))
    assert env["PORTAL_DB"] == url  # a file path would be made absolute; a URL must not be
    assert "s3cret-pw" not in cli._shown(url) and "127.0.0.1:5433/portal" in cli._shown(url)
    file_env = cli._server_env(dataclasses.replace(Settings(), db_path="rel/p.duckdb"))
    assert file_env["PORTAL_DB"].startswith("/") and file_env["PORTAL_DB"].endswith("rel/p.duckdb")
