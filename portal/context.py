"""The Portal: database, cipher, settings and clock that every service works with."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

from portal import crypto
from portal.clock import Clock, FileOffsetClock, OffsetClock, SystemClock
from portal.errors import EncryptionKeyError
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

    def now(self) -> dt.datetime:
        return self.clock.now()


def open_portal(settings: Settings, clock: Clock | None = None) -> Portal:
    """Open and migrate the database and check the encryption key against it."""
    if is_url(settings.db_path) and not settings.secret_key:
        raise EncryptionKeyError(
            "A PostgreSQL database needs PORTAL_SECRET_KEY (the same key on every server): "
            "a URL has no key file beside it."
        )
    db = open_database(settings.db_path, pool_size=settings.db_pool_size)
    try:
        cipher = _cipher_for(db, settings)
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


def _cipher_for(db: Database, settings: Settings) -> crypto.Cipher:
    with db.read() as cur:
        check = get_meta(cur, KEY_CHECK)
    if settings.db_path == ":memory:" and not settings.secret_key:
        key = crypto.new_key()
    else:
        key = crypto.load_or_create_key(
            settings.secret_key, settings.key_file, may_create=check is None
        )
    cipher = crypto.Cipher(key)
    if check is None:
        with db.write() as cur:
            insert_meta(cur, KEY_CHECK, cipher.key_check())
    elif not cipher.matches(check):
        where = "" if is_url(settings.db_path) else f" or {settings.key_file}"  # no URL shown
        raise EncryptionKeyError(
            "The encryption key does not match this database. Use the key it was created with "
            f"(PORTAL_SECRET_KEY{where})."
        )
    return cipher


_shared: dict[Settings, Portal] = {}
_shared_lock = threading.Lock()


def shared_portal(settings: Settings) -> Portal:
    """The one Portal (one DuckDB connection) of this process for these settings."""
    with _shared_lock:
        if settings not in _shared:
            _shared[settings] = open_portal(settings)
        return _shared[settings]
