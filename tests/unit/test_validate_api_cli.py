"""`portal apikey add|list|revoke`, run as a person would: a subprocess on a real database."""

from __future__ import annotations

import json

from store import open_database
from tests.unit.test_cli import portal


def test_add_list_and_revoke_a_key(tmp_path):
    db = tmp_path / "cli.duckdb"
    made = portal("apikey", "add", "vpn", "--source", "10.0.0.0/8, 192.168.1.7", db=db)
    assert made.returncode == 0, made.stderr
    assert "shown only now" in made.stdout
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("p2fa_") and len(key) == 5 + 16 + 1 + 43
    listed = json.loads(portal("apikey", "list", "--json", db=db).stdout)
    assert [(r["name"], r["sources"], r["created_by"], r["revoked_at"]) for r in listed] == [
        ("vpn", "10.0.0.0/8,192.168.1.7/32", "cli", None)
    ]
    table = portal("apikey", "list", db=db).stdout
    assert "vpn" in table and "live" in table and "never" in table
    assert portal("apikey", "revoke", "vpn", db=db).returncode == 0
    again = portal("apikey", "revoke", "vpn", db=db)
    assert again.returncode == 2 and again.stderr == "portal: There is no live key named vpn.\n"
    [row] = json.loads(portal("apikey", "list", "--json", db=db).stdout)
    assert row["revoked_by"] == "cli" and row["revoked_at"]
    stored = open_database(db, read_only=True)
    try:
        with stored.read() as cur:
            values = [str(v) for v in cur.execute("SELECT * FROM api_keys").fetchone() or ()]
    finally:
        stored.close()
    assert key.split("_", 2)[2] not in " ".join(values)  # only its hash is stored


def test_bad_input_is_one_line(tmp_path):
    db = tmp_path / "cli.duckdb"
    bad = portal("apikey", "add", "vpn", "--source", "intranet", db=db)
    assert bad.returncode == 2 and bad.stderr.startswith("portal: Not an IP address")
    assert "Traceback" not in bad.stderr
    assert portal("apikey", "add", "vpn", db=db).returncode == 0
    taken = portal("apikey", "add", "vpn", db=db)
    assert taken.returncode == 2 and "already a key named vpn" in taken.stderr
