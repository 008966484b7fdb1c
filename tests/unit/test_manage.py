import pytest

from portal import events
from portal.access import accounts
from portal.errors import InvalidCode, InvalidCredentials, StepUpRequired
from portal.twofactor import second_factor, self_service, totp
from store import audit as audit_store
from tests.conftest import PASSWORD, add_user, enrol


def test_sensitive_actions_need_a_code_from_the_last_ten_minutes(portal, clock):
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    self_service.view_backup_codes(portal, who, "t")  # fresh from finishing the wizard
    clock.advance(minutes=10, seconds=1)
    for action in (
        self_service.view_backup_codes,
        self_service.regenerate_backup_codes,
        self_service.reveal_key,
        self_service.deactivate,
    ):
        with pytest.raises(StepUpRequired):
            action(portal, who, "t")
    who = second_factor.step_up(portal, who, totp.code_at(secret, clock.now()), "t").identity
    assert len(self_service.view_backup_codes(portal, who, "t")) == 10


def test_used_codes_are_marked_and_regenerating_replaces_them(portal, clock):
    _, codes, who = enrol(portal, clock, add_user(portal, "alice"))
    user_id = who.user_id
    second_factor.verify_sign_in(portal, user_id, clock.now(), codes[0], "t")
    views = self_service.view_backup_codes(portal, who, "t")
    assert [v.used for v in views].count(True) == 1
    assert self_service.backup_codes_left(portal, who) == 9
    new = self_service.regenerate_backup_codes(portal, who, "t")
    assert not set(new) & set(codes)
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, user_id, clock.now(), codes[1], "t")
    assert second_factor.verify_sign_in(portal, user_id, clock.now(), new[0], "t").used_backup_code


def test_reveal_key_shows_the_same_key(portal, clock):
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    assert self_service.reveal_key(portal, who, "t").secret == secret


def test_deactivate_turns_2fa_off(portal, clock):
    _, _, who = enrol(portal, clock, add_user(portal, "alice"))
    self_service.deactivate(portal, who, "t")
    assert accounts.sign_in_password(portal, "alice", PASSWORD, "t").next is accounts.Next.DONE
    with portal.db.read() as cur:
        assert audit_store.list_events(cur, "alice")[1].event == events.DEACTIVATED


def test_confirm_password_refuses_a_wrong_one(portal):
    who = add_user(portal, "alice")
    with pytest.raises(InvalidCredentials):
        self_service.confirm_password(portal, who, "not my password", "t")
