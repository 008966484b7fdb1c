"""Hostile and careless input at every service behind a form, races on one account, properties.

"Changes nothing" is checked on the tables themselves: a refused value leaves users, factors,
backup codes, throttle counters and the audit trail as they were. A wrong password or a wrong
(well-formed) code is a security event, so it adds its one audit row and one failure, no more.
"""

import contextlib
import dataclasses
import string
import threading
from collections import Counter

import duckdb
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal import events
from portal.access import accounts
from portal.errors import (
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    PortalError,
    StoreUnavailable,
    WeakPassword,
)
from portal.settings import Settings
from portal.twofactor import backup_codes, enrolment, second_factor, self_service, totp
from tests.conftest import PASSWORD, add_user, enrol

LONG = 10_000
SQL = ["' OR 1=1 --", '"; DROP TABLE users; --']
CODE_EMPTY = "Enter the 6-digit code from your authenticator app."
CODE_DIGITS = "An authenticator code has 6 digits."
CODE_HINT = second_factor.CODE_HINT
WIZARD_CODE = "Enter the 6-digit code shown in your authenticator app."
NO_SIGN_IN = "Incorrect username or password."
TOO_LONG = "Use at most 72 bytes"
TOO_SHORT = "Use at least 8 characters."
BAD_USERNAME = "A username has 2-64 characters"
PROPERTY = hsettings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FEW = hsettings(PROPERTY, max_examples=20)  # each example writes several transactions


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Throttling off the path: these tests are about the message each value gets."""
    return dataclasses.replace(settings, throttle_after=100_000, lockout_after=100_000)


def snapshot(p) -> dict[str, list[tuple]]:
    tables = ("users", "factors", "backup_codes", "throttle", "audit")
    with p.db.read() as cur:
        return {t: cur.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def added_events(p, before: dict[str, list[tuple]]) -> list[str]:
    """Event names of the audit rows written since the snapshot (audit's 3rd column)."""
    return [row[2] for row in snapshot(p)["audit"][len(before["audit"]) :]]


def unchanged_but_audit(p, before, *, audit: list[str]) -> None:
    after = snapshot(p)
    for table in ("users", "factors", "backup_codes"):
        assert after[table] == before[table], table
    assert added_events(p, before) == audit


# -- first run ------------------------------------------------------------------------------

FIRST_RUN_USERNAMES = [
    ("", "Enter a username."),
    ("   ", "Enter a username."),
    ("\t\n", "Enter a username."),
    ("x" * LONG, BAD_USERNAME),
    ("é" * LONG, BAD_USERNAME),
    ("ünïcödé", BAD_USERNAME),
    ("аdmin", BAD_USERNAME),  # a Cyrillic "а": no look-alike usernames
    ("😀boss", BAD_USERNAME),
    ("bo ss", BAD_USERNAME),
    ("a\x00b", BAD_USERNAME),
    *[(s, BAD_USERNAME) for s in SQL],
]
FIRST_RUN_PASSWORDS = [
    ("", TOO_SHORT),
    ("       ", TOO_SHORT),
    ("😀" * 7, TOO_SHORT),
    ("a" * 73, TOO_LONG),
    ("x" * LONG, TOO_LONG),
    ("é" * 37, TOO_LONG),  # 37 characters, 74 bytes
    ("😀" * 19, TOO_LONG),  # 19 characters, 76 bytes
    ("€" * 25, TOO_LONG),  # 25 characters, 75 bytes
]


def test_first_run_refuses_a_bad_username_and_creates_nothing(portal):
    before = snapshot(portal)
    for username, message in FIRST_RUN_USERNAMES:
        with pytest.raises(InvalidInput, match=message):
            accounts.create_first_manager(portal, username, PASSWORD, PASSWORD, "test")
        assert snapshot(portal) == before, username


def test_first_run_refuses_a_bad_password_and_creates_nothing(portal):
    before = snapshot(portal)
    for password, message in FIRST_RUN_PASSWORDS:
        with pytest.raises(WeakPassword, match=message):
            accounts.create_first_manager(portal, "boss", password, password, "test")
        with pytest.raises(InvalidInput, match="do not match"):
            accounts.create_first_manager(portal, "boss", PASSWORD, password, "test")
        assert snapshot(portal) == before, password
    assert accounts.needs_first_run(portal)


def test_a_password_of_exactly_72_bytes_works(portal):
    for n, password in enumerate(["é" * 36, "😀" * 18, "a" * 72]):
        accounts.create_account(portal, None, f"user{n}", password)
        assert accounts.sign_in_password(portal, f"user{n}", password, "test").identity


def test_sql_in_a_display_name_is_stored_as_text(portal):
    name = "Robert'); DROP TABLE users; --"
    user = accounts.create_account(portal, None, "bobby", PASSWORD, display_name=name)
    assert user.display_name == name
    assert [u.username for u in accounts.all_accounts(portal)] == ["bobby"]


def test_a_bad_display_name_is_refused(portal):
    for name, message in [("x" * LONG, "at most 100"), ("a\x00b", "control characters")]:
        with pytest.raises(InvalidInput, match=message):
            accounts.create_account(portal, None, "bobby", PASSWORD, display_name=name)
    assert accounts.all_accounts(portal) == []


# -- sign-in: password ----------------------------------------------------------------------

HOSTILE_TEXT = [
    "x" * LONG,
    "é" * LONG,
    "😀" * (LONG // 2),
    "ünïcödé",
    "😀",
    "a\x00b",
    "\x00",
    *SQL,
]
HOSTILE_PASSWORDS = [
    *HOSTILE_TEXT,
    "   ",
    "\t\n",
    PASSWORD + " ",
    " " + PASSWORD,
    PASSWORD.upper(),
    "a" * 73,
    "é" * 37,
    "😀" * 19,
]


def test_an_empty_username_or_password_asks_for_both(portal):
    add_user(portal, "alice")
    before = snapshot(portal)
    for username, password in [("", PASSWORD), (" ", PASSWORD), ("\t\n", PASSWORD), ("alice", "")]:
        with pytest.raises(InvalidInput, match="Enter your username and password."):
            accounts.sign_in_password(portal, username, password, "test")
    assert snapshot(portal) == before


def test_hostile_usernames_get_the_one_message_and_one_audit_row(portal):
    add_user(portal, "alice")
    for username in [*HOSTILE_TEXT, "alice'--", "ALICE\x00"]:
        before = snapshot(portal)
        with pytest.raises(InvalidCredentials) as caught:
            accounts.sign_in_password(portal, username, PASSWORD, "test")
        assert str(caught.value) == NO_SIGN_IN
        unchanged_but_audit(portal, before, audit=[events.SIGN_IN_FAILED])
        subject = snapshot(portal)["audit"][-1][4]
        assert subject is None  # what was typed is no account (and may be a password): not kept


def test_hostile_passwords_get_the_one_message_and_one_audit_row(portal):
    add_user(portal, "alice")
    for password in HOSTILE_PASSWORDS:
        before = snapshot(portal)
        with pytest.raises(InvalidCredentials) as caught:
            accounts.sign_in_password(portal, "alice", password, "test")
        assert str(caught.value) == NO_SIGN_IN
        unchanged_but_audit(portal, before, audit=[events.SIGN_IN_FAILED])


def test_bytes_past_72_are_not_ignored_at_sign_in(portal):
    """bcrypt only reads 72 bytes: a longer guess that starts with the password must fail."""
    password = "Zq8!" * 18  # exactly 72 bytes
    accounts.create_account(portal, None, "alice", password)
    for longer in (password + "x", password + "é", password + "x" * LONG):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in_password(portal, "alice", longer, "test")
    assert accounts.sign_in_password(portal, "alice", password, "test").identity is not None


# -- the code step, step-up ----------------------------------------------------------------

BAD_CODES = [
    ("", CODE_EMPTY),
    ("   ", CODE_EMPTY),
    ("\t \t", CODE_EMPTY),
    (" - ", CODE_EMPTY),
    ("1234567", CODE_DIGITS),
    ("123 4567", CODE_DIGITS),
    ("12345", CODE_DIGITS),
    ("12-34-5", CODE_DIGITS),
    ("abcdef", CODE_HINT),
    ("12a456", CODE_HINT),
    ("١٢٣٤٥٦", CODE_HINT),  # Arabic-Indic digits: isdigit() but not ASCII
    ("１２３４５６", CODE_HINT),  # full-width digits
    ("x" * LONG, CODE_HINT),
    ("1" * LONG, CODE_HINT),
    ("123456" + " " * 100 + "x", CODE_HINT),  # too long: refused whole, never cut to fit
    ("😀" * 6, CODE_HINT),
    ("ünïcödé", CODE_HINT),
    ("a\x00b", CODE_HINT),
    ("abcd-efgh-jkm1", CODE_HINT),  # "1" is not in the backup-code alphabet
    *[(s, CODE_HINT) for s in SQL],
]


@pytest.fixture
def alice(portal, clock):
    secret, codes, who = enrol(portal, clock, add_user(portal, "alice"))
    return secret, codes, who


def test_a_malformed_code_at_sign_in_or_step_up_gets_a_clear_message_and_changes_nothing(
    portal, clock, alice
):
    before = snapshot(portal)
    for code, message in BAD_CODES:
        with pytest.raises(InvalidInput) as caught:
            second_factor.verify_sign_in(portal, alice[2].user_id, clock.now(), code, "test")
        assert str(caught.value) == message, code
        with pytest.raises(InvalidInput) as caught:
            second_factor.step_up(portal, alice[2], code, "test")
        assert str(caught.value) == message, code
        assert snapshot(portal) == before, code


def test_a_right_code_with_spaces_or_dashes_is_accepted(portal, clock, alice):
    for typed in ["{a} {b}", "{a}-{b}", " {a}{b} ", "\t{a} - {b}\n", "{a}\t{b}"]:
        code = totp.code_at(alice[0], clock.now())
        typed = typed.format(a=code[:3], b=code[3:])
        verified = second_factor.verify_sign_in(
            portal, alice[2].user_id, clock.now(), typed, "test"
        )
        assert verified.identity.second_factor_at == clock.now()
        clock.advance(seconds=30)


def test_a_wrong_well_formed_code_is_one_failure_and_one_audit_row(portal, clock, alice):
    right = totp.code_at(alice[0], clock.now())
    wrong = "000000" if right != "000000" else "111111"
    for typed in (wrong, wrong[:3] + " " + wrong[3:], "abcd-efgh-jkmn"):
        before = snapshot(portal)
        with pytest.raises(InvalidCode):
            second_factor.verify_sign_in(portal, alice[2].user_id, clock.now(), typed, "test")
        unchanged_but_audit(portal, before, audit=[events.CODE_FAILED])


def test_a_backup_code_is_accepted_in_any_case_and_grouping_once(portal, clock, alice):
    code = alice[1][0]
    typed = " " + backup_codes.display(code).upper().replace("-", " - ") + " "
    verified = second_factor.verify_sign_in(portal, alice[2].user_id, clock.now(), typed, "test")
    assert verified.used_backup_code and verified.backup_codes_left == 9
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, alice[2].user_id, clock.now(), code, "test")


# -- the wizard: password and verify -------------------------------------------------------


def test_the_wizard_password_refuses_bad_input_without_opening(portal):
    who = add_user(portal, "alice")
    before = snapshot(portal)
    with pytest.raises(InvalidInput, match="Enter your password."):
        self_service.confirm_password(portal, who, "", "test")
    assert snapshot(portal) == before
    for password in HOSTILE_PASSWORDS:
        before = snapshot(portal)
        with pytest.raises(InvalidCredentials, match="That password is not correct."):
            self_service.confirm_password(portal, who, password, "test")
        unchanged_but_audit(portal, before, audit=[events.SIGN_IN_FAILED])


WIZARD_BAD_CODES = [c for c, _ in BAD_CODES if not c.startswith("123456 ")]


def test_the_wizard_verify_refuses_bad_input_and_stays_unverified(portal, clock):
    who = add_user(portal, "alice")
    secret = enrolment.start(portal, who, "test").secret
    before = snapshot(portal)
    for code in WIZARD_BAD_CODES:
        with pytest.raises(InvalidInput) as caught:
            enrolment.verify(portal, who, code, "test")
        assert str(caught.value) == WIZARD_CODE, code
        assert snapshot(portal) == before, code
    state = enrolment.state(portal, who)
    assert state.pending and not state.pending_verified and not state.enabled
    code = totp.code_at(secret, clock.now())
    enrolment.verify(portal, who, f" {code[:3]} - {code[3:]} ", "test")  # normalised
    assert enrolment.state(portal, who).pending_verified


# -- races on one account ------------------------------------------------------------------


def race(count, action):
    """Run action(i) in count threads released together by a barrier; (ok, value) per thread."""
    barrier = threading.Barrier(count)
    results: list[tuple[bool, object]] = [(False, None)] * count

    def run(i):
        barrier.wait()
        try:
            results[i] = (True, action(i))
        except Exception as exc:  # noqa: BLE001 - every outcome is checked by the caller
            results[i] = (False, exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    for ok, value in results:
        assert ok or isinstance(value, PortalError), repr(value)
        assert not isinstance(value, (duckdb.Error, StoreUnavailable)), repr(value)
    return results


def event_counts(p) -> Counter:
    return Counter(row[2] for row in snapshot(p)["audit"])


def test_the_same_code_at_the_same_instant_works_for_exactly_one(portal, clock, alice):
    secret, _, who = alice
    before = event_counts(portal)
    rounds = 50
    for _ in range(rounds):
        code = totp.code_at(secret, clock.now())
        results = race(
            2,
            lambda i, code=code: second_factor.verify_sign_in(
                portal, who.user_id, clock.now(), code, "t"
            ),
        )
        assert sorted(ok for ok, _ in results) == [False, True]
        assert all(isinstance(v, InvalidCode) for ok, v in results if not ok)
        clock.advance(seconds=30)
    after = event_counts(portal)
    assert after[events.SIGN_IN_OK] - before[events.SIGN_IN_OK] == rounds
    assert after[events.CODE_FAILED] - before[events.CODE_FAILED] == rounds


def test_the_same_backup_code_at_the_same_instant_works_for_exactly_one(portal, clock, alice):
    _, codes, who = alice
    before = event_counts(portal)
    rounds = 30
    for n in range(rounds):
        code = codes[n % 10]
        results = race(
            2,
            lambda i, code=code: second_factor.verify_sign_in(
                portal, who.user_id, clock.now(), code, "t"
            ),
        )
        winners = [v for ok, v in results if ok]
        assert len(winners) == 1
        assert winners[0].backup_codes_left == 9 - n % 10
        if n % 10 == 9:  # all ten used: a fresh set (the winner's second factor is fresh)
            codes = self_service.regenerate_backup_codes(portal, winners[0].identity, "t")
    after = event_counts(portal)
    assert after[events.CODE_USED] - before[events.CODE_USED] == rounds
    assert after[events.CODE_FAILED] - before[events.CODE_FAILED] == rounds


def sign_in_fully(p, clock, code):
    result = accounts.sign_in_password(p, "alice", PASSWORD, "t")
    assert result.next is accounts.Next.CODE
    return second_factor.verify_sign_in(p, result.user.id, clock.now(), code, "t")


def test_eight_sign_ins_with_distinct_backup_codes_all_succeed_and_all_are_audited(
    portal, clock, alice
):
    _, codes, _ = alice
    before = event_counts(portal)
    results = race(8, lambda i: sign_in_fully(portal, clock, codes[i]))
    assert all(ok for ok, _ in results)
    assert sorted(v.backup_codes_left for _, v in results) == list(range(2, 10))
    after = event_counts(portal)
    assert after[events.SIGN_IN_OK] - before[events.SIGN_IN_OK] == 8
    assert after[events.CODE_USED] - before[events.CODE_USED] == 8
    assert sum(after.values()) - sum(before.values()) == 16


def test_eight_sign_ins_with_one_code_let_one_in_and_audit_all(portal, clock, alice):
    secret, _, _ = alice
    for _ in range(3):
        before = event_counts(portal)
        code = totp.code_at(secret, clock.now())
        results = race(8, lambda i, code=code: sign_in_fully(portal, clock, code))
        assert sum(ok for ok, _ in results) == 1
        assert all(isinstance(v, InvalidCode) for ok, v in results if not ok)
        after = event_counts(portal)
        assert after[events.SIGN_IN_OK] - before[events.SIGN_IN_OK] == 1
        assert after[events.CODE_FAILED] - before[events.CODE_FAILED] == 7
        assert sum(after.values()) - sum(before.values()) == 8
        clock.advance(seconds=30)


# -- properties ----------------------------------------------------------------------------

ANY_CODE_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789 -\t", max_size=16),
    st.text(alphabet=backup_codes.ALPHABET.upper() + backup_codes.ALPHABET + " -", max_size=20),
)


@PROPERTY
@given(text=ANY_CODE_TEXT)
def test_any_text_at_the_code_step_raises_only_portal_errors(portal, clock, alice, text):
    with contextlib.suppress(PortalError):
        second_factor.verify_sign_in(portal, alice[2].user_id, clock.now(), text, "prop")


@pytest.fixture
def setting_up(portal):
    """bob, half-way through the wizard: a pending key waiting for its first code."""
    who = add_user(portal, "bob")
    enrolment.start(portal, who, "test")
    return who


@PROPERTY
@given(text=ANY_CODE_TEXT)
def test_any_text_at_step_up_and_wizard_verify_raises_only_portal_errors(
    portal, clock, alice, setting_up, text
):
    with contextlib.suppress(PortalError):
        second_factor.step_up(portal, alice[2], text, "prop")
    with contextlib.suppress(PortalError):
        enrolment.verify(portal, setting_up, text, "prop")


@PROPERTY
@given(username=st.text(max_size=300), password=st.text(max_size=100))
def test_any_username_and_password_raise_only_portal_errors(portal, alice, username, password):
    with contextlib.suppress(PortalError):
        accounts.sign_in_password(portal, username, password, "prop")


SEPARATORS = st.text(alphabet=" -\t", max_size=3)


@FEW
@given(
    seps=st.lists(SEPARATORS, min_size=5, max_size=5),
    outer=st.tuples(*[st.text(alphabet=string.whitespace, max_size=2)] * 2),
)
def test_the_current_code_with_separators_anywhere_signs_in(portal, clock, alice, seps, outer):
    clock.advance(seconds=30)  # a new step for every example: each code works once
    code = totp.code_at(alice[0], clock.now())
    typed = code[0] + "".join(s + d for s, d in zip(seps, code[1:], strict=True))
    typed = outer[0] + typed + outer[1]
    if len(typed) > second_factor.MAX_CODE_CHARS:
        return
    verified = second_factor.verify_sign_in(portal, alice[2].user_id, clock.now(), typed, "prop")
    assert not verified.used_backup_code


@pytest.fixture
def code_pool(portal, clock, alice):
    """alice's unused backup codes, renewed through the service when all ten are used."""
    return {"codes": list(alice[1]), "who": alice[2]}


@FEW
@given(
    upper=st.lists(st.booleans(), min_size=12, max_size=12),
    seps=st.lists(st.sampled_from(["", " ", "-", " - "]), min_size=11, max_size=11),
)
def test_a_backup_code_typed_any_way_works_exactly_once(portal, clock, code_pool, upper, seps):
    if not code_pool["codes"]:
        fresh = dataclasses.replace(code_pool["who"], second_factor_at=clock.now())
        code_pool["codes"] = self_service.regenerate_backup_codes(portal, fresh, "prop")
    code = code_pool["codes"].pop()
    left = len(code_pool["codes"])
    chars = [c.upper() if up else c for c, up in zip(code, upper, strict=True)]
    typed = chars[0] + "".join(s + c for s, c in zip(seps, chars[1:], strict=True))
    user_id = code_pool["who"].user_id
    verified = second_factor.verify_sign_in(portal, user_id, clock.now(), typed, "prop")
    assert verified.used_backup_code and verified.backup_codes_left == left
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(portal, user_id, clock.now(), typed, "prop")
