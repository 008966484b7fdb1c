"""Throttling of failed attempts, per (name, client address) first and per name past a higher limit.

A back-off after `throttle_after` failures and a lockout after `lockout_after` apply to one name
from one address, so a stranger elsewhere cannot lock a person out of their usual address; only
`lockout_account_after` failures from anywhere lock the name everywhere. Every attempt is counted
(reserved) in one conditional statement *before* its expensive check and released when it turns
out right, so parallel attempts cannot all pass one read. Rows are keyed by an HMAC of the typed
name, never the name: what was typed is sometimes a password typed into the wrong box.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import weakref
from collections.abc import Iterator

from portal import events
from portal.context import Portal
from portal.errors import Throttled
from store import Cursor, Database
from store import audit as audit_store
from store import throttle as throttle_store

LOG = logging.getLogger("portal.access")
ACCOUNT, ADDRESS = "account", "address"
_KEY_CONTEXT = "throttle-hmac-key"
_keys: weakref.WeakKeyDictionary[Database, bytes] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()
# When each database's stale counters were last dropped by this process.
_pruned: weakref.WeakKeyDictionary[Database, dt.datetime] = weakref.WeakKeyDictionary()
PRUNE_EVERY = dt.timedelta(seconds=60)


@dataclasses.dataclass(frozen=True)
class Attempt:
    """An attempt counted as a failure until released; a crash mid-check leaves it counted."""

    username: str | None  # the account's name for the audit trail; None if no such account
    address_key: str = dataclasses.field(repr=False)
    account_key: str = dataclasses.field(repr=False)
    address_failures: int
    account_failures: int
    # DuckDB's code step: admitted but not yet counted; a wrong code counts it (count_now).
    pending: bool = False
    user_id: int | None = None
    stored: bool = True  # False: a pending attempt whose name and address have no rows


def subject_for(username: str) -> str:
    return username.strip().lower()


def address_of(source: str) -> str:
    """The client address in an audit source ("<ip> <browser>"): its first word."""
    words = source.split()
    return words[0] if words else ""


def account_limit(p: Portal) -> int:
    """Failures from anywhere that lock the whole account: never fewer than one address needs."""
    return max(p.settings.lockout_account_after, p.settings.lockout_after)


def reserve(
    p: Portal, cur: Cursor, name: str, user_id: int | None, source: str, seen: bool = False
) -> Attempt:
    """Count this attempt before it is checked; Throttled (nothing counted) if it must wait.

    `seen`: the password step counted this name and address moments ago (the code step).
    """
    address_key, account_key = _key(p, ADDRESS, name, source), _key(p, ACCOUNT, name)
    rules = _rules(p, address_key, account_key)
    username = subject_for(name) if user_id is not None else None
    pending = seen and cur.dialect == "duckdb"
    if pending:
        counted, stored = _decide(p, cur, rules)
    else:
        counted, stored = _count(p, cur, rules, user_id, seen), True
    if address_key not in counted:  # raising rolls the account's count back too
        raise _refusal(p, cur, address_key, p.settings.lockout_after)
    if account_key not in counted:
        raise _refusal(p, cur, account_key, account_limit(p))
    at_address, anywhere = counted[address_key], counted[account_key]
    return Attempt(
        username, address_key, account_key, at_address, anywhere, pending, user_id, stored
    )


def _rules(p: Portal, address_key: str, account_key: str) -> list[throttle_store.Rule]:
    s, limit = p.settings, account_limit(p)
    return [
        throttle_store.Rule(address_key, ADDRESS, s.lockout_after, s.throttle_after),
        # An account row has no back-off of its own (back_off_after = limit): only the lock.
        throttle_store.Rule(account_key, ACCOUNT, limit, limit),
    ]


def _decide(
    p: Portal, cur: Cursor, rules: list[throttle_store.Rule]
) -> tuple[dict[str, int], bool]:
    """Decided now, counted only if the code is wrong (same transaction); no row: a new one.
    Also whether any of the rows exists (a right password released to none deletes them)."""
    decided = throttle_store.admitted(cur, rules, p.now(), p.settings.throttle_base_seconds)
    counts = ((r.key, decided.get(r.key, 1)) for r in rules)
    return {key: n for key, n in counts if n is not None}, bool(decided)


def _count(
    p: Portal, cur: Cursor, rules: list[throttle_store.Rule], user_id: int | None, seen: bool
) -> dict[str, int]:
    now, base = p.now(), p.settings.throttle_base_seconds
    expires = now + dt.timedelta(minutes=p.settings.lockout_minutes)
    return throttle_store.insert_attempts(cur, rules, user_id, now, expires, base, seen)


def count_now(p: Portal, cur: Cursor, attempt: Attempt) -> Attempt:
    """A pending attempt turned out wrong: count it now, in the transaction that decided it."""
    if not attempt.pending:
        return attempt
    rules = _rules(p, attempt.address_key, attempt.account_key)
    counted = _count(p, cur, rules, attempt.user_id, True)
    if len(counted) != len(rules):  # cannot happen: the same serialised transaction decided it
        raise RuntimeError("the throttle changed inside one write transaction")
    at_address, anywhere = counted[attempt.address_key], counted[attempt.account_key]
    return Attempt(attempt.username, attempt.address_key, attempt.account_key, at_address, anywhere)


def prune(p: Portal) -> None:
    """Drop counters whose window ended, at most once per PRUNE_EVERY per process and database.

    Housekeeping only (an ended window restarts at 1 in the counting itself); on every sign-in
    it was a class's largest wait for DuckDB's one writer (bench/class30.py). Not inside the
    counting transaction, where its row locks could make sign-ins in two processes wait on each
    other. It also makes sure the HMAC key exists before any counting transaction."""
    _hmac_key(p)
    now = _prune_due(p)
    if now is not None:
        _drop_stale(p, now)


@contextlib.contextmanager
def pruning(p: Portal) -> Iterator[None]:
    """prune(p) on a thread of its own while the caller's bcrypt check runs, joined at the end.

    bcrypt and the database both release the GIL, so the housekeeping runs on the other core
    instead of adding to the sign-in's time. The caller must hold no write transaction. A
    prune that fails is logged and due again at the next attempt: the caller's check goes on."""
    now = _prune_due(p)
    if now is None:
        yield
        return

    def work() -> None:
        try:
            _drop_stale(p, now)
        except Exception as exc:  # noqa: BLE001 - housekeeping: logged, tried again later
            why = " ".join(str(exc).split()) or type(exc).__name__
            LOG.warning("dropping stale throttle rows failed: %s", why)
            with _registry_lock:
                _pruned.pop(p.db, None)

    worker = threading.Thread(target=work, name="throttle-prune", daemon=True)
    worker.start()
    try:
        yield
    finally:
        worker.join()


