"""What one rerun of My account asks the database (issue 15): few statements, still fresh.

The account and its keys are read once per run (store/account_view.py) and handed to the
services; facts that cannot change once known (the first run is done, when the policy began)
are kept per process in Portal.memo. A manager's change still shows on the next rerun.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from portal.access import accounts
from portal.context import Portal, open_portal
from portal.manager import actions
from portal.models import FactorStatus, Role
from portal.twofactor import enrolment, policy, second_factor, self_service, totp
from portal.ui import resources
from portal.ui.resources import use_portal
from store import factors as factor_store
from tests.app.conftest import ENTRY, enter_code, sign_in, texts
from tests.conftest import PASSWORD, ROOT, START, add_user, enrol


class _Cursor:
    """A real cursor that notes every statement it runs."""

    def __init__(self, cur: Any, seen: list[str]) -> None:
        self._cur, self._seen = cur, seen

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._seen.append(" ".join(sql.split()))
        self._cur.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Any) -> Any:
        self._seen.append(" ".join(sql.split()))
        self._cur.executemany(sql, rows)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


class Counted:
    """The portal's real database, noting the statements of every kind of transaction."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.seen: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextlib.contextmanager
    def read(self) -> Iterator[Any]:
        with self._db.read() as cur:
            yield _Cursor(cur, self.seen)

    @contextlib.contextmanager
    def write(self) -> Iterator[Any]:
        with self._db.write() as cur:
            yield _Cursor(cur, self.seen)

    def transact(self, work: Callable[[Any], Any], attempts: int = 3) -> Any:
        return self._db.transact(lambda cur: work(_Cursor(cur, self.seen)), attempts)


def counted(p: Portal) -> tuple[Portal, Counted]:
    db = Counted(p.db)
    return dataclasses.replace(p, db=db), db  # type: ignore[arg-type]


def _from(sql: str) -> str:
    """The table a statement reads first, e.g. "users" (enough to tell which read crept in)."""
    found = re.search(r"\bFROM (\w+)", sql)
    return found.group(1) if found else sql[:30]


@pytest.fixture
def counted_app(portal: Portal, clock) -> Iterator[tuple[AppTest, Counted, Portal]]:  # type: ignore[no-untyped-def]
    p, db = counted(portal)
    use_portal(p)
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.run()
    yield at, db, p
    use_portal(None)


def _on_my_account(at: AppTest, p: Portal, clock) -> Any:  # type: ignore[no-untyped-def]
    _, codes, alice = enrol(p, clock, add_user(p, "alice"))
    at.run()
    sign_in(at, "alice")
    at.button(key="toggle_backup").click().run()
    enter_code(at, codes[0])
    assert "Hello, alice" in texts(at)
    at.run()  # the panels' short-lived reads are now in place (portal/ui/account.py)
    return alice


def test_a_rerun_of_my_account_reads_the_account_once(counted_app, clock):
    at, db, p = counted_app
    _on_my_account(at, p, clock)
    db.seen.clear()
    at.run()  # nothing clicked
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Backup codes left"] == ["9"]
    # sessions.recheck's account row, then the account with its keys (store/account_view.py).
    # Not the policy's start, not the first-run count, not the keys or codes one by one.
    assert [_from(s) for s in db.seen] == ["users", "users"], db.seen
    assert "LEFT JOIN factors" in db.seen[1]


def test_my_account_shows_a_change_made_elsewhere_on_the_next_rerun(counted_app, clock):
    at, db, p = counted_app
    alice = _on_my_account(at, p, clock)
    assert "Two-factor authentication is **on**" in texts(at)
    with p.db.write() as cur:  # a code used on another device
        codes = factor_store.list_backup_codes(
            cur, factor_store.get_factor(cur, alice.user_id, FactorStatus.ACTIVE).id
        )
        factor_store.update_backup_code_used(cur, codes[5].id, clock.now())
    at.run()
    left = next(m for m in at.metric if m.label == "Backup codes left")
    assert left.value == "8"  # one used at sign-in, one just now
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    clock.advance(seconds=30)
    actions.deactivate_for(p, boss, [alice.user_id], "lost phone", "test")
    at.run()
    assert "Two-factor authentication is **on**" not in texts(at)


