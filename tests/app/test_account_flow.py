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


def _panel(app):
    return next(e for e in app.expander if e.label == "Change password")


def _change(app, current, new, again):
    app.text_input(key="cp_current").input(current)
    app.text_input(key="cp_new").input(new)
    app.text_input(key="cp_again").input(again)
    return app.button(key="FormSubmitter:change_password-Change password").click().run()


def test_failed_password_change_stays_open_with_its_error_and_keeps_what_may_be_kept(app, portal):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    _panel(app)
    _change(app, "not my password", NEW, NEW)
    assert app.session_state["cp_open"] is True  # the panel stays open ...
    assert [e.value for e in _panel(app).error] == ["Your current password is not correct."]
    # ... the wrong current password is gone, the new one (not at fault) is kept
    assert app.text_input(key="cp_current").value == ""
    assert app.text_input(key="cp_new").value == NEW
    assert app.text_input(key="cp_again").value == NEW

    _change(app, PASSWORD, NEW, NEW + "x")  # a mismatch: which one was wrong? both go
    assert [e.value for e in _panel(app).error] == ["The two passwords do not match."]
    assert app.session_state["cp_open"] is True
    assert [app.text_input(key=k).value for k in ("cp_current", "cp_new", "cp_again")] == [
        "",
        "",
        "",
    ]

    _change(app, PASSWORD, NEW, NEW)
    assert "Password changed" in _panel(app).success[0].value
    assert [app.text_input(key=k).value for k in ("cp_current", "cp_new", "cp_again")] == [
        "",
        "",
        "",
    ]
    assert accounts.sign_in_password(portal, "alice", NEW, "t").identity is not None
