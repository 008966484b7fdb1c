"""Trainer demo mode: a throw-away database seeded through the real services, and its guard.

Demo mode shows the signed-in account's current codes in the sidebar (the virtual authenticator,
`portal.demo_codes`), which must never happen on real data. So `demo_mode` refuses PORTAL_DEMO
unless the database was marked as a demo by `seed`, and `seed` only ever marks an empty database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import time

from portal import events
from portal.access import accounts, passwords, throttle
from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import InvalidState, NotADemoDatabase, PermissionDenied
from portal.manager import actions
from portal.models import Identity, Role, User
from portal.twofactor import enrolment, second_factor, totp
from store import Cursor
from store import audit as audit_store
from store import factors as factor_store
from store import meta as meta_store
from store import sessions as session_store
from store import users as user_store

DEMO_KEY = "demo"  # meta key written once, when an empty database is seeded as a demo
PASSWORD = "demo-2fa-portal"  # noqa: S105 - printed for the class; throw-away database only
SOURCE = "portal demo"
# bcrypt cost for the demo accounts only: at the default 12, hashing eight passwords took 3-7 s
# here, and these passwords are printed for the class anyway. Real accounts keep the setting.
DEMO_BCRYPT_ROUNDS = 8


class State(enum.StrEnum):
    ENROLLED = "2FA on"
    PENDING = "set-up started, not finished"
    NOT_ENROLLED = "2FA off"
    LOCKED_OUT = "locked out"
    RESET_GRANTED = "reset granted"
    LOW_CODES = "low on backup codes"


@dataclasses.dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    state: State
    story: str  # what to show the class with it

    @property
    def kind(self) -> str:
        if self.role is Role.SECURITY_MANAGER:
            return "security manager"
        return "trainer" if self.username == TRAINER else "learner"


ACCOUNTS = (
    DemoAccount(
        "manager", "Morgan Reyes", Role.SECURITY_MANAGER, State.ENROLLED, "the security manager"
    ),
    DemoAccount("trainer", "Terry Trainer", Role.USER, State.NOT_ENROLLED, "walk through set-up"),
    DemoAccount("ada", "Ada Okafor", Role.USER, State.ENROLLED, "signs in with a code"),
    DemoAccount("ben", "Ben Novak", Role.USER, State.PENDING, "left the wizard half-way"),
    DemoAccount("cleo", "Cleo Martin", Role.USER, State.NOT_ENROLLED, "has not started"),
    DemoAccount("dan", "Dan Weber", Role.USER, State.LOCKED_OUT, "too many wrong codes"),
    DemoAccount("eve", "Eve Laurent", Role.USER, State.RESET_GRANTED, "lost her phone"),
    DemoAccount("finn", "Finn Larsen", Role.USER, State.LOW_CODES, "used most backup codes"),
)
MANAGER, TRAINER = "manager", "trainer"


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What `portal demo` prints: the accounts, their one password, how long seeding took."""

    accounts: tuple[DemoAccount, ...]
    password: str = dataclasses.field(repr=False)
    seconds: float


# --- the guard ------------------------------------------------------------------------------


def is_demo_database(p: Portal) -> bool:
    with p.db.read() as cur:
        return meta_store.get_meta(cur, DEMO_KEY) is not None


def demo_mode(p: Portal) -> bool:
    """Whether demo mode is on; PORTAL_DEMO on a database not seeded as a demo is refused."""
    if not p.settings.demo:
        return False
    if not is_demo_database(p):
        raise NotADemoDatabase(
            f"Demo mode (PORTAL_DEMO) is on, but {p.settings.db_path} is not a demo database. "
            "Demo mode shows people's codes, so it runs only on the throw-away database that "
            "`portal demo` creates. Unset PORTAL_DEMO to serve this database."
        )
    return True


def require_demo_mode(p: Portal) -> None:
    """NotADemoDatabase unless demo mode is on (on a database `portal demo` seeded)."""
    if not demo_mode(p):
        raise NotADemoDatabase("This works only in demo mode (`portal demo`).")


# --- seeding and reset ----------------------------------------------------------------------


def seed(p: Portal) -> Seeded:
    """Mark an empty database as a demo and create every demo account in its state."""
    started = time.perf_counter()
    with p.db.write() as cur:
        if user_store.count_users(cur) or meta_store.get_meta(cur, DEMO_KEY) is not None:
            raise InvalidState("Only an empty database can become a demo database.")
        stamp = f"seeded by portal demo at {p.now():%Y-%m-%d %H:%M:%S} UTC"
        meta_store.insert_meta(cur, DEMO_KEY, stamp.encode())
    _populate(p)
    return Seeded(ACCOUNTS, PASSWORD, time.perf_counter() - started)


def may_reset(actor: Identity | None) -> bool:
    """Only the signed-in trainer or a security manager of the demo may reset it."""
    return actor is not None and (actor.is_manager or actor.username == TRAINER)


