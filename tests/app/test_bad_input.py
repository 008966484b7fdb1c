"""Every form, driven through AppTest with hostile and careless values.

Values go in with set_value, not input(): set_value skips the widget's max_chars check the way a
crafted websocket message would. Streamlit itself then cuts a value to max_chars on the server
(TextInputSerde), so what reaches the service is at most 64 (codes), 256 (username) or 1024
(password) characters. Each value must give a clear message (the exact text is asserted), raise
nothing, and change nothing: the tables are compared before and after.
"""

import dataclasses

import pytest

from portal import events
from portal.models import Role
from portal.settings import Settings
from portal.twofactor import backup_codes, enrolment, totp
from tests.app.conftest import enter_code, page_path, sign_in, texts
from tests.app.test_wizard_flow import read_key
from tests.conftest import PASSWORD, add_user, enrol
from tests.unit.test_hardening import (
    BAD_CODES,
    CODE_HINT,
    HOSTILE_PASSWORDS,
    LONG,
    NO_SIGN_IN,
    SQL,
    TOO_LONG,
    TOO_SHORT,
    WIZARD_CODE,
    added_events,
    snapshot,
)

SUBMIT_FIRST_RUN = "FormSubmitter:first_run-Create security manager"
SUBMIT_SIGN_IN = "FormSubmitter:sign_in-Sign in"
SUBMIT_CODE = "FormSubmitter:second_factor-Verify"
SUBMIT_WIZARD_PASSWORD = "FormSubmitter:wizard_password-Continue"
SUBMIT_STEP_UP = "FormSubmitter:step_up-Confirm"
SUBMIT_VERIFY = "FormSubmitter:wizard_verify-Verify"
# What the browser can send once Streamlit has cut it to the code field's 64 characters.
UI_BAD_CODES = [(c, m) for c, m in BAD_CODES if not c.startswith("123456 ")]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Throttling off the path: these tests are about the message each value gets."""
    return dataclasses.replace(settings, throttle_after=100_000, lockout_after=100_000)


def submit(at, key, *, stays=True, **values):
    """Fill the fields and press the form's button; with stays, prove what the page received."""
    for widget, value in values.items():
        at.text_input(key=widget).set_value(value)
    at.button(key=key).click().run()
    if stays:
        for widget, value in values.items():
            field = at.text_input(key=widget)
            assert field.value == value[: field.max_chars or None], widget
    return at


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def check(at, expected: str, what: object) -> None:
    """One clear message, the expected one, and no traceback on the page."""
    assert not at.exception, (what, [e.value for e in at.exception])
    assert errors(at) == [expected], what


# -- first run ------------------------------------------------------------------------------

FIRST_RUN = [
    # (username, password, confirm, message)
    ("", PASSWORD, PASSWORD, "Enter a username."),
    ("   ", PASSWORD, PASSWORD, "Enter a username."),
    ("é" * LONG, PASSWORD, PASSWORD, "A username has 2-64 characters"),
    ("ünïcödé", PASSWORD, PASSWORD, "A username has 2-64 characters"),
    ("😀👍", PASSWORD, PASSWORD, "A username has 2-64 characters"),
    ("аdmin", PASSWORD, PASSWORD, "A username has 2-64 characters"),  # Cyrillic "а"
    *[(s, PASSWORD, PASSWORD, "A username has 2-64 characters") for s in SQL],
    ("boss", "", "", TOO_SHORT),
    ("boss", "        "[:7], "        "[:7], TOO_SHORT),
    ("boss", "😀" * 7, "😀" * 7, TOO_SHORT),
    ("boss", "x" * LONG, "x" * LONG, TOO_LONG),
    ("boss", "a" * 73, "a" * 73, TOO_LONG),
    ("boss", "é" * 37, "é" * 37, TOO_LONG),
    ("boss", "😀" * 19, "😀" * 19, TOO_LONG),
    ("boss", PASSWORD, "", "The two passwords do not match."),
    ("boss", PASSWORD, PASSWORD + " ", "The two passwords do not match."),
    ("boss", PASSWORD, "x" * LONG, "The two passwords do not match."),
]


def test_first_run_form_refuses_bad_input_and_creates_nobody(app, portal):
    before = snapshot(portal)
    for username, password, confirm, message in FIRST_RUN:
        submit(
            app, SUBMIT_FIRST_RUN, fr_username=username, fr_password=password, fr_confirm=confirm
        )
        assert not app.exception, username
        assert len(errors(app)) == 1 and errors(app)[0].startswith(message), (username, password)
        assert snapshot(portal) == before, username
        assert "Welcome to the 2FA Portal" in texts(app)


def test_first_run_form_takes_a_72_byte_multibyte_password(app, portal):
    submit(
        app,
        SUBMIT_FIRST_RUN,
        stays=False,
        fr_username="boss",
        fr_password="é" * 36,
        fr_confirm="é" * 36,
    )
    assert not app.exception and not app.error
    assert "Security manager **boss** created" in texts(app)


# -- sign-in: password ----------------------------------------------------------------------

# One of each kind through the page (the services get every value in tests/unit/test_hardening.py).
UI_USERNAMES = ["x" * LONG, "ünïcödé", "😀", "a\x00b", *SQL]
UI_PASSWORDS = ["   ", "x" * LONG, "a" * 73, "é" * 37, "😀" * 19, PASSWORD + " ", SQL[1]]


@pytest.fixture
def alice(portal, clock):
    add_user(portal, "boss", Role.SECURITY_MANAGER)
    secret, codes, _ = enrol(portal, clock, add_user(portal, "alice"))
    return secret, codes


