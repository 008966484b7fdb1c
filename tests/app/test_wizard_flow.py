import datetime as dt
import json
import re

import pytest

from portal import events
from portal.models import Role
from portal.twofactor import enrolment, totp
from store import audit as audit_store
from tests.app.conftest import enter_code, page_path, sign_in, texts
from tests.conftest import PASSWORD, add_user, enrol


def open_wizard(at, password=PASSWORD):
    at.switch_page(page_path("two_factor")).run()
    at.text_input(key="wz_password").input(password)
    return at.button(key="FormSubmitter:wizard_password-Continue").click().run()


def read_key(at) -> str:
    at.button(key="reveal_key").click().run()
    return at.code[0].value.replace(" ", "")


def verify(at, code):
    at.text_input(key="wz_code").input(code)
    return at.button(key="FormSubmitter:wizard_verify-Verify").click().run()


def keep_widget(at):
    """The Copy all / Download .txt / Print component on the page (exactly one)."""
    found = [e for e in at.get("bidi_component") if e.proto.component_name == "portal_keep_codes"]
    assert len(found) == 1, found
    return found[0]


def keep_codes(at, how: str = "downloaded"):
    """What the browser's component reports after Copy all / Download / Print (its state)."""
    at.session_state[keep_widget(at).key] = {"kept": how}
    return at.run()


def walk_to_codes(at, clock, keep: bool = True) -> str:
    """Intro -> key -> verify -> the codes, then (keep=True) the codes are downloaded."""
    at.button(key="wz_next_intro").click().run()
    secret = read_key(at)
    at.button(key="wz_next_qr").click().run()
    verify(at, totp.code_at(secret, clock.now()))
    at.button(key="wz_next_verify").click().run()
    if keep:
        keep_codes(at)
    return secret


