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
