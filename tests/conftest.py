"""Shared fixtures: a migrated DuckDB file, a fixed clock, a Portal built on both, and a
PostgreSQL server with a migrated template database (`postgres_template`, for tests/app and e2e)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from portal import crypto
from portal.access import accounts
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.models import Identity, Role
from portal.settings import Settings
from portal.twofactor import enrolment, totp
from portal.ui.resources import use_portal
from store import open_database
from tests.store import postgres

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)


class PostgresTemplate:
    """A PostgreSQL server with a migrated template database; fresh() clones it (fast)."""

    def __init__(self, server: str, admin: psycopg.Connection[object], template: str) -> None:
        self.server, self._admin, self.template = server, admin, template

    def fresh(self) -> str:
        """The URL of a new, migrated database of its own: CREATE DATABASE ... TEMPLATE."""
        name = "portal_test_" + uuid.uuid4().hex[:12]
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return postgres.as_url(self.server, name)

    def drop(self, url: str) -> None:
        postgres.drop_database(self.server, url)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    """PORTAL_TEST_POSTGRES or a throw-away cluster, for the AppTest and e2e runs on PostgreSQL."""
    with contextlib.ExitStack() as stack:
        server = os.environ.get("PORTAL_TEST_POSTGRES") or stack.enter_context(postgres.cluster())
        template = postgres.new_database(server)
        open_database(template).close()  # migrated once; every clone starts from here
        admin = stack.enter_context(psycopg.connect(server, autocommit=True))
        yield PostgresTemplate(server, admin, str(conninfo_to_dict(template)["dbname"]))
        with contextlib.suppress(psycopg.Error):
            postgres.drop_database(server, template)


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


def stale_counter(p: Portal, clock: FixedClock, key: str) -> None:
    """A throttle counter whose window ended a second ago (for the prune to drop)."""
    ended = clock.now() - dt.timedelta(seconds=1)
    with p.db.write() as cur:
        cur.execute(
            "INSERT INTO throttle (key, scope, failures, last_failure_at, expires_at)"
            " VALUES (?, 'address', 3, ?, ?)",
            [key, ended, ended],
        )


def enrol(p: Portal, clock: FixedClock, who: Identity) -> tuple[str, list[str], Identity]:
    """Run the whole wizard through the services; returns (secret, backup codes, identity)."""
    view = enrolment.start(p, who, "test")
    enrolment.verify(p, who, totp.code_at(view.secret, clock.now()), "test")
    codes = enrolment.issue_codes(p, who)
    who = enrolment.finish(p, who, "test")
    clock.advance(seconds=30)  # the verified step is used; the next code is a new step
    return view.secret, codes, who


def on_engine(
    settings: Settings, request: pytest.FixtureRequest, engine: str | None = None
) -> Iterator[Settings]:
    """`settings` as they are (engine, else request.param, "duckdb") or on a fresh PostgreSQL
    database.

    For a module's own `settings` fixture with params=["duckdb", "postgresql"]:
    `yield from on_engine(settings, request)`.
    """
    if (engine or request.param) == "duckdb":
        yield settings
        return
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    url = template.fresh()
    yield dataclasses.replace(settings, db_path=url)
    template.drop(url)


def together(*calls: Callable[[], Any], wait: float = 30.0) -> list[Any]:
    """Run the calls in threads released by one barrier; each result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each call raised
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(wait)
    return results