def reset(p: Portal, actor: Identity | None, source: str) -> Seeded:
    """Every demo account back to its seeded state and every session ended (demo mode only).

    Accounts added during the demo are disabled: the store has no way to delete an account.
    """
    require_demo_mode(p)
    _require_resetter(p, actor)
    started = time.perf_counter()
    # One hash for every seeded account: their password is printed on the projector anyway.
    hashed = passwords.hash_password(PASSWORD, _cheap(p).settings.bcrypt_rounds)
    seeded = {a.username for a in ACCOUNTS}
    now = p.now()
    with p.db.write() as cur:
        for user in user_store.list_users(cur, limit=100_000):
            _restore(cur, user, user.username in seeded, hashed, now)
        audit_store.insert_event(
            cur,
            now,
            events.DEMO_RESET,
            actor.username if actor else None,
            None,
            source,
            "every demo account back to its start",
        )
    _populate(p)
    return Seeded(ACCOUNTS, PASSWORD, time.perf_counter() - started)


def _require_resetter(p: Portal, actor: Identity | None) -> None:
    """The actor as the database has them now: the trainer or an enabled security manager."""
    user = None
    if actor is not None:
        with p.db.read() as cur:
            user = user_store.get_user(cur, actor.user_id)
    if user is None or user.disabled or not may_reset(accounts.identity_for(user, p.now(), None)):
        raise PermissionDenied(
            "Only the trainer or a security manager of the demo can reset it: sign in as one."
        )


def _restore(cur: Cursor, user: User, seeded: bool, hashed: str, now: dt.datetime) -> None:
    session_store.update_end_all(cur, user.id, now, "demo reset")
    factor_store.delete_factors(cur, user.id)
    throttle.clear_account(cur, user.id)
    user_store.update_reset_grant(cur, user.id, None, None, None)
    user_store.update_notices_seen_at(cur, user.id, now)
    user_store.update_email(cur, user.id, None)
    user_store.update_disabled(cur, user.id, not seeded)
    if seeded:
        user_store.update_password(cur, user.id, hashed)


def _populate(p: Portal) -> None:
    """Create missing demo accounts, then put each into its state, all at one instant."""
    # A frozen instant: a code and the check of it never straddle a 30-second step.
    at = dataclasses.replace(_cheap(p), clock=FixedClock(p.now()))
    users = {a.username: _account(at, a) for a in ACCOUNTS}
    manager = accounts.identity_for(users[MANAGER], at.now(), at.now())
    for account in ACCOUNTS:
        user = users[account.username]
        if account.state is State.PENDING:
            enrolment.start(at, _fresh(at, user), SOURCE)
        elif account.state is not State.NOT_ENROLLED:
            codes = _enrol(at, user)
            if account.state is State.LOCKED_OUT:
                _lock_out(at, user)
            elif account.state is State.RESET_GRANTED:
                actions.grant_reset(at, manager, [user.id], "Lost her phone (demo)", SOURCE)
            elif account.state is State.LOW_CODES:
                _use_backup_codes(at, user, codes)


def _cheap(p: Portal) -> Portal:
    rounds = min(p.settings.bcrypt_rounds, DEMO_BCRYPT_ROUNDS)
    return dataclasses.replace(p, settings=dataclasses.replace(p.settings, bcrypt_rounds=rounds))


def _account(p: Portal, account: DemoAccount) -> User:
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, account.username)
    if user is not None:
        return user
    return accounts.create_account(
        p, None, account.username, PASSWORD, account.role, account.display_name, SOURCE
    )


def _fresh(p: Portal, user: User) -> Identity:
    """The account as if its password had just been given (the wizard asks for that)."""
    return accounts.identity_for(user, p.now(), None)


def _enrol(p: Portal, user: User) -> list[str]:
    """The whole set-up wizard through its services; returns the backup codes."""
    who = _fresh(p, user)
    view = enrolment.start(p, who, SOURCE)
    # Verify with the previous step's code, so the current code is still unused: a class can
    # sign in right after seeding (or a reset) without "each code works once" getting in the way.
    earlier = p.now() - dt.timedelta(seconds=totp.PERIOD)
    enrolment.verify(p, who, totp.code_at(view.secret, earlier), SOURCE)
    codes = enrolment.issue_codes(p, who)
    enrolment.finish(p, who, SOURCE)
    return codes


def _lock_out(p: Portal, user: User) -> None:
    """Wrong codes in the audit trail, and the whole account locked (from every address)."""
    with p.db.write() as cur:
        for _ in range(max(1, p.settings.lockout_after)):
            second_factor.record_failed_code(
                cur, p.now(), user.username, SOURCE, "sign-in", "authenticator code"
            )
        # The class signs in from its own browsers: lock the account, not one address.
        throttle.lock_out(p, cur, user.id, user.username, SOURCE)


def _use_backup_codes(p: Portal, user: User, codes: list[str]) -> None:
    """Sign in with backup codes until only a low number is left."""
    keep = max(1, min(p.settings.backup_codes_low - 1, len(codes) - 1))
    for code in codes[: len(codes) - keep]:
        second_factor.verify_sign_in(p, user.id, p.now(), code, SOURCE)


def describe(seeded: Seeded) -> list[str]:
    """The lines `portal demo` prints: every account, its role and state, and the password."""
    lines = [f"Demo accounts (password for all: {seeded.password}):"]
    width = max(len(a.username) for a in seeded.accounts)
    for a in seeded.accounts:
        lines.append(f"  {a.username:<{width}}  {a.kind:<16}  {a.state:<29}  {a.story}")
    lines.append(f"Seeded in {seeded.seconds:.1f} s.")
    return lines
