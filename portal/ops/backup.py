"""DuckDB backups: a consistent copy of the database file, written through DuckDB itself.

The copy is one snapshot (see store/backup.py), written under a temporary name beside its
destination and renamed only when complete, so a backup file under its final name is always
whole. The key file is never part of it: a backup alone cannot decrypt a TOTP key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from portal.context import Portal
from portal.errors import InvalidInput, StoreUnavailable
from store import Database
from store import backup as backup_store
from store.backends import duckdb as duckdb_backend

STAMP = "%Y%m%dT%H%M%SZ"
_STAMPED = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}T\d{6}Z)\.duckdb$")


def file_name(db_path: str, now: dt.datetime) -> str:
    """A backup's name: the database's name and the UTC time (portal-20261202T061500Z.duckdb)."""
    return f"{Path(db_path).stem}-{now.astimezone(dt.UTC):{STAMP}}.duckdb"


def stamped(folder: Path, db_path: str) -> list[tuple[dt.datetime, Path]]:
    """The finished backups of this database in folder, oldest first (temporary files skipped)."""
    stem = Path(db_path).stem
    found = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = _STAMPED.match(entry.name)
        if match and match["stem"] == stem and entry.is_file():
            when = dt.datetime.strptime(match["stamp"], STAMP).replace(tzinfo=dt.UTC)
            found.append((when, entry))
    return sorted(found)


def target(dest: Path, db_path: str, now: dt.datetime) -> Path:
    """Where `portal backup DEST` writes: DEST itself, or a stamped name inside a folder DEST."""
    if dest.is_dir():
        dest = dest / file_name(db_path, now)
    if dest.exists():
        raise InvalidInput(f"{dest} exists already: give a new file name or a folder.")
    if not dest.parent.is_dir():
        raise InvalidInput(f"The folder {dest.parent} does not exist.")
    return dest


def write_from_server(p: Portal, dest: Path) -> Path:
    """Back up the portal's own open database (the server's connection) to dest."""
    with p.db.read() as cur:
        source = backup_store.current_name(cur)
        return write_atomically(dest, lambda tmp: backup_store.copy_into_new_file(cur, source, tmp))


def write_from_file(db_path: str, dest: Path) -> Path:
    """Back up a DuckDB file no process holds (the CLI), opening it read-only."""
    if not Path(db_path).is_file():
        raise InvalidInput(f"There is no database at {db_path}.")
    scratch = duckdb_backend.connect(":memory:")
    try:
        source = attach_file(scratch, db_path, HELD)
        with scratch.read() as cur:
            return write_atomically(
                dest, lambda tmp: backup_store.copy_into_new_file(cur, source, tmp)
            )
    finally:
        scratch.close()


HELD = (
    "The database {path} is in use by a running portal{holder}: DuckDB lets one process "
    "open it, so that server makes the backups. Set backup_dir and backup_every_hours for "
    'it (README: "Backups, restore, audit retention"), or stop it and run this again.'
)


def attach_file(scratch: Database, path: str, held: str) -> str:
    """Attach a DuckDB file read-only to scratch; a held or unreadable file says so in one line."""
    try:
        with scratch.read() as cur:
            return backup_store.attach(cur, path, read_only=True)
    except StoreUnavailable as exc:
        text = str(exc)
        if "lock" not in text.lower():
            why = text.split(": ", 1)[-1]
            raise StoreUnavailable(f"{path} cannot be read as a DuckDB database: {why}") from exc
        pid = re.search(r"PID (\d+)", text)
        holder = f" (process {pid.group(1)})" if pid else ""
        raise StoreUnavailable(held.format(path=path, holder=holder)) from exc


def write_atomically(dest: Path, copy: Callable[[str], None]) -> Path:
    """Run copy(tmp) into a temporary file beside dest, then rename it to dest (0600)."""
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    try:
        copy(str(tmp))
        tmp.chmod(0o600)  # hashes and the audit trail: private, like the database
        os.replace(tmp, dest)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return dest


def keep_newest(folder: Path, db_path: str, keep: int) -> list[Path]:
    """Remove the oldest stamped backups beyond `keep` (at least one stays); returns them."""
    backups = [path for _, path in stamped(folder, db_path)]
    removed = backups[: max(0, len(backups) - max(1, keep))]
    for path in removed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return removed
