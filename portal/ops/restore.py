"""`portal restore`: put a DuckDB backup in place of the database, after checking the key.

Nothing is replaced before every check passed: the backup is a portal database, the key this
portal would use matches the backup's stored key check, and no running portal holds the file.
The copy goes to a temporary file beside the database and is renamed over it at the end.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from pathlib import Path

from portal import crypto, events
from portal.context import open_portal
from portal.errors import EncryptionKeyError, InvalidInput
from portal.ops import backup
from portal.settings import Settings
from store import Cursor, is_url
from store import audit as audit_store
from store import backup as backup_store
from store.backends import duckdb as duckdb_backend

ON_POSTGRESQL = (
    "On PostgreSQL, restore a pg_dump file with pg_restore into a new database (README, "
    "Backups and restore), then point PORTAL_DB at it: the portal checks the key as it opens."
)

IN_USE = "The backup {path} is open in another process{holder}: close that first."


def operator() -> str:
    """The audit actor for the shell: the OS login, e.g. `os:alice`."""
    try:
        return f"os:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without an /etc/passwd entry)
        return f"os:uid{os.getuid()}"


def restore(settings: Settings, src: Path, force: bool) -> Path:
    """Replace (or create) the settings' DuckDB file with the backup src; returns its path."""
    if is_url(settings.db_path):
        raise InvalidInput(ON_POSTGRESQL)
    target = Path(settings.db_path)
    if not src.is_file():
        raise InvalidInput(f"There is no backup at {src}.")
    if not target.parent.is_dir():
        raise InvalidInput(f"The folder {target.parent} does not exist.")
    if target.exists() and target.resolve() == src.resolve():
        raise InvalidInput(f"{src} is the database itself, not a backup of it.")
    if target.exists() and not force:
        raise InvalidInput(
            f"The database {target} exists: add --force to replace it with the backup."
        )
    key = _key(settings)
    scratch = duckdb_backend.connect(":memory:")
    try:
        source = backup.attach_file(scratch, str(src), IN_USE)
        with scratch.read() as cur:
            _check_key(cur, source, key, src, settings)
            _not_held(target)
            with contextlib.suppress(FileNotFoundError):  # the old file's log, not the backup's
                target.with_name(target.name + ".wal").unlink()
            backup.write_atomically(
                target, lambda tmp: backup_store.copy_into_new_file(cur, source, tmp)
            )
    finally:
        scratch.close()
    _record(settings, src)
    return target


def _key(settings: Settings) -> bytes:
    """The key this portal would use; never created here (a backup is useless without it)."""
    if settings.secret_key and settings.secret_key_file:
        raise EncryptionKeyError(
            "Set either PORTAL_SECRET_KEY or PORTAL_SECRET_KEY_FILE, not both."
        )
    if settings.secret_key:
        return crypto.decode_key(settings.secret_key)
    if settings.secret_key_file or settings.key_file.is_file():
        return crypto.read_key_file(settings.key_file)
    raise EncryptionKeyError(
        f"No key to restore with: put the portal's key file at {settings.key_file}, or set "
        "PORTAL_SECRET_KEY_FILE (a backup never holds the key). Nothing was changed."
    )


def _check_key(cur: Cursor, alias: str, key: bytes, src: Path, s: Settings) -> None:
    check = backup_store.get_key_check(cur, alias)
    if check is None:
        raise InvalidInput(
            f"{src} is not a portal backup (it has no key check). Nothing was changed."
        )
    if not crypto.Cipher(key).matches(check):
        where = "PORTAL_SECRET_KEY" if s.secret_key else f"the key file {s.key_file}"
        raise EncryptionKeyError(
            f"The key ({where}) is not the key of the backup {src}: nothing was changed."
        )


def _not_held(target: Path) -> None:
    """A running portal holding the file stops us (StoreUnavailable, in one line)."""
    if target.exists():
        duckdb_backend.connect(str(target)).close()


def _record(settings: Settings, src: Path) -> None:
    """The restored database (migrated as it opens) records who restored it from what."""
    p = open_portal(settings)
    try:
        with p.db.write() as cur:
            audit_store.insert_event(
                cur, p.now(), events.DATABASE_RESTORED, operator(), None, "cli", f"from {src.name}"
            )
    finally:
        p.db.close()
