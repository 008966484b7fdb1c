"""Check-then-act under contention: two requests released together by one barrier, many rounds.

Each test runs the same pair of calls ROUNDS times on a real DuckDB file (each round on a new
account), as two browser tabs of one person would, and checks the one outcome that may result.
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal import events
from portal.access import accounts, sessions
from portal.context import Portal
from portal.errors import AlreadyFinished, PortalError, SessionRefused
from portal.models import FactorStatus, Identity
from portal.twofactor import enrolment, self_service, totp
from store import audit as audit_store
from store import factors as factor_store
from store import users as user_store
from tests.conftest import PASSWORD, add_user, enrol, together

ROUNDS = 20


def events_of(p: Portal, username: str, name: str) -> int:
    with p.db.read() as cur:
        return sum(1 for e in audit_store.list_events(cur, username) if e.event == name)


def ready_to_finish(p: Portal, clock, who: Identity) -> enrolment.KeyView:
    view = enrolment.start(p, who, "tab")
    enrolment.verify(p, who, totp.code_at(view.secret, clock.now()), "tab")
    enrolment.issue_codes(p, who)
    return view


def active_secret(p: Portal, who: Identity) -> str | None:
    with p.db.read() as cur:
        factor = factor_store.get_factor(cur, who.user_id, FactorStatus.ACTIVE)
    if factor is None:
        return None
    return p.cipher.decrypt(factor.secret_enc, f"totp:{who.user_id}").decode()


def test_two_tabs_pressing_finish_together_leave_2fa_on(portal, clock):
    for n in range(ROUNDS):
        who = add_user(portal, f"tabs{n}")
        view = ready_to_finish(portal, clock, who)
        together(lambda w=who: enrolment.finish(portal, w, "tab 1"),
                 lambda w=who: enrolment.finish(portal, w, "tab 2"))  # fmt: skip
        assert active_secret(portal, who) == view.secret, f"round {n}: 2FA is off"
        assert enrolment.state(portal, who).enabled
        assert events_of(portal, who.username, events.WIZARD_COMPLETED) == 1
        assert self_service.backup_codes_left(portal, who) == portal.settings.backup_code_count


def test_the_second_finish_of_one_key_says_it_was_already_finished(portal, clock):
    for n in range(ROUNDS):
        who = add_user(portal, f"second{n}")
        view = ready_to_finish(portal, clock, who)
        outcomes = together(
            lambda w=who, v=view: enrolment.finish(portal, w, "tab 1", v.factor_id),
            lambda w=who, v=view: enrolment.finish(portal, w, "tab 2", v.factor_id),
        )
        assert sum(isinstance(o, Identity) for o in outcomes) == 1, outcomes
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], AlreadyFinished)
        assert "already finished" in str(refused[0])
        assert active_secret(portal, who) == view.secret


def test_two_tabs_replacing_the_key_together_leave_the_new_key_on(portal, clock):
    for n in range(ROUNDS):
        secret, _, who = enrol(portal, clock, add_user(portal, f"replace{n}"))
        view = ready_to_finish(portal, clock, who)
        together(lambda w=who: enrolment.finish(portal, w, "tab 1"),
                 lambda w=who: enrolment.finish(portal, w, "tab 2"))  # fmt: skip
        assert active_secret(portal, who) == view.secret != secret, f"round {n}"
        assert events_of(portal, who.username, events.KEY_REPLACED) == 1
        with portal.db.read() as cur:
            factors = cur.execute(
                "SELECT count(*) FROM factors WHERE user_id = ?", [who.user_id]
            ).fetchone()
        assert factors == (1,)


def test_a_tab_finishing_a_key_replaced_in_another_tab_changes_nothing(portal, clock):
    who = add_user(portal, "twotabs")
    first = ready_to_finish(portal, clock, who)
    clock.advance(seconds=30)
    second = ready_to_finish(portal, clock, who)  # tab 2 started over with a new key
    with pytest.raises(PortalError, match="started again in another tab"):
        enrolment.finish(portal, who, "tab 1", first.factor_id)
    assert not enrolment.state(portal, who).enabled
    enrolment.finish(portal, who, "tab 2", second.factor_id)
    assert active_secret(portal, who) == second.secret


def test_regenerating_codes_while_2fa_is_turned_off_leaves_no_codes_behind(portal, clock):
    for n in range(ROUNDS):
        _, _, who = enrol(portal, clock, add_user(portal, f"regen{n}"))
        outcomes = together(
            lambda w=who: self_service.regenerate_backup_codes(portal, w, "tab 1"),
            lambda w=who: self_service.deactivate(portal, w, "tab 2"),
        )
        assert not enrolment.state(portal, who).enabled
        with portal.db.read() as cur:
            left = cur.execute(
                "SELECT count(*) FROM backup_codes WHERE user_id = ?", [who.user_id]
            ).fetchone()
        assert left == (0,), f"round {n}: {outcomes}"


def test_deactivating_twice_together_turns_2fa_off_once(portal, clock):
    for n in range(ROUNDS):
        _, _, who = enrol(portal, clock, add_user(portal, f"off{n}"))
        outcomes = together(
            lambda w=who: self_service.deactivate(portal, w, "tab 1"),
            lambda w=who: self_service.deactivate(portal, w, "tab 2"),
        )
        assert sum(o is None for o in outcomes) == 1, outcomes
        assert any("already off" in str(o) for o in outcomes)
        assert events_of(portal, who.username, events.DEACTIVATED) == 1


def test_two_tabs_issuing_backup_codes_together_get_the_same_codes(portal, clock):
    for n in range(ROUNDS):
        who = add_user(portal, f"codes{n}")
        view = enrolment.start(portal, who, "tab")
        enrolment.verify(portal, who, totp.code_at(view.secret, clock.now()), "tab")
        first, second = together(
            lambda w=who: enrolment.issue_codes(portal, w),
            lambda w=who: enrolment.issue_codes(portal, w),
        )
        assert first == second and len(first) == portal.settings.backup_code_count


def test_a_reset_grant_is_redeemed_once_by_two_sign_ins_together(portal, clock):
    for n in range(ROUNDS):
        _, _, who = enrol(portal, clock, add_user(portal, f"grant{n}"))
        with portal.db.write() as cur:
            factor_store.delete_factors(cur, who.user_id)
            user_store.update_reset_grant(
                cur, who.user_id, clock.now(), clock.now() + dt.timedelta(hours=1), "boss"
            )
        outcomes = together(
            lambda w=who: accounts.sign_in_password(portal, w.username, PASSWORD, "tab 1"),
            lambda w=who: accounts.sign_in_password(portal, w.username, PASSWORD, "tab 2"),
        )
        wizard = [o for o in outcomes if getattr(o, "next", None) is accounts.Next.WIZARD]
        assert len(wizard) == 1, outcomes
        assert events_of(portal, who.username, events.RESET_USED) == 1


def test_a_ticket_is_redeemed_once_by_two_requests_together(portal, clock):
    who = add_user(portal, "ticket")
    for n in range(ROUNDS):
        ticket = sessions.issue_ticket(portal, who, "browser", "test")
        outcomes = together(
            lambda t=ticket: sessions.redeem_ticket(portal, t.ticket, "browser", "UA"),
            lambda t=ticket: sessions.redeem_ticket(portal, t.ticket, "browser", "UA"),
        )
        tokens = [o for o in outcomes if isinstance(o, str)]
        assert len(tokens) == 1, f"round {n}: {outcomes}"
        assert isinstance([o for o in outcomes if o not in tokens][0], SessionRefused)


def test_two_tabs_starting_over_together_leave_one_pending_key(portal, clock):
    for n in range(ROUNDS):
        who = add_user(portal, f"start{n}")
        views = together(
            lambda w=who: enrolment.start(portal, w, "tab 1"),
            lambda w=who: enrolment.start(portal, w, "tab 2"),
        )
        with portal.db.read() as cur:
            pending = cur.execute(
                "SELECT id FROM factors WHERE user_id = ? AND status = 'pending'", [who.user_id]
            ).fetchall()
        assert len(pending) == 1
        assert pending[0][0] in {v.factor_id for v in views}
