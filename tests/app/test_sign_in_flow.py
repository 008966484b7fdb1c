import pytest

from portal.models import Role
from portal.twofactor import totp
from tests.app.conftest import enter_code, sign_in, texts
from tests.conftest import PASSWORD, add_user, enrol


def test_first_run_creates_the_manager_and_then_is_gone(app, portal):
    assert "Welcome to the 2FA Portal" in texts(app)
    app.text_input(key="fr_username").input("boss")
    app.text_input(key="fr_password").input(PASSWORD)
    app.text_input(key="fr_confirm").input(PASSWORD)
    app.button(key="FormSubmitter:first_run-Create security manager").click().run()
    assert not app.exception
    assert "Security manager **boss** created" in texts(app)
    assert "Welcome to the 2FA Portal" not in texts(app)
    sign_in(app, "boss")
    assert "Hello, boss" in texts(app)


def test_first_run_mismatched_passwords_keep_the_form(app, portal):
    app.text_input(key="fr_username").input("boss")
    app.text_input(key="fr_password").input(PASSWORD)
    app.text_input(key="fr_confirm").input("something else")
    app.button(key="FormSubmitter:first_run-Create security manager").click().run()
    assert "do not match" in texts(app)
    assert "Welcome to the 2FA Portal" in texts(app)


@pytest.fixture
def alice(portal, clock):
    add_user(portal, "boss", Role.SECURITY_MANAGER)
    secret, codes, _ = enrol(portal, clock, add_user(portal, "alice"))
    return secret, codes


def test_sign_in_with_code_then_sign_out(app, portal, clock, alice):
    secret, _ = alice
    app.run()
    sign_in(app, "alice")
    assert "6-digit code" in texts(app)
    enter_code(app, totp.code_at(secret, clock.now()))
    assert "Hello, alice" in texts(app)
    app.button(key="sign_out").click().run()
    assert "You are signed out." in texts(app)
    assert app.text_input(key="si_username") is not None


def test_wrong_password_does_not_say_whether_the_user_exists(app, portal, alice):
    app.run()
    sign_in(app, "alice", "wrong password")
    first = [e.value for e in app.error]
    sign_in(app, "nobody", "wrong password")
    assert first == [e.value for e in app.error] == ["Incorrect username or password."]


def test_wrong_then_reused_code_is_refused(app, portal, clock, alice):
    secret, _ = alice
    app.run()
    sign_in(app, "alice")
    enter_code(app, "000000" if totp.code_at(secret, clock.now()) != "000000" else "111111")
    assert "That code is not valid" in texts(app)
    code = totp.code_at(secret, clock.now())
    enter_code(app, code)
    app.button(key="sign_out").click().run()
    sign_in(app, "alice")
    enter_code(app, code)
    assert "That code is not valid" in texts(app)
    assert "Hello, alice" not in texts(app)


def test_backup_code_sign_in_counts_down_and_nudges(app, portal, clock, alice):
    _, codes = alice
    app.run()
    for index, code in enumerate(codes[:7]):
        sign_in(app, "alice")
        app.button(key="toggle_backup").click().run()
        assert "backup codes" in texts(app)
        enter_code(app, code)
        left = 9 - index
        assert f"{left} backup code(s) left" in texts(app)
        if left <= 3:
            assert any("Generate new ones soon" in w.value for w in app.warning)
        app.button(key="sign_out").click().run()
    sign_in(app, "alice")
    app.button(key="toggle_backup").click().run()
    enter_code(app, codes[0])
    assert "That code is not valid" in texts(app)


def test_cancel_the_code_step_returns_to_the_password_form(app, portal, alice):
    app.run()
    sign_in(app, "alice")
    app.button(key="cancel_sign_in").click().run()
    assert app.text_input(key="si_username").value == "alice"
    assert "Hello" not in texts(app)


def test_fields_tell_password_managers_what_they_hold(app, portal, alice):
    app.run()
    # "new-password" (the browser's guess for a password field) makes managers offer a new one.
    assert app.text_input(key="si_username").proto.autocomplete == "username"
    assert app.text_input(key="si_password").proto.autocomplete == "current-password"
    sign_in(app, "alice")
    assert app.text_input(key="si_code").proto.autocomplete == "one-time-code"
    app.button(key="toggle_backup").click().run()
    assert app.text_input(key="si_code").label == "Backup code"
    assert app.text_input(key="si_code").proto.autocomplete == "off"  # not an app's code


def test_a_wrong_code_is_not_carried_into_the_backup_code_field(app, portal, clock, alice):
    secret, _ = alice
    app.run()
    sign_in(app, "alice")
    wrong = "000000" if totp.code_at(secret, clock.now()) != "000000" else "111111"
    enter_code(app, wrong)
    assert "That code is not valid" in texts(app)
    app.button(key="toggle_backup").click().run()
    assert app.text_input(key="si_code").label == "Backup code"
    assert app.text_input(key="si_code").value == ""
    app.text_input(key="si_code").input("not-a-code").run()
    app.button(key="toggle_backup").click().run()
    assert app.text_input(key="si_code").label == "Authentication code"
    assert app.text_input(key="si_code").value == ""
