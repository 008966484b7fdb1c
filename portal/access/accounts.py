"""Accounts: first run, creating people, and the password step of sign-in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import NoReturn

from portal import events, validate
from portal.access import ceiling, passwords, throttle
from portal.access.signed_in import record_sign_in
from portal.context import Portal
from portal.errors import (
    ConstraintViolation,
    InvalidCredentials,
    InvalidInput,
    PermissionDenied,
    SetupAlreadyDone,
    UsernameTaken,
)
from portal.models import Factor, FactorStatus, Identity, Role, User
from store import Cursor
from store import audit as audit_store
from store import factors as factor_store
from store import meta as meta_store
from store import sessions as session_store
from store import users as user_store

FIRST_RUN_META = "first_manager"  # meta row claimed by the one first-run that may succeed


class Next(enum.StrEnum):
    """What the person must do after a correct password."""

    CODE = "code"  # 2FA on: ask for a code or backup code
    WIZARD = "wizard"  # a manager's reset grant: straight into the setup wizard
    DONE = "done"  # 2FA off: signed in
    NEW_PASSWORD = "new_password"  # noqa: S105 - an imported account's first password: change it


@dataclasses.dataclass(frozen=True)
class PasswordOk:
    """A correct password; with Next.CODE or NEW_PASSWORD the person is not signed in yet."""

    user: User
    next: Next
    identity: Identity | None
    password_at: dt.datetime  # when the password was found correct (the code step's deadline)


def needs_first_run(p: Portal) -> bool:
    with p.db.read() as cur:
        return user_store.count_users(cur) == 0


def create_first_manager(
    p: Portal, username: str, password: str, confirm: str, source: str
) -> User:
    """The first-run page: creates the first security manager, only on an empty database."""
    name = validate.username(username)
    passwords.check_new(password, confirm, name)
    hashed = passwords.hash_password(password, p.settings.bcrypt_rounds)

    def create(cur: Cursor) -> User:
        # Counting users is not enough across processes (each sees none): the first run also
        # claims a meta row, which a concurrent claim waits for and then finds taken.
        if not meta_store.claim_meta(cur, FIRST_RUN_META, name.encode()):
            raise SetupAlreadyDone()
        if user_store.count_users(cur):
            raise SetupAlreadyDone()
        user = _insert(p, cur, name, name, Role.SECURITY_MANAGER, hashed)
        audit_store.insert_event(
            cur, p.now(), events.ACCOUNT_CREATED, name, name, source, "first security manager"
        )
        return user

    return p.db.transact(create)


def create_account(
    p: Portal,
    actor: Identity | None,
    username: str,
    password: str,
    role: Role = Role.USER,
    display_name: str = "",
    source: str = "cli",
    email: str = "",
) -> User:
    """A new account; actor None means the command line (whoever can read the database)."""
    if actor is not None and not actor.is_manager:
        raise PermissionDenied()
    name = validate.username(username)
    shown = validate.display_name(display_name, name)
    address = validate.email(email)
    passwords.check_new(password, password, name)
    hashed = passwords.hash_password(password, p.settings.bcrypt_rounds)
    with p.db.write() as cur:
        if user_store.get_user_by_username(cur, name) is not None:
            raise UsernameTaken()
        user = _insert(p, cur, name, shown, Role(role), hashed)
        if address:
            user_store.update_email(cur, user.id, address)
        actor_name = actor.username if actor else "cli"
        audit_store.insert_event(
            cur, p.now(), events.ACCOUNT_CREATED, actor_name, name, source, f"role {role}"
        )
    return user


def _insert(p: Portal, cur: Cursor, name: str, shown: str, role: Role, hashed: str) -> User:
    try:
        user_id = user_store.insert_user(cur, name, shown, role, hashed, p.now())
    except ConstraintViolation as exc:
        raise UsernameTaken() from exc
    user = user_store.get_user(cur, user_id)
    assert user is not None
    return user


def recheck_password(
    p: Portal, identity: Identity, password: str, source: str, wrong: str, audit: str = ""
) -> None:
    """The signed-in person's password again, throttled as at sign-in; InvalidCredentials(wrong)."""
    throttle.ensure_key(p)

    def count(cur: Cursor) -> tuple[User | None, throttle.Attempt]:  # before bcrypt runs
        user = user_store.get_user(cur, identity.user_id)
        return user, throttle.reserve(p, cur, identity.username, identity.user_id, source)

    user, attempt = p.db.transact(count)
    typed = password[: passwords.MAX_CHARS]
    with throttle.pruning(p):
        right = user is not None and passwords.check_password(typed, user.password_hash)
    if not right:
        with p.db.write() as cur:
            throttle.record_failure(p, cur, attempt, source)
            if audit:  # the wrong password in the audit trail too, with that detail
                name = identity.username
                audit_store.insert_event(
                    cur, p.now(), events.SIGN_IN_FAILED, name, name, source, audit
                )
        raise InvalidCredentials(wrong)
    with p.db.write() as cur:
        throttle.release(cur, attempt)


