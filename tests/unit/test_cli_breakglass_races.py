"""PostgreSQL: shell commands on two servers at once never remove the last enabled manager."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portal import crypto
from portal.context import Portal, open_portal
from portal.manager import breakglass
from portal.models import Role
from portal.settings import Settings
from store import users as user_store
from tests.conftest import START, add_user
from tests.store.pg_crew import Crew, crew

CREW = 4
ROUNDS = 3
OPTIONS: dict[str, Any] = {
    "secret_key": crypto.encode_key(crypto.new_key()),
    "bcrypt_rounds": 4,
    "db_pool_size": 2,
}


@pytest.fixture(scope="module")
def racers() -> Iterator[Crew]:
    with crew(CREW, OPTIONS) as started:
        yield started


def _take_away(p: Portal, i: int, names: tuple[str, str]) -> str:
    """Half the crew demote, half disable, each of the two managers in turn."""
    name = names[i % 2]
    if i // 2 % 2:
        return breakglass.set_disabled(p, "os:racer", name, True, "race").note
    return breakglass.set_role(p, "os:racer", name, Role.USER, "race", False).note


def test_two_managers_taken_away_at_once_leave_one(racers: Crew, postgres_template) -> None:
    for n in range(ROUNDS):
        url = postgres_template.fresh()
        p = open_portal(Settings(db_path=url, **OPTIONS))
        try:
            for name in ("m1", "m2"):
                add_user(p, name, Role.SECURITY_MANAGER)
            got = racers.run(_take_away, url, START, [("m1", "m2")] * CREW, keep=False)
            assert not [o for o in got if str(o).startswith(("ERROR", "StoreUnavailable"))], got
            with p.db.read() as cur:
                users = [user_store.get_user_by_username(cur, m) for m in ("m1", "m2")]
            left = [u for u in users if u and u.is_manager and not u.disabled]
            assert len(left) == 1, f"round {n}: {got}"
            assert any("last enabled security manager" in str(o) for o in got), got
        finally:
            p.db.close()
            postgres_template.drop(url)
