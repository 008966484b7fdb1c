from portal import events
from portal.access import accounts, sessions
from portal.twofactor import second_factor, totp
from portal.ui import account
from store import audit as audit_store
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


def test_repeated_notices_are_one_line_with_a_count(app, portal, clock):
    secret, codes, who = enrol(portal, clock, add_user(portal, "alice"))
    for code in codes[:8]:
        start = accounts.sign_in_password(portal, "alice", PASSWORD, "198.51.100.7 · Firefox")
        second_factor.verify_sign_in(portal, who.user_id, start.password_at, code, "t2")
        clock.advance(minutes=1)
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    lines = [str(m.value) for m in app.markdown if "backup code was used" in str(m.value)]
    assert len(lines) == 1
    assert lines[0].startswith("- **8 times**: A backup code was used.")
    assert "first 02 Mar 2026 09:00 UTC" in lines[0] and "latest 02 Mar 2026 09:07 UTC" in lines[0]
    assert "Two-factor authentication was turned on." in texts(app)  # the other change stays


def test_not_me_tells_the_manager_and_offers_the_ways_out(app, portal, clock):
    secret, _, who = enrol(portal, clock, add_user(portal, "alice"))
    other = sessions.issue_ticket(portal, who, "other-browser", "t")
    token = sessions.redeem_ticket(portal, other.ticket, "other-browser", "UA")
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    app.button(key="notices_not_me").click().run()
    assert "Your security manager has been told" in texts(app)
    with portal.db.read() as cur:
        found = audit_store.list_events(cur, "alice")
    disputed = [e for e in found if e.event == events.NOTICE_DISPUTED]
    assert [(e.actor, e.detail) for e in disputed] == [
        ("alice", "1 x Two-factor authentication was turned on.")
    ]
    assert "Was this you?" in texts(app)  # still listed until hidden
    app.button(key="notices_password").click().run()
    assert app.session_state[account.CP_OPEN] is True  # the Change password panel is open
    app.button(key="notices_sign_out_all").click().run()
    assert "Signed out of 1 browser(s)." in texts(app)
    assert sessions.resume(portal, token, "other-browser", "UA") is None
    with portal.db.read() as cur:  # pressed once, reported once
        names = [e.event for e in audit_store.list_events(cur, "alice")]
    assert names.count(events.NOTICE_DISPUTED) == 1


def test_hide_after_not_me_acknowledges_the_notices(app, portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice"))
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    app.button(key="notices_not_me").click().run()
    app.button(key="notices_hide").click().run()
    assert "Was this you?" not in texts(app)


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