def test_sign_in_form_refuses_bad_input_with_one_message(app, portal, alice):
    app.run()
    empty = [("", PASSWORD), ("   ", PASSWORD), ("alice", "")]
    for username, password in empty:
        before = snapshot(portal)
        submit(app, SUBMIT_SIGN_IN, si_username=username, si_password=password)
        check(app, "Enter your username and password.", (username, password))
        assert snapshot(portal) == before
    wrong = [(u, PASSWORD) for u in UI_USERNAMES] + [("alice", p) for p in UI_PASSWORDS]
    for username, password in wrong:
        before = snapshot(portal)
        submit(app, SUBMIT_SIGN_IN, si_username=username, si_password=password)
        check(app, NO_SIGN_IN, (username[:20], password[:20]))
        assert added_events(portal, before) == [events.SIGN_IN_FAILED]
        for table in ("users", "factors", "backup_codes"):
            assert snapshot(portal)[table] == before[table]
        assert "identity" not in app.session_state and "pending_sign_in" not in app.session_state
    assert app.text_input(key="si_username") is not None  # still on the password form


# -- sign-in: the code step -----------------------------------------------------------------


def test_code_step_refuses_bad_codes_then_takes_a_spaced_one(app, portal, clock, alice):
    secret, _ = alice
    app.run()
    sign_in(app, "alice")
    before = snapshot(portal)
    for code, message in UI_BAD_CODES:
        submit(app, SUBMIT_CODE, si_code=code)
        check(app, message, code[:20])
        assert snapshot(portal) == before, code[:20]
        assert "identity" not in app.session_state
    code = totp.code_at(secret, clock.now())
    submit(app, SUBMIT_CODE, stays=False, si_code=f" {code[:3]} - {code[3:]} ")
    assert not app.exception and not app.error
    assert "Hello, alice" in texts(app)


def test_backup_code_step_refuses_bad_codes_then_takes_an_upper_case_one(app, portal, clock, alice):
    _, codes = alice
    app.run()
    sign_in(app, "alice")
    app.button(key="toggle_backup").click().run()
    before = snapshot(portal)
    for code, message in UI_BAD_CODES:
        submit(app, SUBMIT_CODE, si_code=code)
        check(app, message, code[:20])
        assert snapshot(portal) == before, code[:20]
    typed = backup_codes.display(codes[0]).upper().replace("-", " ")
    submit(app, SUBMIT_CODE, stays=False, si_code=typed)
    assert not app.exception and not app.error
    assert "9 backup code(s) left" in texts(app)


# -- the wizard: password and verify -------------------------------------------------------


def test_wizard_password_refuses_bad_input_and_stays_closed(app, portal):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    app.switch_page(page_path("two_factor")).run()
    before = snapshot(portal)
    submit(app, SUBMIT_WIZARD_PASSWORD, wz_password="")
    check(app, "Enter your password.", "")
    assert snapshot(portal) == before
    for password in HOSTILE_PASSWORDS:
        before = snapshot(portal)
        submit(app, SUBMIT_WIZARD_PASSWORD, wz_password=password)
        check(app, "That password is not correct.", password[:20])
        assert added_events(portal, before) == [events.SIGN_IN_FAILED]
        assert snapshot(portal)["factors"] == []
        assert "Install one of these apps" not in texts(app)


def test_wizard_verify_refuses_bad_codes_and_keeps_next_disabled(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    app.switch_page(page_path("two_factor")).run()
    submit(app, SUBMIT_WIZARD_PASSWORD, stays=False, wz_password=PASSWORD)
    app.button(key="wz_next_intro").click().run()
    secret = read_key(app)
    app.button(key="wz_next_qr").click().run()
    before = snapshot(portal)
    for code, _ in UI_BAD_CODES:
        submit(app, SUBMIT_VERIFY, wz_code=code)
        check(app, WIZARD_CODE, code[:20])
        assert snapshot(portal) == before, code[:20]
        assert app.button(key="wz_next_verify").disabled
    code = totp.code_at(secret, clock.now())
    submit(app, SUBMIT_VERIFY, wz_code=f"{code[:3]}-{code[3:]}")
    assert not app.exception and not app.error
    assert not app.button(key="wz_next_verify").disabled
    who = app.session_state["identity"]
    state = enrolment.state(portal, who)
    assert state.pending_verified and not state.enabled


# -- step-up -------------------------------------------------------------------------------


def test_step_up_refuses_bad_codes_and_shows_nothing_then_takes_a_spaced_one(
    app, portal, clock, alice
):
    secret, _ = alice
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    clock.advance(minutes=11)
    app.switch_page(page_path("two_factor")).run()
    app.button(key="mg_codes").click().run()
    assert "Confirm it's you" in texts(app)
    stale = app.session_state["identity"]
    before = snapshot(portal)
    for code, message in UI_BAD_CODES:
        submit(app, SUBMIT_STEP_UP, mg_code=code)
        check(app, message, code[:20])
        assert snapshot(portal) == before, code[:20]
        assert app.session_state["identity"] == stale
        assert "backup codes unused" not in texts(app)
    code = totp.code_at(secret, clock.now())
    submit(app, SUBMIT_STEP_UP, stays=False, mg_code=f"{code[:3]} {code[3:]}")
    assert not app.exception and not app.error
    assert "**10** of 10 backup codes unused." in texts(app)


def test_code_fields_cut_pasted_junk_at_64_characters(app, portal, clock, alice):
    """A value longer than max_chars never reaches the service whole (Streamlit cuts it)."""
    app.run()
    sign_in(app, "alice")
    submit(app, SUBMIT_CODE, si_code="x" * LONG)
    check(app, CODE_HINT, "x" * 20)
    assert app.text_input(key="si_code").value == "x" * 64
