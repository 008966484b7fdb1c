"""The Portal: database, cipher, settings and clock that every service works with."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from pathlib import Path

from portal import crypto
from portal.clock import Clock, FileOffsetClock, OffsetClock, SystemClock
from portal.errors import ConstraintViolation, EncryptionKeyError, StoreUnavailable
from portal.settings import Settings
from store import Database, is_url, open_database
from store.meta import get_meta, insert_meta

KEY_CHECK = "key_check"


@dataclasses.dataclass(frozen=True)
class Portal:
    """Everything a service needs; built once per process (per database) by open_portal."""

    db: Database
    cipher: crypto.Cipher
    settings: Settings
    clock: Clock
    # Facts of this database that cannot change once known (their callers say why): asked
    # once per process instead of on every rerun. A replace()d Portal starts with its own.
    memo: dict[str, object] = dataclasses.field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def now(self) -> dt.datetime:
        return self.clock.now()


def open_portal(settings: Settings, clock: Clock | None = None) -> Portal:
    """Open and migrate the database and check the encryption key against it."""
    key = _configured_key(settings)  # first: a missing key file leaves the database untouched
    db = _open_database(settings)
    try:
        cipher = _cipher_for(db, settings, key)
    except BaseException:
        db.close()
        raise
    if clock is None:
        offset = dt.timedelta(seconds=settings.clock_offset_seconds)
        if settings.clock_file:
            clock = FileOffsetClock(settings.clock_file)
        else:
            clock = OffsetClock(offset) if offset else SystemClock()
    return Portal(db=db, cipher=cipher, settings=settings, clock=clock)


def _open_database(settings: Settings) -> Database:
    """open_database; a DuckDB file another process holds says what to do instead, in one line."""
    try:
        return open_database(
            settings.db_path, pool_size=settings.db_pool_size, threads=settings.db_threads
        )
    except StoreUnavailable as exc:
        cause = str(exc.__cause__ or "")
        if is_url(settings.db_path) or "lock" not in cause.lower():
            raise
        pid = re.search(r"PID (\d+)", cause)
        holder = f" (process {pid.group(1)})" if pid else ""
        raise StoreUnavailable(
            f"The database {settings.db_path} is in use by another running portal{holder}: "
            "DuckDB lets one process open a file. Stop that server first, or run the portal "
            "on PostgreSQL (--db postgresql://...), where commands work while servers run."
        ) from exc


def _configured_key(settings: Settings) -> bytes | None:
    """The key from secret_key or secret_key_file; None: a DuckDB file's own <db>.key."""
    if settings.secret_key and settings.secret_key_file:
        raise EncryptionKeyError(
            "Set either PORTAL_SECRET_KEY or PORTAL_SECRET_KEY_FILE (secret_key_file), not both."
        )
    if settings.secret_key_file:
        return crypto.read_key_file(Path(settings.secret_key_file))
    if settings.secret_key:
        return crypto.decode_key(settings.secret_key)
    if is_url(settings.db_path):
        raise EncryptionKeyError(
            "A PostgreSQL database needs PORTAL_SECRET_KEY or PORTAL_SECRET_KEY_FILE "
            "(the same key on every server): a URL has no key file beside it."
        )
    return None


def _cipher_for(db: Database, settings: Settings, key: bytes | None) -> crypto.Cipher:
    with db.read() as cur:
        check = get_meta(cur, KEY_CHECK)
    if key is None and settings.db_path == ":memory:":
        key = crypto.new_key()
    elif key is None:
        key = crypto.load_or_create_key(None, settings.key_file, may_create=check is None)
    cipher = crypto.Cipher(key)
    if check is None:
        try:
            with db.write() as cur:
                insert_meta(cur, KEY_CHECK, cipher.key_check())
            return cipher
        except ConstraintViolation:  # another server stored its key check first: compare
            with db.read() as cur:
                check = get_meta(cur, KEY_CHECK)
    if check is None or not cipher.matches(check):
        raise EncryptionKeyError(
            f"The encryption key does not match this database: {_key_source(settings)} "
            "is not the key it was created with."
        )
    return cipher


def _key_source(settings: Settings) -> str:
    """Where this process took its key from, for the message (never a URL or the key)."""
    if settings.secret_key:
        return "PORTAL_SECRET_KEY"
    if settings.secret_key_file:
        return f"the key file {settings.secret_key_file} (secret_key_file)"
    return f"the key file {settings.key_file}"


_shared: dict[Settings, Portal] = {}
_shared_lock = threading.Lock()


def shared_portal(settings: Settings) -> Portal:
    """The one Portal (one DuckDB connection) of this process for these settings."""
    with _shared_lock:
        if settings not in _shared:
            _shared[settings] = open_portal(settings)
        return _shared[settings]
