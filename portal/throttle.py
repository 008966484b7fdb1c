"""Per-account throttling of failed attempts: a growing delay after 5, a lockout after 10."""

from __future__ import annotations

import datetime as dt

import duckdb

from portal import events
from portal.core import Portal
from portal.errors import Throttled
from store import audit as audit_store
from store import throttle as throttle_store


def subject_for(username: str) -> str:
    return username.strip().lower()


def check_allowed(p: Portal, cur: duckdb.DuckDBPyConnection, subject: str) -> None:
    """Raise Throttled while the account is locked or inside its back-off delay."""
    state = throttle_store.get_throttle(cur, subject)
    if state is None:
        return
    now = p.now()
    if state.locked_until is not None and now < state.locked_until:
        raise Throttled((state.locked_until - now).total_seconds(), locked=True)
    if state.locked_until is not None:
        return  # the lock ran out: the next attempt gets a clean slate of delays
    s = p.settings
    if state.failures >= s.throttle_after and state.last_failure_at is not None:
        delay = s.throttle_base_seconds * 2 ** (state.failures - s.throttle_after)
        wait = (state.last_failure_at + dt.timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            raise Throttled(wait)


def record_failure(
    p: Portal, cur: duckdb.DuckDBPyConnection, subject: str, source: str | None
) -> None:
    """Count a failure; lock the account when the limit is reached (and audit the lockout)."""
    now = p.now()
    state = throttle_store.get_throttle(cur, subject)
    if state is not None and state.locked_until is not None and state.locked_until <= now:
        throttle_store.delete_throttle(cur, subject)
    failures = throttle_store.update_failure(cur, subject, now, None)
    if failures >= p.settings.lockout_after:
        until = now + dt.timedelta(minutes=p.settings.lockout_minutes)
        throttle_store.update_lock(cur, subject, until)
        detail = f"{failures} failed attempts; locked until {until:%Y-%m-%d %H:%M} UTC"
        audit_store.insert_event(cur, now, events.LOCKOUT, None, subject, source, detail)


def clear(cur: duckdb.DuckDBPyConnection, subject: str) -> None:
    throttle_store.delete_throttle(cur, subject)
