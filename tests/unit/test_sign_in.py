import datetime as dt

import pytest

from portal import events
from portal.access import accounts
from portal.errors import (
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    SetupAlreadyDone,
    Throttled,
    UsernameTaken,
    WeakPassword,
)
from portal.models import Role
from portal.twofactor import second_factor, totp
from store import audit as audit_store
from tests.conftest import PASSWORD, add_user, enrol


def audit_events(p, subject=None):
    with p.db.read() as cur:
        return [e.event for e in reversed(audit_store.list_events(cur, subject))]


def test_first_manager_only_on_empty_database(portal):
    assert accounts.needs_first_run(portal)
    user = accounts.create_first_manager(portal, "Boss", PASSWORD, PASSWORD, "test")
    assert user.username == "boss" and user.role is Role.SECURITY_MANAGER
    assert not accounts.needs_first_run(portal)
    with pytest.raises(SetupAlreadyDone):
        accounts.create_first_manager(portal, "other", PASSWORD, PASSWORD, "test")


def test_first_manager_passwords_must_match(portal):
    with pytest.raises(InvalidInput, match="do not match"):
        accounts.create_first_manager(portal, "boss", PASSWORD, PASSWORD + "x", "test")
    assert accounts.needs_first_run(portal)


@pytest.mark.parametrize(
    ("password", "rule"),
    [("short", "at least 8"), ("password123", "too common"), ("é" * 40, "at most 72 bytes")],
)
def test_weak_passwords_are_refused_with_the_rule(portal, password, rule):
    with pytest.raises(WeakPassword, match=rule):
        accounts.create_account(portal, None, "alice", password)


def test_duplicate_username_is_refused(portal):
    accounts.create_account(portal, None, "alice", PASSWORD)
    with pytest.raises(UsernameTaken):
        accounts.create_account(portal, None, "ALICE", PASSWORD)


def test_password_only_sign_in_when_2fa_off(portal):
    add_user(portal, "alice")
    result = accounts.sign_in_password(portal, " Alice ", PASSWORD, "test")
    assert result.next is accounts.Next.DONE
    assert result.identity is not None and result.identity.username == "alice"


def test_unknown_user_and_wrong_password_get_the_same_message(portal):
    add_user(portal, "alice")
    with pytest.raises(InvalidCredentials) as unknown:
        accounts.sign_in_password(portal, "nobody", PASSWORD, "test")
    with pytest.raises(InvalidCredentials) as wrong:
        accounts.sign_in_password(portal, "alice", "wrong password", "test")
    assert str(unknown.value) == str(wrong.value) == "Incorrect username or password."


def test_unknown_user_still_costs_one_bcrypt_check(portal, monkeypatch):
    calls = []
    real = accounts.passwords.check_password
    monkeypatch.setattr(
        accounts.passwords, "check_password", lambda pw, h: calls.append(h) or real(pw, h)
    )
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(portal, "nobody", PASSWORD, "test")
    assert len(calls) == 1 and calls[0].startswith("$2b$04$")


def test_disabled_account_cannot_sign_in(portal):
    who = add_user(portal, "alice")
    with portal.db.write() as cur:
        cur.execute("UPDATE users SET disabled = TRUE WHERE id = ?", [who.user_id])
    with pytest.raises(InvalidCredentials, match="Incorrect username or password"):
        accounts.sign_in_password(portal, "alice", PASSWORD, "test")


def test_code_step_signs_in_and_the_same_code_is_refused_again(portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice"))
    result = accounts.sign_in_password(portal, "alice", PASSWORD, "test")
    assert result.next is accounts.Next.CODE and result.identity is None
    code = totp.code_at(secret, clock.now())
    verified = second_factor.verify_sign_in(portal, result.user.id, clock.now(), code, "test")
    assert verified.identity.second_factor_at == clock.now()
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, result.user.id, clock.now(), code, "test")


def test_previous_step_code_is_refused_after_a_later_step_was_used(portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice"))
    user_id = accounts.sign_in_password(portal, "alice", PASSWORD, "t").user.id
    now = clock.now()
    later = totp.code_at(secret, now + dt.timedelta(seconds=30))
    earlier = totp.code_at(secret, now)
    second_factor.verify_sign_in(portal, user_id, now, later, "t")
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, user_id, now, earlier, "t")


