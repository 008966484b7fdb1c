import datetime as dt

import pytest

from portal import events
from portal.access import accounts
from portal.errors import ClockSkew, InvalidCode, InvalidInput, InvalidState, StepUpRequired
from portal.twofactor import enrolment, second_factor, self_service, totp
from store import audit as audit_store
from tests.conftest import PASSWORD, add_user, enrol


def test_pending_enrolment_never_counts_as_enabled(portal, clock):
    who = add_user(portal, "alice")
    view = enrolment.start(portal, who, "t")
    enrolment.verify(portal, who, totp.code_at(view.secret, clock.now()), "t")
    enrolment.issue_codes(portal, who)
    state = enrolment.state(portal, who)
    assert state.pending and state.pending_verified and not state.enabled
    # Without Finish, sign-in still asks for no code: 2FA is off.
    assert accounts.sign_in_password(portal, "alice", PASSWORD, "t").next is accounts.Next.DONE


def test_finish_needs_a_verified_code_and_backup_codes(portal, clock):
    who = add_user(portal, "alice")
    enrolment.start(portal, who, "t")
    with pytest.raises(InvalidState):
        enrolment.finish(portal, who, "t")
    with pytest.raises(InvalidState):
        enrolment.issue_codes(portal, who)


def test_wrong_code_and_clock_hint(portal, clock):
    who = add_user(portal, "alice")
    view = enrolment.start(portal, who, "t")
    with pytest.raises(ClockSkew, match="about 3 minute"):
        enrolment.verify(
            portal, who, totp.code_at(view.secret, clock.now() + dt.timedelta(minutes=3)), "t"
        )
    with pytest.raises(ClockSkew, match="behind"):
        enrolment.verify(
            portal, who, totp.code_at(view.secret, clock.now() - dt.timedelta(minutes=2)), "t"
        )
    wrong = f"{(int(totp.code_at(view.secret, clock.now())) + 1) % 1_000_000:06d}"
    with pytest.raises(InvalidCode):
        enrolment.verify(portal, who, wrong, "t")
    with pytest.raises(InvalidInput):
        enrolment.verify(portal, who, "12ab56", "t")


def test_resume_keeps_the_key_and_restart_makes_a_new_one(portal, clock):
    who = add_user(portal, "alice")
    first = enrolment.start(portal, who, "t")
    assert enrolment.resume(portal, who).secret == first.secret
    second = enrolment.start(portal, who, "t")
    assert second.secret != first.secret
    assert enrolment.resume(portal, who).secret == second.secret
    enrolment.report_abandoned(portal, who, "t")
    with portal.db.read() as cur:
        assert audit_store.list_events(cur, "alice")[0].event == events.WIZARD_ABANDONED


def test_backup_codes_are_ten_of_twelve_characters_and_stable_on_rerun(portal, clock):
    who = add_user(portal, "alice")
    view = enrolment.start(portal, who, "t")
    enrolment.verify(portal, who, totp.code_at(view.secret, clock.now()), "t")
    codes = enrolment.issue_codes(portal, who)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 12 and not set(c) & set("01ilo") for c in codes)
    assert enrolment.issue_codes(portal, who) == codes


def test_start_needs_a_recent_password(portal, clock):
    who = add_user(portal, "alice")
    clock.advance(minutes=11)
    with pytest.raises(StepUpRequired, match="password"):
        enrolment.start(portal, who, "t")
    who = self_service.confirm_password(portal, who, PASSWORD, "t")
    enrolment.start(portal, who, "t")


def test_replacing_the_key_keeps_the_old_one_until_finish(portal, clock):
    old_secret, old_codes, who = enrol(portal, clock, add_user(portal, "alice"))
    view = enrolment.start(portal, who, "t")
    user_id = who.user_id
    # Old key still works while the new one is pending.
    second_factor.verify_sign_in(
        portal, user_id, clock.now(), totp.code_at(old_secret, clock.now()), "t"
    )
    clock.advance(seconds=30)
    enrolment.verify(portal, who, totp.code_at(view.secret, clock.now()), "t")
    enrolment.issue_codes(portal, who)
    enrolment.finish(portal, who, "t")
    clock.advance(seconds=30)
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(
            portal, user_id, clock.now(), totp.code_at(old_secret, clock.now()), "t"
        )
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, user_id, clock.now(), old_codes[0], "t")
    second_factor.verify_sign_in(
        portal, user_id, clock.now(), totp.code_at(view.secret, clock.now()), "t"
    )
    with portal.db.read() as cur:
        assert events.KEY_REPLACED in [e.event for e in audit_store.list_events(cur, "alice")]


def test_replacing_the_key_needs_a_fresh_code(portal, clock):
    _, _, who = enrol(portal, clock, add_user(portal, "alice"))
    clock.advance(minutes=11)
    with pytest.raises(StepUpRequired):
        enrolment.start(portal, who, "t")
