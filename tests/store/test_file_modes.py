"""The database, its WAL and the key file are private (0600), whatever umask the portal got."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD, ROOT

# Opens the portal like a server does (key file beside the database), writes, and lists the
# files while the database is still open (DuckDB's WAL exists only until the checkpoint).
SCRIPT = """
import json, os, sys
from portal.access import accounts
from portal.context import open_portal
from portal.settings import Settings
db = sys.argv[1]
p = open_portal(Settings(db_path=db, bcrypt_rounds=4))
accounts.create_account(p, None, "alice", sys.argv[2])
folder = os.path.dirname(db)
print(json.dumps({n: os.stat(os.path.join(folder, n)).st_mode for n in os.listdir(folder)}))
p.db.close()
"""


def run_with_umask_022(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    return subprocess.run(
        args,
        preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - the point of the test
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        **kw,
    )


def loose(modes: dict[str, int]) -> dict[str, str]:
    return {name: oct(stat.S_IMODE(m)) for name, m in modes.items() if stat.S_IMODE(m) & 0o077}


def test_a_new_database_its_wal_and_key_file_are_0600(tmp_path: Path):
    db = tmp_path / "data" / "portal.duckdb"
    out = run_with_umask_022([sys.executable, "-c", SCRIPT, str(db), PASSWORD])
    modes = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"portal.duckdb", "portal.duckdb.wal", "portal.duckdb.key"} <= set(modes)
    assert loose(modes) == {}
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) & 0o077 == 0


def test_the_cli_makes_private_files_and_tightens_an_old_database(tmp_path: Path):
    db = tmp_path / "portal.duckdb"
    add = [sys.executable, "-m", "portal", "user", "add", "bob", "--password-stdin"]
    run_with_umask_022([*add, "--db", str(db)], input=PASSWORD + "\n")
    assert loose({p.name: p.stat().st_mode for p in tmp_path.iterdir()}) == {}
    db.chmod(0o644)  # a database made by an earlier version
    run_with_umask_022([sys.executable, "-m", "portal", "user", "list", "--db", str(db)])
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