def change_password(
    p: Portal,
    identity: Identity,
    current: str,
    new: str,
    confirm: str,
    source: str,
    keep_session: str | None = None,
) -> None:
    """A new password (policy-checked); every other session of the person ends."""
    recheck_password(p, identity, current, source, "Your current password is not correct.")
    passwords.check_new(new, confirm, identity.username)
    if new == current:
        raise InvalidInput("The new password must differ from the current one.")
    hashed = passwords.hash_password(new, p.settings.bcrypt_rounds)
    with p.db.write() as cur:
        user_store.update_password(cur, identity.user_id, hashed)
        session_store.update_end_all(
            cur, identity.user_id, p.now(), "password changed", keep_session
        )
        audit_store.insert_event(
            cur, p.now(), events.PASSWORD_CHANGED, identity.username, identity.username, source
        )


def all_accounts(p: Portal) -> list[User]:
    with p.db.read() as cur:
        return user_store.list_users(cur)


def sign_in_password(p: Portal, username: str, password: str, source: str) -> PasswordOk:
    """Check the password; never tells whether the username exists (same message, same bcrypt)."""
    if not username.strip() or not password:
        raise InvalidInput("Enter your username and password.")
    subject = throttle.subject_for(username[: validate.MAX_FIELD])
    throttle.ensure_key(p)  # before the counting transaction; the prune runs beside bcrypt

    def count(cur: Cursor) -> tuple[User | None, throttle.Attempt]:  # before bcrypt runs
        # No account name holds a NUL (validate.username), and PostgreSQL refuses one in text.
        user = None if "\x00" in subject else user_store.get_user_by_username(cur, subject)
        return user, throttle.reserve(p, cur, subject, user.id if user else None, source)

    user, attempt = p.db.transact(count)
    typed = password[: passwords.MAX_CHARS]
    with throttle.pruning(p):  # bcrypt, or for a name that is no account a dummy check or wait
        if user is None:
            ceiling.check_unknown(p, typed)
        password_ok = user is not None and passwords.check_password(typed, user.password_hash)
    if user is None or not password_ok or user.disabled:
        _sign_in_failed(p, attempt, user, password_ok, source)
    with p.db.write() as cur:  # the factor read rides along: one transaction, not two
        throttle.release(cur, attempt)
        active = factor_store.get_factor(cur, user.id, FactorStatus.ACTIVE)
    if passwords.is_first_password(user.password_hash):
        return PasswordOk(user, Next.NEW_PASSWORD, None, p.now())
    return next_step(p, user, source, active)


def next_step(p: Portal, user: User, source: str, active: Factor | None) -> PasswordOk:
    """After the password (`active`: the person's active factor): the reset wizard, the code
    step, or signed in."""
    now = p.now()
    if user.reset_open(now):
        return PasswordOk(user, Next.WIZARD, use_reset_grant(p, user, source), now)
    if user.reset_expires_at is not None and active is None:
        raise InvalidCredentials(
            f"Your two-factor reset has expired. Ask {p.settings.help_contact} for a new one."
        )
    if active is not None:
        return PasswordOk(user, Next.CODE, None, now)
    signed_in = complete_sign_in(p, user, source, second_factor=False)
    return PasswordOk(user, Next.DONE, signed_in, now)


def _sign_in_failed(
    p: Portal, attempt: throttle.Attempt, user: User | None, password_ok: bool, source: str
) -> NoReturn:
    """Keep the failure counted, audit it, and refuse with the one message."""
    if user is None:
        # What was typed is not an account, and is sometimes a password: do not keep it.
        who, detail = None, "unknown username"
    else:
        who = user.username
        detail = "account disabled" if password_ok else "wrong password"

    def keep(cur: Cursor) -> None:
        throttle.record_failure(p, cur, attempt, source)
        audit_store.insert_event(cur, p.now(), events.SIGN_IN_FAILED, None, who, source, detail)

    p.db.transact(keep)
    raise InvalidCredentials()


def complete_sign_in(p: Portal, user: User, source: str, second_factor: bool) -> Identity:
    """Record a finished sign-in: clear the throttle, stamp last sign-in, audit it."""
    now = p.now()

    def record(cur: Cursor) -> None:  # the code step does this inside its own transaction
        throttle.clear(p, cur, user.username, source)
        record_sign_in(cur, user.id, user.username, now, source, second_factor)

    p.db.transact(record)
    return identity_for(user, now, now if second_factor else None)


def identity_for(
    user: User, signed_in_at: dt.datetime, second_factor_at: dt.datetime | None
) -> Identity:
    return Identity(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        signed_in_at=signed_in_at,
        second_factor_at=second_factor_at,
        password_at=signed_in_at,
    )


def use_reset_grant(p: Portal, user: User, source: str) -> Identity:
    """Sign in through a manager's reset grant: used once, then the wizard must follow."""
    now = p.now()

    def use(cur: Cursor) -> None:
        if not user_store.consume_reset_grant(cur, user.id, now):
            raise InvalidCredentials(
                f"This reset is no longer valid. Ask {p.settings.help_contact}."
            )
        throttle.clear(p, cur, user.username, source)
        user_store.update_last_sign_in(cur, user.id, now)
        audit_store.insert_event(cur, now, events.RESET_USED, user.username, user.username, source)
        audit_store.insert_event(
            cur, now, events.SIGN_IN_OK, user.username, user.username, source, "reset grant"
        )

    p.db.transact(use)
    return identity_for(user, now, None)


def record_sign_out(p: Portal, identity: Identity, source: str) -> None:
    with p.db.write() as cur:
        audit_store.insert_event(
            cur, p.now(), events.SIGN_OUT, identity.username, identity.username, source
        )
