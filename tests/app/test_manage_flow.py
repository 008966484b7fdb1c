import json

import pytest

from portal.twofactor import enrolment, self_service, totp
from tests.app.conftest import enter_code, page_path, sign_in, texts
from tests.app.test_wizard_flow import keep_codes, keep_widget, read_key, shown_codes, verify
from tests.conftest import add_user, enrol


@pytest.fixture
def signed_in(app, portal, clock):
    """alice with 2FA on, signed in with a code (so her second factor is fresh)."""
    secret, codes, _ = enrol(portal, clock, add_user(portal, "alice"))
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    clock.advance(seconds=30)
    app.switch_page(page_path("two_factor")).run()
    return secret, codes


def test_enabled_wizard_says_so_and_offers_four_options(app, signed_in):
    assert "Two-factor authentication is enabled" in texts(app)
    labels = {b.label for b in app.button}
    for option in (
        "View backup codes or generate new ones",
        "Move to a new phone (the old key works until the new one is verified)",
        "Set up the existing key on an additional device or app",
        "Deactivate two-factor authentication",
    ):
        assert option in labels


def test_view_codes_marks_used_ones_and_regenerate_replaces_them(app, portal, clock, signed_in):
    _, codes = signed_in
    who = app.session_state["identity"]
    from portal.twofactor import second_factor

    second_factor.verify_sign_in(portal, who.user_id, clock.now(), codes[0], "t")
    app.button(key="mg_codes").click().run()
    assert "**9** of 10 backup codes unused." in texts(app)
    assert "(used)" in texts(app)
    app.button(key="mg_regen_open").click().run()
    assert "stop working" in texts(app)
    app.button(key="mg_regen_yes").click().run()
    assert "New backup codes generated" in texts(app)
    assert self_service.backup_codes_left(portal, who) == 10
    assert codes[1] not in texts(app).replace("-", "")


def test_viewed_and_regenerated_codes_have_one_format_and_stay_on_screen(
    app, portal, clock, signed_in
):
    _, codes = signed_in
    who = app.session_state["identity"]
    from portal.twofactor import second_factor

    second_factor.verify_sign_in(portal, who.user_id, clock.now(), codes[0], "t")
    app.button(key="mg_codes").click().run()
    viewed = shown_codes(app)
    assert len(viewed) == 10
    data = json.loads(keep_widget(app).proto.json)
    assert len(data["codes"]) == 9  # the used code is not copied, saved or printed
    assert set(data["codes"]) < set(viewed)
    app.button(key="mg_regen_open").click().run()
    app.button(key="mg_regen_yes").click().run()
    fresh = shown_codes(app)  # these came out without dashes before
    assert len(fresh) == 10 and not set(fresh) & set(viewed)
    assert json.loads(keep_widget(app).proto.json)["codes"] == fresh
    keep_codes(app, "copied")  # the click's rerun must not take the new codes off the screen
    assert "New backup codes generated" in texts(app)
    assert shown_codes(app) == fresh
    app.button(key="mg_back").click().run()
    app.button(key="mg_codes").click().run()
    assert "New backup codes generated" not in texts(app)
    assert shown_codes(app) == fresh


def test_options_ask_for_a_code_after_ten_minutes(app, portal, clock, signed_in):
    secret, _ = signed_in
    clock.advance(minutes=11)
    app.button(key="mg_codes").click().run()
    assert "Confirm it's you" in texts(app)
    app.text_input(key="mg_code").input("000000")
    app.button(key="FormSubmitter:step_up-Confirm").click().run()
    assert "That code is not valid" in texts(app) or "unused" in texts(app)
    app.text_input(key="mg_code").input(totp.code_at(secret, clock.now()))
    app.button(key="FormSubmitter:step_up-Confirm").click().run()
    assert "backup codes unused" in texts(app)


def test_additional_device_shows_the_same_key(app, signed_in):
    secret, _ = signed_in
    app.button(key="mg_device").click().run()
    assert len(app.get("image")) == 1
    app.button(key="reveal_key").click().run()
    assert app.code[0].value.replace(" ", "") == secret


def test_replace_key_goes_through_the_wizard_and_old_key_stops(app, portal, clock, signed_in):
    old, _ = signed_in
    app.button(key="mg_replace").click().run()
    app.button(key="mg_replace_go").click().run()
    app.button(key="wz_next_intro").click().run()
    new = read_key(app)
    assert new != old
    app.button(key="wz_next_qr").click().run()
    verify(app, totp.code_at(new, clock.now()))
    app.button(key="wz_next_verify").click().run()
    keep_codes(app, "copied")
    app.checkbox(key="wz_stored").check().run()
    app.button(key="wz_finish").click().run()
    assert "Two-factor authentication is on" in texts(app)
    who = app.session_state["identity"]
    assert self_service.reveal_key(portal, who, "t").secret == new


def test_deactivate_needs_confirmation(app, portal, signed_in):
    who = app.session_state["identity"]
    app.button(key="mg_deactivate").click().run()
    app.button(key="mg_deactivate_open").click().run()
    assert "will be deleted" in texts(app)
    assert enrolment.state(portal, who).enabled  # nothing happened yet
    app.button(key="mg_deactivate_yes").click().run()
    assert "Two-factor authentication is now off." in texts(app)
    assert not enrolment.state(portal, who).enabled
