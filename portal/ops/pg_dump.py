"""`portal backup` on PostgreSQL: run pg_dump (custom format) if it is installed, else say how."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from portal.errors import StoreUnavailable
from portal.ops import backup

# Debian keeps the client tools of each PostgreSQL version here, not always on PATH.
BIN_DIRS = "/usr/lib/postgresql/*/bin"


def find_pg_dump() -> str | None:
    """pg_dump on PATH, else the newest Debian-installed one; None if there is none."""
    found = shutil.which("pg_dump")
    if found:
        return found
    newest = sorted(Path("/").glob(BIN_DIRS.lstrip("/") + "/pg_dump"), reverse=True)
    return str(newest[0]) if newest else None


def command(url: str, dest: Path, pg_dump: str = "pg_dump") -> tuple[list[str], dict[str, str]]:
    """The pg_dump argv and the extra environment: the password never in argv (`ps` shows it)."""
    info = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    password = info.pop("password", None)
    argv = [pg_dump, "--format=custom", f"--file={dest}", f"--dbname={make_conninfo('', **info)}"]
    return argv, ({"PGPASSWORD": str(password)} if password else {})


def shown_command(dest: Path) -> str:
    """The documented command, as it is printed when pg_dump is not installed."""
    return f'pg_dump --format=custom --file={dest} "$PORTAL_DB"'


def dump(url: str, dest: Path, pg_dump: str) -> Path:
    """Run pg_dump into a temporary file beside dest, renamed when it succeeded."""

    def run(tmp: str) -> None:
        argv, extra = command(url, Path(tmp), pg_dump)
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, env=dict(os.environ, **extra), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise StoreUnavailable(f"pg_dump failed: {why}")

    return backup.write_atomically(dest, run)
