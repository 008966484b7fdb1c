"""Explore on a PostgreSQL portal: the same secret-free copies, the same cells, the same answers.

Explore copies two secret-free tables out of the live database (`cur.arrow`) into a sandboxed
DuckDB child process, so on PostgreSQL only the copy step differs: these tests run the shipped
cells and the secret checks on a portal whose database is a PostgreSQL server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.manager import explore
from portal.models import Role
from portal.settings import Settings
from tests.app.manager_helpers import add_person, enrol
from tests.conftest import PostgresTemplate, add_user


@pytest.fixture
def pg_portal(
    settings: Settings, clock: FixedClock, postgres_template: PostgresTemplate
) -> Iterator[Portal]:
    url = postgres_template.fresh()
    p = open_portal(dataclasses.replace(settings, db_path=url), clock)
    yield p
    p.db.close()
    postgres_template.drop(url)


def test_the_shipped_cells_answer_on_postgresql(pg_portal: Portal, clock: FixedClock) -> None:
    boss = add_user(pg_portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")
    enrol(pg_portal, clock, add_person(pg_portal, "alice"))
    add_person(pg_portal, "bob")
    assert pg_portal.db.dialect == "postgresql"
    results = explore.run_cells(pg_portal, boss, explore.CELLS)
    assert [r.error for r in results] == [None] * len(explore.CELLS)
    not_enrolled = results[0].frame
    assert not_enrolled is not None and sorted(not_enrolled["username"]) == ["bob", "boss"]


def test_the_copies_hold_no_secret_on_postgresql(pg_portal: Portal, clock: FixedClock) -> None:
    boss = add_user(pg_portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")
    enrol(pg_portal, clock, add_person(pg_portal, "alice"))
    with pg_portal.db.read() as cur:
        hashes = [r[0] for r in cur.execute("SELECT password_hash FROM users").fetchall()]
    with explore.open_sandbox(pg_portal, boss) as box:
        for sql in ("SELECT password_hash FROM user_status", "SELECT * FROM factors"):
            refused = box.run(sql)
            assert refused.error is not None and refused.frame is None
        dump = ""
        for table in explore.TABLES:
            shown = box.run(f"SELECT * FROM {table}")  # noqa: S608
            assert shown.error is None and shown.frame is not None, shown.error
            dump += shown.frame.to_csv()
        counted = box.run("SELECT count(*) AS n FROM user_status")
    assert hashes and not any(h in dump for h in hashes) and "$2b$" not in dump
    assert counted.frame is not None and int(counted.frame["n"][0]) == 2
    assert "alice" in dump
