"""The `portal` command, run as a person would: a subprocess on a real database file."""

import base64
import json
import subprocess
import sys

from portal import crypto
from store import open_database
from tests.conftest import PASSWORD, ROOT


def portal(*args, stdin="", db=None, env_key=None, extra_env=None):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_BCRYPT_ROUNDS"] = "4"
    if env_key:
        env["PORTAL_SECRET_KEY"] = env_key
    env.update(extra_env or {})
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


def test_serve_refuses_a_bad_rules_file_or_cookie_domain_in_one_line(tmp_path):
    db = tmp_path / "serve.duckdb"
    key = crypto.encode_key(crypto.new_key())
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nhost = "app.example.org"\nallow = "everyone"\n')
    bad_rule = {"PORTAL_AUTHZ_HOSTS": "app.example.org", "PORTAL_AUTHZ_RULES_FILE": str(rules)}
    bad_domain = {
        "PORTAL_PUBLIC_URL": "https://2fa.example.org",
        "PORTAL_SESSION_COOKIE_DOMAIN": "other.example.com",
    }
    for extra, said in ((bad_rule, "rule allow must be one of"), (bad_domain, "example.com")):
        out = portal("serve", "--port", "1", db=db, env_key=key, extra_env=extra)
        assert out.returncode == 2, out.stdout
        assert said in out.stderr and out.stderr.startswith("portal: ")
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


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
    assert "Stop that server first, or run the portal on PostgreSQL" in out.stderr
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


def test_secret_key_file_is_read_never_created_and_equals_the_variable(tmp_path):
    db, key_file = tmp_path / "f.duckdb", tmp_path / "portal.key"
    key_env = {"PORTAL_SECRET_KEY_FILE": str(key_file)}
    missing = portal(
        "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=db, extra_env=key_env
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr
    assert not key_file.exists() and not db.exists()  # nothing created, not even the database
    key = crypto.new_key()
    key_file.write_text(base64.b64encode(key).decode() + "\n")  # as `openssl rand -base64 32`
    made = portal(
        "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=db, extra_env=key_env
    )
    assert made.returncode == 0, made.stderr
    assert not (tmp_path / "f.duckdb.key").exists()  # the configured file, not <db>.key
    same = portal("user", "list", db=db, env_key=crypto.encode_key(key))
    assert same.returncode == 0 and "alice" in same.stdout, same.stderr
    key_file.write_text(crypto.encode_key(crypto.new_key()))
    other = portal("user", "list", db=db, extra_env=key_env)
    assert other.returncode == 2 and other.stderr.count("\n") == 1, other.stderr
    assert f"does not match this database: the key file {key_file}" in other.stderr


def test_secret_key_and_secret_key_file_together_are_refused(tmp_path):
    key_file = tmp_path / "portal.key"
    key_file.write_text(crypto.encode_key(crypto.new_key()))
    out = portal(
        "user",
        "list",
        db=tmp_path / "b.duckdb",
        env_key=crypto.encode_key(crypto.new_key()),
        extra_env={"PORTAL_SECRET_KEY_FILE": str(key_file)},
    )
    assert out.returncode == 2 and "not both" in out.stderr and "Traceback" not in out.stderr
