"""PostgreSQL only: every check-then-act rule with CREW processes released together, many rounds.

Each round seeds fresh rows through the services in this process, then CREW spawned processes
(each its own Portal and connection pool, as app servers behind a load balancer) make the same
or clashing calls at one barrier. Exactly one may succeed where one is allowed, counters are
exact, and no serialization failure, deadlock or traceback reaches a person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal import crypto, events
from portal.access import accounts, sessions
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.manager import actions
from portal.models import FactorStatus, Role
from portal.settings import Settings
from portal.twofactor import enrolment, policy, second_factor, totp
from store import audit as audit_store
from store import factors as factor_store
from store import sessions as session_store
from store import users as user_store
from tests.conftest import PASSWORD, START, add_user, enrol
from tests.store import postgres
from tests.store.conftest import database_target
from tests.store.pg_crew import Crew, crew

CREW = 6
ROUNDS = 3
LIMIT = 4  # failures from one address that lock it (below CREW, so the limit is crossed)
OPTIONS: dict[str, Any] = {
    "secret_key": crypto.encode_key(crypto.new_key()),
    "bcrypt_rounds": 4,
    "lockout_after": LIMIT,
    "throttle_after": LIMIT,  # no back-off before the lock: every attempt below it is let in
    "lockout_account_after": 100,
    "db_pool_size": 2,
}


@pytest.fixture(scope="module")
def racers() -> Iterator[Crew]:
    with crew(CREW, OPTIONS) as started:
        yield started


@pytest.fixture
def env(postgres_server: str, tmp_path: Path) -> Iterator[tuple[Portal, FixedClock, str]]:
    url = database_target("postgresql", tmp_path)
    clock = FixedClock(START)
    p = open_portal(Settings(db_path=url, **OPTIONS), clock)
    yield p, clock, url
    p.db.close()


def source(i: int) -> str:
    return f"10.0.{i}.1 racer"


def kinds(outcomes: list[Any]) -> list[str]:
    """Each outcome's first word ("ok", or the PortalError's class name), sorted."""
    for o in outcomes:
        assert not str(o).startswith(("ERROR", "StoreUnavailable")), o
    return sorted(str(o).split(":")[0] for o in outcomes)


def count_events(p: Portal, username: str, event: str) -> int:
    with p.db.read() as cur:
        return sum(1 for e in audit_store.list_events(cur, username) if e.event == event)


def counters(p: Portal, user_id: int) -> dict[str, list[int]]:
    with p.db.read() as cur:
        rows = cur.execute(
            "SELECT scope, failures, locked_until IS NOT NULL FROM throttle WHERE user_id = ?",
            [user_id],
        ).fetchall()
    found: dict[str, list[int]] = {}
    for scope, failures, locked in rows:
        found.setdefault(scope, []).append(int(failures) * (-1 if locked else 1))
    return {k: sorted(v) for k, v in found.items()}  # a locked row's count shows negative


# --- what each process does (module level: the spawned children import them by name) --------


def _sign_in_code(p: Portal, i: int, job: dict[str, Any]) -> str:
    second_factor.verify_sign_in(p, job["user"], job["at"], job["code"], job.get("src", source(i)))
    return "ok"


def _redeem(p: Portal, i: int, job: dict[str, Any]) -> str:
    sessions.redeem_ticket(p, job["ticket"], job["browser"], "ua")
    return "ok"


def _password(p: Portal, i: int, name: str) -> str:
    return "ok " + str(accounts.sign_in_password(p, name, PASSWORD, source(i)).next)


def _first_run(p: Portal, i: int, _: None) -> str:
    accounts.create_first_manager(p, f"first{i}", PASSWORD, PASSWORD, source(i))
    return "ok"


def _finish(p: Portal, i: int, job: tuple[Any, int]) -> str:
    who, factor_id = job
    enrolment.finish(p, who, f"tab {i}", factor_id)  # as the wizard page calls it
    return "ok"


def _revoke_or_use(p: Portal, i: int, job: dict[str, Any]) -> str:
    if i == 0:
        return f"ok ended {sessions.end_all(p, job['who'], 'everywhere', None, 'racer')}"
    browser = f"b{i}"
    token = job["tokens"].get(browser) or sessions.redeem_ticket(
        p, job["tickets"][browser], browser, "ua"
    )
    return "ok " + token


def _disable(p: Portal, i: int, job: dict[str, Any]) -> str:
    actor, target = (job["m1"], job["m2"]) if i % 2 == 0 else (job["m2"], job["m1"])
    actions.set_disabled(p, actor, [target.user_id], True, "race", source(i))
    return f"ok by {actor.username}"


def _policy_start(p: Portal, i: int, at: dt.datetime) -> str:
    # The same database with require_2fa switched on, each server's clock a second apart.
    on = dataclasses.replace(
        p,
        settings=dataclasses.replace(p.settings, require_2fa="all"),
        clock=FixedClock(at + dt.timedelta(seconds=i)),
    )
    started = policy.policy_started(on)
    return f"ok {started['users']} {started['managers']}"


# --- the races -----------------------------------------------------------------------------


def test_one_totp_code_signs_in_once(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        secret, _codes, who = enrol(p, clock, add_user(p, f"totp{n}"))
        job = {"user": who.user_id, "at": clock.now(), "code": totp.code_at(secret, clock.now())}
        got = kinds(racers.run(_sign_in_code, url, clock.now(), [job] * CREW))
        assert got == ["InvalidCode"] * (CREW - 1) + ["ok"], f"round {n}: {got}"
        assert count_events(p, who.username, events.SIGN_IN_OK) == 2  # add_user's, and one now


def test_one_backup_code_works_once(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        _secret, codes, who = enrol(p, clock, add_user(p, f"backup{n}"))
        job = {"user": who.user_id, "at": clock.now(), "code": codes[0]}
        got = kinds(racers.run(_sign_in_code, url, clock.now(), [job] * CREW))
        assert got == ["InvalidCode"] * (CREW - 1) + ["ok"], f"round {n}: {got}"
        assert count_events(p, who.username, events.CODE_USED) == 1
        with p.db.read() as cur:
            factor = factor_store.get_factor(cur, who.user_id, FactorStatus.ACTIVE)
            assert factor is not None
            used = [c for c in factor_store.list_backup_codes(cur, factor.id) if c.used_at]
        assert len(used) == 1


def test_one_ticket_is_redeemed_once(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        who = add_user(p, f"ticket{n}")
        ticket = sessions.issue_ticket(p, who, "browser", "test")
        job = {"ticket": ticket.ticket, "browser": "browser"}
        got = kinds(racers.run(_redeem, url, clock.now(), [job] * CREW))
        assert got == ["SessionRefused"] * (CREW - 1) + ["ok"], f"round {n}: {got}"


def test_one_reset_grant_opens_the_wizard_once(racers: Crew, env) -> None:
    p, clock, url = env
    boss = add_user(p, "boss", Role.SECURITY_MANAGER)
    for n in range(ROUNDS):
        name = f"reset{n}"
        _secret, _codes, who = enrol(p, clock, add_user(p, name))
        actions.grant_reset(p, boss, [who.user_id], "lost phone", "test")
        got = racers.run(_password, url, clock.now(), [name] * CREW)
        wizard = [o for o in kinds(got) if o == "ok wizard"]
        assert len(wizard) == 1, f"round {n}: {got}"
        assert count_events(p, name, events.RESET_USED) == 1


def test_first_run_makes_exactly_one_manager(racers: Crew, postgres_server: str) -> None:
    for n in range(ROUNDS):
        url = postgres.new_database(postgres_server)
        first = open_portal(Settings(db_path=url, **OPTIONS), FixedClock(START))  # migrated, keyed
        try:
            got = kinds(racers.run(_first_run, url, START, keep=False))
            assert got == ["SetupAlreadyDone"] * (CREW - 1) + ["ok"], f"round {n}: {got}"
            with first.db.read() as cur:
                managers = [
                    u for u in user_store.list_users(cur) if u.role is Role.SECURITY_MANAGER
                ]
            assert len(managers) == 1
        finally:
            first.db.close()
            postgres.drop_database(postgres_server, url)


def test_two_or_more_finishes_of_one_key_turn_it_on_once(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        who = add_user(p, f"wizard{n}")
        view = enrolment.start(p, who, "tab")
        enrolment.verify(p, who, totp.code_at(view.secret, clock.now()), "tab")
        enrolment.issue_codes(p, who)
        got = kinds(racers.run(_finish, url, clock.now(), [(who, view.factor_id)] * CREW))
        assert got == ["AlreadyFinished"] * (CREW - 1) + ["ok"], f"round {n}: {got}"
        assert count_events(p, who.username, events.WIZARD_COMPLETED) == 1
        with p.db.read() as cur:
            factor = factor_store.get_factor(cur, who.user_id, FactorStatus.ACTIVE)
            assert factor is not None and factor.id == view.factor_id
            codes = factor_store.list_backup_codes(cur, factor.id)
        assert len(codes) == p.settings.backup_code_count


def _wrong_code(secret: str, at: dt.datetime) -> str:
    near = {totp.code_at(secret, at + dt.timedelta(seconds=30 * k)) for k in range(-2, 3)}
    return next(c for c in (f"{i:06d}" for i in range(1000)) if c not in near)


def test_wrong_codes_from_many_addresses_are_counted_exactly(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        secret, _codes, who = enrol(p, clock, add_user(p, f"count{n}"))
        job = {"user": who.user_id, "at": clock.now(), "code": _wrong_code(secret, clock.now())}
        got = kinds(racers.run(_sign_in_code, url, clock.now(), [job] * CREW))
        assert got == ["InvalidCode"] * CREW, f"round {n}: {got}"
        assert counters(p, who.user_id) == {"account": [CREW], "address": [1] * CREW}
        assert count_events(p, who.username, events.CODE_FAILED) == CREW


def test_wrong_codes_from_one_address_lock_at_the_limit_exactly(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        secret, _codes, who = enrol(p, clock, add_user(p, f"lock{n}"))
        wrong = _wrong_code(secret, clock.now())
        job = {"user": who.user_id, "at": clock.now(), "code": wrong, "src": "10.9.9.9 one"}
        got = kinds(racers.run(_sign_in_code, url, clock.now(), [job] * CREW))
        assert got == ["InvalidCode"] * LIMIT + ["Throttled"] * (CREW - LIMIT), f"round {n}"
        assert counters(p, who.user_id) == {"account": [LIMIT], "address": [-LIMIT]}
        assert count_events(p, who.username, events.LOCKOUT) == 1
        assert count_events(p, who.username, events.CODE_FAILED) == LIMIT


def test_sign_out_everywhere_leaves_no_session_usable(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        who = add_user(p, f"revoke{n}")
        tickets = {
            f"b{i}": sessions.issue_ticket(p, who, f"b{i}", "t").ticket for i in range(1, CREW)
        }
        tokens = {b: sessions.redeem_ticket(p, t, b, "ua") for b, t in tickets.items() if b < "b3"}
        job = {"who": who, "tickets": tickets, "tokens": tokens}
        got = racers.run(_revoke_or_use, url, clock.now(), [job] * CREW)
        kinds(got)
        for i, outcome in enumerate(got[1:], start=1):  # a live session, or a refused ticket
            if outcome.startswith("ok "):
                assert sessions.resume(p, outcome[3:], f"b{i}", "ua") is None, f"round {n}"
        with p.db.read() as cur:
            assert session_store.list_sessions(cur, who.user_id) == [], f"round {n}"


def test_two_managers_disabling_each_other_leave_one_manager(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        m1 = add_user(p, f"one{n}", Role.SECURITY_MANAGER)
        m2 = add_user(p, f"two{n}", Role.SECURITY_MANAGER)
        got = racers.run(_disable, url, clock.now(), [{"m1": m1, "m2": m2}] * CREW)
        winners = {o for o in kinds(got) if o.startswith("ok")}
        assert len(winners) == 1, f"round {n}: {got}"
        with p.db.read() as cur:
            disabled = [user_store.get_user(cur, m.user_id).disabled for m in (m1, m2)]  # type: ignore[union-attr]
        assert sorted(disabled) == [False, True], f"round {n}: {got}"


def test_the_policy_start_is_recorded_once_when_servers_first_see_it(racers: Crew, env) -> None:
    p, clock, url = env
    for n in range(ROUNDS):
        with p.db.write() as cur:  # as before the setting was switched on
            cur.execute("DELETE FROM meta WHERE key LIKE ?", [policy.SINCE_KEY + "%"])
        at = clock.now() + dt.timedelta(minutes=n)
        got = racers.run(_policy_start, url, at, [at] * CREW)
        kinds(got)  # no error reached anyone
        assert len(set(got)) == 1, f"round {n}: {got}"  # every server got the same instants
        with p.db.read() as cur:
            rows = cur.execute(
                "SELECT count(*) FROM meta WHERE key LIKE ?", [policy.SINCE_KEY + "%"]
            )
            assert rows.fetchone() == (2,)  # users and managers, once each
