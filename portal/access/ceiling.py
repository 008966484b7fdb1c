"""A ceiling on bcrypt work for names that are no account: a token bucket of real dummy-hash
checks per database, and past it a wait as long as a recent real check took (no CPU)."""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import threading
import time
import weakref

from portal.access import passwords
from portal.context import Portal
from store import Database

_lock = threading.Lock()


class _Ceiling:
    """A token bucket of real dummy-hash checks, and how long the recent ones took."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens = 0.0
        self.at: dt.datetime | None = None
        self.took: collections.deque[float] = collections.deque(maxlen=32)

    def take(self, now: dt.datetime, per_minute: int) -> bool:
        with self.lock:
            if self.at is None:
                self.tokens = float(per_minute)
            else:
                elapsed = max(0.0, (now - self.at).total_seconds())
                self.tokens = min(float(per_minute), self.tokens + elapsed * per_minute / 60)
            self.at = now
            if self.tokens >= 1 or not self.took:  # nothing measured yet: measure
                self.tokens = max(0.0, self.tokens - 1)
                return True
            return False

    def sample(self) -> float:
        with self.lock:
            return secrets.choice(list(self.took))

    def record(self, seconds: float) -> None:
        with self.lock:
            self.took.append(seconds)


_ceilings: weakref.WeakKeyDictionary[Database, _Ceiling] = weakref.WeakKeyDictionary()


def idle(seconds: float) -> None:
    time.sleep(seconds)  # waits without burning CPU; tests replace it to count the waits


def check_unknown(p: Portal, password: str) -> None:
    """An unknown name costs a wrong password's time: a dummy check, or past the ceiling a wait."""
    # The wait lasts as long as a recent real check took and uses no CPU: an attacker cycling
    # names cannot make the server burn its cores, nor tell the two answers apart by their time.
    with _lock:
        ceiling = _ceilings.setdefault(p.db, _Ceiling())
    if not ceiling.take(p.now(), p.settings.unknown_user_checks_per_minute):
        idle(ceiling.sample())
        return
    hashed = passwords.dummy_hash(p.settings.bcrypt_rounds)
    started = time.perf_counter()
    passwords.check_password(password, hashed)
    ceiling.record(time.perf_counter() - started)