def _drop_stale(p: Portal, now: dt.datetime) -> None:
    p.db.transact(lambda cur: throttle_store.delete_stale(cur, now))


def _prune_due(p: Portal) -> dt.datetime | None:
    """Now, if this process last pruned this database over PRUNE_EVERY ago (then marked)."""
    now = p.now()
    with _registry_lock:
        last = _pruned.get(p.db)
        if last is not None and last <= now < last + PRUNE_EVERY:
            return None
        _pruned[p.db] = now
    return now


def _refusal(p: Portal, cur: Cursor, key: str, limit: int) -> Throttled:
    now, s = p.now(), p.settings
    row = throttle_store.get_throttle(cur, key)
    if row is None:
        return Throttled(1)
    if row.failures >= limit:  # locked, or the attempt that reached the limit is being checked
        until = row.locked_until or row.expires_at
        return Throttled((until - now).total_seconds(), True, until, s.help_contact)
    delay = s.throttle_base_seconds * 2 ** (row.failures - s.throttle_after)
    return Throttled((row.last_failure_at + dt.timedelta(seconds=delay) - now).total_seconds())


def record_failure(p: Portal, cur: Cursor, attempt: Attempt, source: str) -> None:
    """The attempt was wrong: it stays counted; lock (and audit) what reached its limit."""
    attempt = count_now(p, cur, attempt)
    limits = (
        (attempt.address_key, attempt.address_failures, p.settings.lockout_after, "this address"),
        (attempt.account_key, attempt.account_failures, account_limit(p), "any address"),
    )
    for key, failures, limit, where in limits:
        if failures < limit:
            continue
        until = throttle_store.update_lock(cur, key, limit)
        if until is not None:
            detail = f"{failures} failed attempts from {where}; {_until(until)}"
            audit_store.insert_event(
                cur, p.now(), events.LOCKOUT, None, attempt.username, source, detail
            )


