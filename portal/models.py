"""Frozen domain objects returned by the store and the services."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class Role(enum.StrEnum):
    USER = "user"
    SECURITY_MANAGER = "security_manager"


class FactorStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"


class TwoFactorStatus(enum.StrEnum):
    """What a manager sees for a person's 2FA."""

    ENABLED = "enabled"
    PENDING = "pending"
    OFF = "off"
    RESET_GRANTED = "reset granted"


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    password_hash: str = dataclasses.field(repr=False)
    disabled: bool
    created_at: dt.datetime
    last_sign_in_at: dt.datetime | None
    reset_granted_at: dt.datetime | None
    reset_expires_at: dt.datetime | None
    reset_granted_by: str | None

    @property
    def is_manager(self) -> bool:
        return self.role is Role.SECURITY_MANAGER

    def reset_open(self, now: dt.datetime) -> bool:
        """A manager's reset grant that is not yet used and not expired."""
        return self.reset_expires_at is not None and now < self.reset_expires_at


@dataclasses.dataclass(frozen=True)
class Factor:
    id: int
    user_id: int
    status: FactorStatus
    secret_enc: bytes = dataclasses.field(repr=False)
    created_at: dt.datetime
    verified_at: dt.datetime | None
    activated_at: dt.datetime | None
    last_step: int | None


@dataclasses.dataclass(frozen=True)
class BackupCode:
    id: int
    user_id: int
    factor_id: int
    code_enc: bytes = dataclasses.field(repr=False)
    created_at: dt.datetime
    used_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class ThrottleState:
    subject: str
    failures: int
    last_failure_at: dt.datetime | None
    locked_until: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class AuditEvent:
    id: int
    occurred_at: dt.datetime
    event: str
    actor: str | None
    subject: str | None
    source: str | None
    detail: str | None


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who is signed in in one browser session, and when they last proved their second factor."""

    user_id: int
    username: str
    display_name: str
    role: Role
    signed_in_at: dt.datetime
    second_factor_at: dt.datetime | None
    password_at: dt.datetime | None = None

    @property
    def is_manager(self) -> bool:
        return self.role is Role.SECURITY_MANAGER


@dataclasses.dataclass(frozen=True)
class BrowserSession:
    """A signed-in browser; the database knows only the hash of its cookie token."""

    id: str
    user_id: int
    browser_hash: str = dataclasses.field(repr=False)
    created_at: dt.datetime
    last_seen_at: dt.datetime
    second_factor_at: dt.datetime | None
    user_agent: str | None
    source: str | None
    ended_at: dt.datetime | None
    end_reason: str | None


# -- read models of the security manager's reports (the store fills them) -----------------

AUDIT_COLUMNS = ("id", "occurred_at", "event", "actor", "subject", "source", "detail")


@dataclasses.dataclass(frozen=True)
class UserQuery:
    """Which accounts the manager's table shows, and in what order."""

    search: str = ""  # part of the username or display name, any case
    statuses: tuple[str, ...] = ()  # TwoFactorStatus values; empty means all
    roles: tuple[str, ...] = ()  # Role values; empty means all
    locked_only: bool = False
    disabled_only: bool = False
    codes_low_at: int | None = None  # only enabled accounts with at most this many codes left
    sort: str = "username"
    descending: bool = False


@dataclasses.dataclass(frozen=True)
class UserRow:
    """One line of the manager's table; never holds a secret or a password hash."""

    id: int
    username: str
    display_name: str
    role: str
    status: TwoFactorStatus
    disabled: bool
    enrolled_at: dt.datetime | None
    last_sign_in_at: dt.datetime | None
    backup_codes_left: int | None
    failed_attempts: int
    locked: bool
    locked_until: dt.datetime | None
    created_at: dt.datetime
    reset_expires_at: dt.datetime | None


USER_COLUMNS = tuple(f.name for f in dataclasses.fields(UserRow))


@dataclasses.dataclass(frozen=True)
class Overview:
    accounts: int
    enabled: int
    pending: int
    off: int
    reset_granted: int
    locked: int
    codes_low: int
    disabled: int


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    """Which audit events to show: by person (actor or subject), event names and time."""

    person: str = ""  # a username (any case): events where they acted or were acted on
    events: tuple[str, ...] = ()
    start: dt.datetime | None = None  # inclusive
    end: dt.datetime | None = None  # exclusive


# Explore's copies of the user-status table: every column but the internal id.
EXPORT_USER_COLUMNS = tuple(c for c in USER_COLUMNS if c != "id")
