"""Shared fixtures: a migrated DuckDB file, a fixed clock, and a Portal built on both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal import crypto
from portal.access import accounts
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.models import Identity, Role
from portal.settings import Settings
from portal.twofactor import enrolment, totp
from portal.ui.resources import use_portal

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        db_path=str(tmp_path / "portal.duckdb"),
        secret_key=crypto.encode_key(crypto.new_key()),
        bcrypt_rounds=4,
    )


@pytest.fixture
def portal(settings: Settings, clock: FixedClock) -> Iterator[Portal]:
    p = open_portal(settings, clock)
    yield p
    use_portal(None)  # an AppTest may have been handed this Portal
    p.db.close()


@pytest.fixture
def p(portal: Portal) -> Portal:
    """The short name the service tests use."""
    return portal


@pytest.fixture
def boss(portal: Portal) -> Identity:
    """A security manager, signed in with the password (2FA off)."""
    return add_user(portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")


def add_user(p: Portal, name: str, role: Role = Role.USER, display: str = "") -> Identity:
    """Create an account and sign it in with its password (2FA off)."""
    accounts.create_account(p, None, name, PASSWORD, role, display_name=display)
    result = accounts.sign_in_password(p, name, PASSWORD, "test")
    assert result.identity is not None
    return result.identity


def enrol(p: Portal, clock: FixedClock, who: Identity) -> tuple[str, list[str], Identity]:
    """Run the whole wizard through the services; returns (secret, backup codes, identity)."""
    view = enrolment.start(p, who, "test")
    enrolment.verify(p, who, totp.code_at(view.secret, clock.now()), "test")
    codes = enrolment.issue_codes(p, who)
    who = enrolment.finish(p, who, "test")
    clock.advance(seconds=30)  # the verified step is used; the next code is a new step
    return view.secret, codes, who
