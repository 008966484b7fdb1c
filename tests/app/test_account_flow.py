from portal.access import accounts, sessions
from portal.twofactor import totp
from tests.app.conftest import enter_code, sign_in, texts
from tests.conftest import PASSWORD, add_user, enrol

NEW = "a much better passphrase"


def test_was_this_you_lists_changes_until_acknowledged(app, portal, clock):
    secret, codes, _ = enrol(portal, clock, add_user(portal, "alice"))
    app.run()
    sign_in(app, "alice")
    app.button(key="toggle_backup").click().run()
    enter_code(app, codes[0])
    assert "Was this you?" in texts(app)
    assert "Two-factor authentication was turned on." in texts(app)
    assert "A backup code was used." in texts(app)
    app.button(key="notices_ok").click().run()
    assert "Was this you?" not in texts(app)


def test_not_me_explains_what_to_do(app, portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice"))
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    app.button(key="notices_not_me").click().run()
    assert "Tell your security manager now" in texts(app)
    assert "Was this you?" in texts(app)  # still listed until acknowledged


def test_change_password_ends_other_sessions(app, portal, clock):
    who = add_user(portal, "alice")
    other = sessions.issue_ticket(portal, who, "other-browser", "t")
    token = sessions.redeem_ticket(portal, other.ticket, "other-browser", "UA")
    app.run()
    sign_in(app, "alice")
    app.text_input(key="cp_current").input(PASSWORD)
    app.text_input(key="cp_new").input(NEW)
    app.text_input(key="cp_again").input(NEW)
    app.button(key="FormSubmitter:change_password-Change password").click().run()
    assert "Password changed" in texts(app)
    assert sessions.resume(portal, token, "other-browser", "UA") is None
    assert accounts.sign_in_password(portal, "alice", NEW, "t").identity is not None


def test_change_password_refuses_wrong_current_and_weak_new(app, portal):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    app.text_input(key="cp_current").input("not my password")
    app.text_input(key="cp_new").input(NEW)
    app.text_input(key="cp_again").input(NEW)
    app.button(key="FormSubmitter:change_password-Change password").click().run()
    assert "current password is not correct" in texts(app)
    app.text_input(key="cp_current").input(PASSWORD)
    app.text_input(key="cp_new").input("password123")
    app.text_input(key="cp_again").input("password123")
    app.button(key="FormSubmitter:change_password-Change password").click().run()
    assert "too common" in texts(app)
    assert accounts.sign_in_password(portal, "alice", PASSWORD, "t").identity is not None


def test_sign_out_everywhere(app, portal, clock):
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    other = sessions.issue_ticket(portal, who, "other-browser", "t")
    token = sessions.redeem_ticket(portal, other.ticket, "other-browser", "UA")
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    app.button(key="sign_out_everywhere").click().run()
    assert "Signed out of 1 browser(s)." in texts(app)
    assert app.text_input(key="si_username") is not None
    assert sessions.resume(portal, token, "other-browser", "UA") is None