def test_whole_wizard_turns_2fa_on(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    intro = texts(app)
    for name in ("Google Authenticator", "Twilio Authy", "Microsoft Authenticator", "LastPass"):
        assert name in intro
    assert "correct time" in intro
    app.button(key="wz_next_intro").click().run()
    assert len(app.get("image")) == 1  # the QR code
    secret = read_key(app)
    assert len(secret) == 32
    assert "groups" not in secret
    app.button(key="wz_next_qr").click().run()
    assert app.button(key="wz_next_verify").disabled
    verify(app, totp.code_at(secret, clock.now()))
    assert any("The code is correct" in s.value for s in app.success)
    app.button(key="wz_next_verify").click().run()
    shown = [line for line in texts(app).split("\n") if line.startswith("`")]
    assert len(shown) == 10
    assert not app.get("download_button")  # no /media/ URL holds the codes
    assert app.button(key="wz_finish").disabled
    keep_codes(app)
    app.checkbox(key="wz_stored").check().run()
    app.button(key="wz_finish").click().run()
    assert "Two-factor authentication is on" in texts(app)
    who = app.session_state["identity"]
    assert enrolment.state(portal, who).enabled
    # The next sign-in asks for a code.
    app.button(key="sign_out").click().run()
    clock.advance(seconds=30)
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    assert "Hello, alice" in texts(app)


def test_wrong_code_and_wrong_clock_are_explained(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    app.button(key="wz_next_intro").click().run()
    secret = read_key(app)
    app.button(key="wz_next_qr").click().run()
    verify(app, totp.code_at(secret, clock.now() + dt.timedelta(minutes=4)))
    assert "about 4 minute(s) ahead" in texts(app)
    verify(app, "12345")
    assert "6-digit code" in texts(app)
    assert app.button(key="wz_next_verify").disabled


def test_wrong_password_keeps_the_wizard_closed(app, portal):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app, "not the password")
    assert "That password is not correct." in texts(app)
    assert "Install one of these apps" not in texts(app)


def test_leaving_early_warns_next_time_and_resume_keeps_the_key(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    app.button(key="wz_next_intro").click().run()
    secret = read_key(app)
    app.switch_page(page_path("home")).run()  # navigating away closes the wizard
    assert "did not finish" in texts(app)
    open_wizard(app)
    assert "Set-up was not completed" in texts(app)
    assert "remove the old entry" in texts(app)
    app.button(key="wz_resume").click().run()
    assert read_key(app) == secret
    with portal.db.read() as cur:
        assert events.WIZARD_ABANDONED in [e.event for e in audit_store.list_events(cur, "alice")]


def test_start_over_makes_a_new_key(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    app.button(key="wz_next_intro").click().run()
    first = read_key(app)
    app.switch_page(page_path("home")).run()
    open_wizard(app)
    app.button(key="wz_restart").click().run()
    assert read_key(app) != first


def test_close_button_warns_and_leaves_2fa_off(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    walk_to_codes(app, clock)
    app.button(key="wz_close").click().run()
    assert "may need removing" in texts(app)
    app.button(key="wz_close_yes").click().run()
    assert "Set-up was closed before it finished" in texts(app)
    assert not enrolment.state(portal, app.session_state["identity"]).enabled


def test_signing_out_mid_wizard_leaves_2fa_off(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    walk_to_codes(app, clock)
    app.button(key="sign_out").click().run()
    sign_in(app, "alice")
    assert "Hello, alice" in texts(app)  # no code asked: 2FA is still off
    assert "did not finish" in texts(app)


def test_manager_sees_the_manage_options_once_enabled(app, portal, clock):
    _, _, _ = enrol(portal, clock, add_user(portal, "boss", Role.SECURITY_MANAGER))
    del _
    app.run()
    assert "Sign in" in texts(app)


def test_after_a_reset_grant_the_forced_wizard_can_be_finished(app, portal, clock):
    import datetime as dt

    from store import factors as factor_store
    from store import users as user_store

    _, _, who = enrol(portal, clock, add_user(portal, "alice"))
    with portal.db.write() as cur:
        factor_store.delete_factors(cur, who.user_id)
        user_store.update_reset_grant(
            cur, who.user_id, clock.now(), clock.now() + dt.timedelta(hours=24), "boss"
        )
    app.run()
    sign_in(app, "alice")
    assert "reset your two-factor authentication" in texts(app)
    assert "Install one of these apps" in texts(app)  # no password step, no code asked
    secret = walk_to_codes(app, clock)
    app.checkbox(key="wz_stored").check().run()
    app.button(key="wz_finish").click().run()
    assert "Two-factor authentication is on" in texts(app)
    assert len(secret) == 32
    assert enrolment.state(portal, who).enabled
    with portal.db.read() as cur:
        abandoned = [
            e for e in audit_store.list_events(cur, "alice") if e.event == events.WIZARD_ABANDONED
        ]
    assert abandoned == []


def test_revealed_key_has_a_copy_key_button_holding_the_key(app, portal):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    app.button(key="wz_next_intro").click().run()
    secret = read_key(app)
    copy = [e for e in app.get("bidi_component") if e.proto.component_name == "portal_copy_key"]
    assert len(copy) == 1
    proto = copy[0].proto
    assert '<button type="button"' in proto.html_content and ">Copy key<" in proto.html_content
    assert json.loads(proto.json) == {"key": secret}  # the key without the spaces of its groups
    assert "copy button at the right" not in texts(app)
    assert any("Copy key" in c.value for c in app.caption)


CODE = "[23456789a-hjkmnp-z]{4}"
CODE_LINE = re.compile(rf"^(`|~~)({CODE}-{CODE}-{CODE})(`|~~ \(used\))$")


def shown_codes(at) -> list[str]:
    """The backup codes of the grid, checked to be in the one display form xxxx-xxxx-xxxx."""
    lines = [line for line in texts(at).split("\n") if line.startswith(("`", "~~"))]
    for line in lines:
        assert CODE_LINE.search(line), line
    return [CODE_LINE.search(line).group(2) for line in lines]


@pytest.mark.parametrize("how", ["copied", "downloaded", "printed"])
def test_finish_stays_disabled_until_the_codes_are_kept(app, portal, clock, how):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    walk_to_codes(app, clock, keep=False)
    assert "Copy, download or print your backup codes to continue." in texts(app)
    assert app.checkbox(key="wz_stored").disabled
    assert app.button(key="wz_finish").disabled
    app.session_state["wz_stored"] = True  # even a ticked box is not enough on its own
    app.run()
    assert app.button(key="wz_finish").disabled
    who = app.session_state["identity"]
    assert not enrolment.state(portal, who).enabled
    keep_codes(app, how)
    assert "to continue" not in texts(app)
    assert not app.checkbox(key="wz_stored").disabled
    assert not app.button(key="wz_finish").disabled
    app.button(key="wz_finish").click().run()
    assert "Two-factor authentication is on" in texts(app)
    assert enrolment.state(portal, who).enabled


def test_the_keep_buttons_get_the_codes_shown_with_account_and_date(app, portal, clock):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    open_wizard(app)
    walk_to_codes(app, clock, keep=False)
    shown = shown_codes(app)
    assert len(shown) == 10
    proto = keep_widget(app).proto
    for label in ("Copy all", "Download .txt", "Print"):
        assert f">{label}</button>" in proto.html_content
    assert proto.html_content.count('<button type="button"') == 3
    data = json.loads(proto.json)
    assert data["codes"] == shown
    assert data["account"] == "alice"
    assert data["date"] == clock.now().strftime("%Y-%m-%d %H:%M UTC")
    assert data["file"] == "backup-codes-alice.txt"
    assert data["text"].splitlines()[-10:] == shown
    assert "alice" in data["text"].splitlines()[0]
