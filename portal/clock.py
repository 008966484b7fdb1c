"""Time enters the portal only through a Clock, so every rule is testable at exact instants.

Stricter than pyotp and django-otp, which fall back to time.time(): every call here is handed
a Clock, none defaults to the wall clock (tests/unit/test_layers.py checks that)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

UTC = dt.UTC


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real wall clock, always an aware UTC datetime."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class OffsetClock:
    """The system clock shifted by a fixed offset (test servers and demo 'wrong phone clock')."""

    def __init__(self, offset: dt.timedelta) -> None:
        self.offset = offset

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC) + self.offset


class FileOffsetClock:
    """The system clock plus an offset in seconds read from a file: lets a browser test move a
    running server's time (e.g. past the idle timeout). Never configured in production."""

    def __init__(self, path: str) -> None:
        self.path = path

    def now(self) -> dt.datetime:
        try:
            with open(self.path) as fh:
                offset = float(fh.read().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return dt.datetime.now(UTC) + dt.timedelta(seconds=offset)


class FixedClock:
    """A clock that stands still until told to move: for tests."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> dt.datetime:
        with self._lock:
            self._now += dt.timedelta(**delta)
            return self._now

    def set(self, instant: dt.datetime) -> None:
        with self._lock:
            self._now = instant
