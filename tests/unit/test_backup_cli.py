"""`portal backup` and `portal restore`, run as an operator would: subprocesses, real files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from portal import crypto
from portal.ops import pg_dump
from store import open_database
from tests.conftest import PASSWORD, PostgresTemplate
from tests.unit.test_cli import portal


def _one_line(out: subprocess.CompletedProcess[str], said: str) -> None:
    assert out.returncode == 2, out.stdout
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("portal: ") and said in out.stderr, out.stderr


def test_backup_then_restore_on_another_machine_with_the_key(tmp_path: Path) -> None:
    db, folder = tmp_path / "live.duckdb", tmp_path / "backups"
    folder.mkdir()
    made = portal("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=db)
    assert made.returncode == 0, made.stderr
    out = portal("backup", str(folder), db=db)
    assert out.returncode == 0, out.stderr
    (copy,) = folder.iterdir()
    assert copy.name.startswith("live-") and copy.suffix == ".duckdb"
    assert "live.duckdb.key" in out.stdout and "apart" in out.stdout
    data, key = copy.read_bytes(), (tmp_path / "live.duckdb.key").read_text().strip()
    assert b"correct horse" not in data  # hashes only
    assert key.encode() not in data and crypto.decode_key(key) not in data  # never the key
    elsewhere = tmp_path / "new" / "portal.duckdb"
    elsewhere.parent.mkdir()
    no_key = portal("restore", str(copy), db=elsewhere)
    _one_line(no_key, "No key to restore with")
    assert not elsewhere.exists()
    (elsewhere.parent / "portal.duckdb.key").write_text((tmp_path / "live.duckdb.key").read_text())
    done = portal("restore", str(copy), db=elsewhere)
    assert done.returncode == 0, done.stderr
    listed = json.loads(portal("user", "list", "--json", db=elsewhere).stdout)
    assert [r["username"] for r in listed] == ["alice"]
    _one_line(portal("restore", str(copy), db=elsewhere), "add --force")
    assert portal("restore", str(copy), "--force", db=elsewhere).returncode == 0


def test_a_held_database_says_the_server_makes_the_backups(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    key = crypto.encode_key(crypto.new_key())
    portal("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=db, env_key=key)
    assert portal("backup", str(tmp_path / "b.duckdb"), db=db, env_key=key).returncode == 0
    holder = open_database(db)
    try:
        _one_line(portal("backup", str(tmp_path / "c.duckdb"), db=db), "backup_every_hours")
        restored = portal("restore", str(tmp_path / "b.duckdb"), "--force", db=db, env_key=key)
        _one_line(restored, "in use by another running portal")
    finally:
        holder.close()
    assert not (tmp_path / "c.duckdb").exists()


def test_a_wrong_key_is_refused_before_anything_changes(tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    key = crypto.encode_key(crypto.new_key())
    portal("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=db, env_key=key)
    assert portal("backup", str(tmp_path / "b.duckdb"), db=db, env_key=key).returncode == 0
    before = db.read_bytes()
    other = crypto.encode_key(crypto.new_key())
    wrong = portal("restore", str(tmp_path / "b.duckdb"), "--force", db=db, env_key=other)
    _one_line(wrong, "is not the key of the backup")
    assert db.read_bytes() == before


def test_on_postgresql_backup_runs_pg_dump_and_restore_points_to_pg_restore(
    tmp_path: Path, postgres_template: PostgresTemplate
) -> None:
    url = postgres_template.fresh()
    key = crypto.encode_key(crypto.new_key())
    try:
        made = portal(
            "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=url, env_key=key
        )
        assert made.returncode == 0, made.stderr
        out = portal("backup", str(tmp_path), db=url, env_key=key)
        assert out.returncode == 0, out.stderr
        (dump,) = tmp_path.glob("*.dump")
        assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
        listed = subprocess.run(
            ["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True
        )
        assert "TABLE DATA public audit" in listed.stdout
        _one_line(portal("restore", str(dump), db=url, env_key=key), "pg_restore")
    finally:
        postgres_template.drop(url)


def test_pg_dump_gets_the_password_in_its_environment_never_in_argv(tmp_path: Path) -> None:
    url = "postgresql://portal:s3cret-pw@db.example.org:5432/portal"
    argv, env = pg_dump.command(url, tmp_path / "p.dump", "/usr/bin/pg_dump")
    assert env == {"PGPASSWORD": "s3cret-pw"}
    assert not any("s3cret" in a for a in argv)
    assert "host=db.example.org" in argv[-1] and "dbname=portal" in argv[-1]