def test_a_disabled_account_stops_at_the_next_rerun_of_my_account(counted_app, clock):
    at, _, p = counted_app
    alice = _on_my_account(at, p, clock)
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    actions.set_disabled(p, boss, [alice.user_id], True, "left the company", "test")
    at.run()
    assert "Your account has been disabled" in texts(at)
    assert at.text_input(key="si_username")


def test_the_view_agrees_with_the_keys_and_codes_read_one_by_one(portal, clock):
    def both(who):  # type: ignore[no-untyped-def]
        view = policy.account_view(portal, who)
        with portal.db.read() as cur:
            active = factor_store.get_factor(cur, who.user_id, FactorStatus.ACTIVE)
            pending = factor_store.get_factor(cur, who.user_id, FactorStatus.PENDING)
            left = active and sum(
                c.used_at is None for c in factor_store.list_backup_codes(cur, active.id)
            )
            issued = bool(pending and factor_store.list_backup_codes(cur, pending.id))
        expected = enrolment.EnrolmentState(
            enabled=active is not None,
            enabled_at=active.activated_at if active else None,
            pending=pending is not None,
            pending_verified=bool(pending and pending.verified_at),
            pending_started_at=pending.created_at if pending else None,
            codes_issued=issued,
        )
        assert enrolment.state(portal, who, view) == expected
        assert self_service.backup_codes_left(portal, who, view) == (left if active else None)

    alice = add_user(portal, "alice")
    both(alice)  # 2FA off, nothing pending
    key = enrolment.start(portal, alice, "test")
    both(alice)  # pending
    _, codes, alice = enrol(portal, clock, alice)
    both(alice)  # on, 10 codes
    clock.advance(seconds=30)
    accounts.sign_in_password(portal, "alice", PASSWORD, "t")
    second_factor.verify_sign_in(portal, alice.user_id, clock.now(), codes[0], "t")
    both(alice)  # on, 9 codes
    fresh = dataclasses.replace(alice, password_at=clock.now(), second_factor_at=clock.now())
    key = enrolment.start(portal, fresh, "test")  # replacing the key: active and pending
    clock.advance(seconds=30)
    enrolment.verify(portal, fresh, totp.code_at(key.secret, clock.now()), "test")
    both(fresh)  # pending verified, no codes yet
    enrolment.issue_codes(portal, fresh)
    both(fresh)  # pending with its codes, the old key still on


def test_first_run_is_asked_until_it_is_done_then_never_again(settings, clock):
    p, db = counted(open_portal(settings, clock))
    assert resources.needs_first_run(p)
    assert resources.needs_first_run(p)  # still empty: asked every time
    assert [_from(s) for s in db.seen] == ["users", "users"]
    accounts.create_first_manager(p, "boss", PASSWORD, PASSWORD, "t")
    assert not resources.needs_first_run(p)
    db.seen.clear()
    assert not resources.needs_first_run(p)
    assert db.seen == []  # remembered for the process
    p.db.close()


def test_no_code_deletes_accounts_so_the_first_run_cannot_come_back():
    # resources.needs_first_run() keeps "not needed" for the process: that holds only while
    # the count of accounts can never fall back to 0.
    pattern = re.compile(r"DELETE\s+FROM\s+users\b|TRUNCATE\s+(TABLE\s+)?users\b", re.I)
    found = [  # store/ is the only package that writes SQL (tests/unit/test_layers.py)
        str(path.relative_to(ROOT))
        for path in (ROOT / "store").rglob("*")
        if path.suffix in {".py", ".sql"} and pattern.search(path.read_text())
    ]
    assert found == []


def test_the_policy_start_is_read_once_per_process_and_per_setting(portal, clock):
    on = dataclasses.replace(portal.settings, require_2fa="all")
    p, db = counted(dataclasses.replace(portal, settings=on))
    first = policy.policy_started(p)
    assert first == {"managers": START, "users": START}
    db.seen.clear()
    clock.advance(days=3)
    assert policy.policy_started(p) == first
    assert db.seen == []
    managers = dataclasses.replace(p, settings=dataclasses.replace(on, require_2fa="managers"))
    assert policy.policy_started(managers) == {"managers": START, "users": None}
    assert [_from(s) for s in db.seen] == ["meta"]  # another setting: its own memo
    off = dataclasses.replace(p, settings=portal.settings)
    db.seen.clear()
    assert policy.policy_started(off) == {"managers": None, "users": None}
    assert db.seen == []  # nothing covered, nothing to read