def test_code_with_spaces_and_dashes_is_accepted(portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice"))
    user_id = accounts.sign_in_password(portal, "alice", PASSWORD, "t").user.id
    code = totp.code_at(secret, clock.now())
    second_factor.verify_sign_in(portal, user_id, clock.now(), f" {code[:3]}-{code[3:]} ", "t")


def test_backup_code_works_once_and_counts_down(portal, clock):
    _, codes, _ = enrol(portal, clock, add_user(portal, "alice"))
    user_id = accounts.sign_in_password(portal, "alice", PASSWORD, "t").user.id
    shown = "-".join(codes[3][i : i + 4] for i in (0, 4, 8)).upper()
    verified = second_factor.verify_sign_in(portal, user_id, clock.now(), shown, "t")
    assert verified.used_backup_code and verified.backup_codes_left == 9
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, user_id, clock.now(), codes[3], "t")
    assert events.CODE_USED in audit_events(portal, "alice")


def test_slow_code_step_must_start_again(portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice"))
    started = clock.now()
    user_id = accounts.sign_in_password(portal, "alice", PASSWORD, "t").user.id
    clock.advance(minutes=6)
    with pytest.raises(InvalidCredentials, match="took too long"):
        second_factor.verify_sign_in(
            portal, user_id, started, totp.code_at(secret, clock.now()), "t"
        )


@pytest.mark.parametrize(
    "bad", ["", "   ", "12345", "1234567", "abcdef", "x" * 10_000, "😀😀😀😀😀😀", "' OR 1=1 --"]
)
def test_malformed_codes_get_a_clear_message_and_count_nothing(portal, clock, bad):
    enrol(portal, clock, add_user(portal, "alice"))
    user_id = accounts.sign_in_password(portal, "alice", PASSWORD, "t").user.id
    with pytest.raises((InvalidInput, InvalidCode)):
        second_factor.verify_sign_in(portal, user_id, clock.now(), bad, "t")


def test_failures_throttle_then_lock_and_survive_a_restart(settings, clock):
    from portal.context import open_portal

    p = open_portal(settings, clock)
    add_user(p, "alice")
    for _ in range(p.settings.throttle_after):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, "alice", "wrong password", "t")
    with pytest.raises(Throttled) as waited:
        accounts.sign_in_password(p, "alice", PASSWORD, "t")
    assert not waited.value.locked
    p.db.close()
    p = open_portal(settings, clock)  # a restart keeps the counters
    with pytest.raises(Throttled):
        accounts.sign_in_password(p, "alice", PASSWORD, "t")
    for _ in range(p.settings.lockout_after - p.settings.throttle_after):
        clock.advance(minutes=1)
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(p, "alice", "wrong password", "t")
    clock.advance(minutes=1)
    with pytest.raises(Throttled) as locked:
        accounts.sign_in_password(p, "alice", PASSWORD, "t")
    assert locked.value.locked and "locked" in str(locked.value)
    assert events.LOCKOUT in audit_events(p, "alice")
    clock.advance(minutes=p.settings.lockout_minutes)
    assert accounts.sign_in_password(p, "alice", PASSWORD, "t").identity is not None
    p.db.close()


def test_unknown_usernames_are_throttled_like_real_ones(portal, clock):
    for _ in range(portal.settings.throttle_after):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(portal, "ghost", "wrong password", "t")
    with pytest.raises(Throttled):
        accounts.sign_in_password(portal, "ghost", "wrong password", "t")


def test_sign_in_is_audited_with_source(portal, clock):
    add_user(portal, "alice")
    with pytest.raises(InvalidCredentials):
        accounts.sign_in_password(portal, "alice", "nope nope", "10.0.0.1 Chrome")
    with portal.db.read() as cur:
        rows = audit_store.list_events(cur, "alice")
    assert [(e.event, e.source) for e in rows[:2]] == [
        (events.SIGN_IN_FAILED, "10.0.0.1 Chrome"),
        (events.SIGN_IN_OK, "test"),
    ]