def _until(instant: dt.datetime) -> str:
    return f"locked until {instant:%Y-%m-%d %H:%M} UTC"


def release(cur: Cursor, attempt: Attempt) -> None:
    """The attempt was right: take it back from both counters (a pending one was not counted)."""
    if not attempt.pending:
        throttle_store.update_release(cur, attempt.address_key, attempt.account_key)


def clear(p: Portal, cur: Cursor, username: str, source: str) -> None:
    """A finished sign-in: forget this address's and the account's count (other addresses stay)."""
    keys = [_key(p, ADDRESS, username, source), _key(p, ACCOUNT, username)]
    throttle_store.delete_throttle_keys(cur, keys)


def forget(cur: Cursor, attempt: Attempt) -> None:
    """A right attempt that finishes a sign-in: release and clear in one, its two rows go
    (none to delete if the same serialised transaction found none: DuckDB's pending one)."""
    if attempt.stored:
        throttle_store.delete_throttle_keys(cur, [attempt.address_key, attempt.account_key])


def ensure_key(p: Portal) -> None:
    """Make sure the HMAC key is loaded before a transaction counts (prune() does this too)."""
    _hmac_key(p)


def clear_account(cur: Cursor, user_id: int) -> bool:
    """A manager's unlock: forget every counter of the account; False if there was none."""
    return throttle_store.delete_user_throttle(cur, user_id) > 0


def lock_out(p: Portal, cur: Cursor, user_id: int, username: str, source: str) -> None:
    """Lock the whole account now, as `account_limit` failures would (demo seeding)."""
    now, failures = p.now(), account_limit(p)
    until = now + dt.timedelta(minutes=p.settings.lockout_minutes)
    throttle_store.insert_lock(cur, _key(p, ACCOUNT, username), user_id, failures, now, until)
    detail = f"{failures} failed attempts from any address; {_until(until)}"
    audit_store.insert_event(cur, now, events.LOCKOUT, None, username, source, detail)


# --- keys ----------------------------------------------------------------------------------


def _key(p: Portal, scope: str, name: str, source: str = "") -> str:
    """HMAC-SHA256 of scope, normalised name (and address): the row key; never the name."""
    parts = [scope, subject_for(name)] + ([address_of(source)] if scope == ADDRESS else [])
    message = "\0".join(parts).encode()
    return hmac.new(_hmac_key(p), message, hashlib.sha256).hexdigest()


def _hmac_key(p: Portal) -> bytes:
    """The throttle's HMAC key: random, kept in meta encrypted with the portal's cipher."""
    # The cipher does not expose its key to derive one from; a wrapped random key gives the same
    # property (the database alone cannot turn a row key back into what was typed). It is made
    # once, in its own short transaction: callers may be inside theirs (the lock is re-entrant).
    with _registry_lock:
        found = _keys.get(p.db)
    if found is not None:
        return found
    with p.db.read() as cur:
        blob = throttle_store.get_key_blob(cur)
    if blob is None:
        with p.db.write() as cur:
            throttle_store.insert_key_blob(
                cur, p.cipher.encrypt(secrets.token_bytes(32), _KEY_CONTEXT)
            )
            blob = throttle_store.get_key_blob(cur)
        assert blob is not None
    key = p.cipher.decrypt(blob, _KEY_CONTEXT)
    with _registry_lock:
        _keys[p.db] = key
    return key
