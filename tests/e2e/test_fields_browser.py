"""Code and password fields, focus, the QR image and the phone's link, in Chromium (issue 16).

* ``test_fields_say_what_they_hold_and_focus_follows_the_steps`` - sign-in: the username and
  password fields say ``username`` / ``current-password`` (not ``new-password``, which makes
  password managers offer a new one) and the username has the focus; the wizard's password
  field has it next; the QR code has a text alternative that says where the key is, and
  hovering it shows no toolbar; after the QR step's *Next* the code field has the focus, with
  ``inputmode="numeric"`` and ``autocomplete="one-time-code"``. Then the sign-in code step:
  the same for its field, and a wrong code typed there is not carried into the backup-code
  field, which gets the focus and the full keyboard.
* ``test_phone_gets_an_open_in_app_link`` - on a touch screen the QR step has an *Open in
  authenticator app* link whose ``href`` is exactly the otpauth URI the QR code holds; with a
  mouse it is hidden until the window is narrow; no request carries the key, none goes to
  /media/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from harness import (
    RequestRecorder,
    Server,
    button,
    expect_signed_in,
    open_app,
    portal_enter_code,
    portal_env,
    portal_sign_in,
    portal_sign_out,
    read_qr,
    seeded_portal,
    totp_after,
    totp_at_step,
    totp_step,
    wait_for_app_idle,
    wait_for_rerun,
    wizard_scan,
)
from playwright.sync_api import expect

from portal.ui.nav import TITLES

pytestmark = pytest.mark.e2e

ISSUER = "Fields Test Portal"
TYPIST, TYPIST_PW = "field.typist", "typist-pass-2207"
PHONE, PHONE_PW = "phone.owner", "phone-pass-8164"
MOUSE, MOUSE_PW = "mouse.user", "mouse-pass-3390"


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base, env = tmp_path_factory.mktemp("fields"), portal_env(PORTAL_ISSUER=ISSUER)
    users = [(TYPIST, TYPIST_PW, "user"), (PHONE, PHONE_PW, "user"), (MOUSE, MOUSE_PW, "user")]
    with seeded_portal(base, env, users) as server:
        yield server


def _attrs(field: Any) -> tuple[str | None, str | None]:
    return field.get_attribute("autocomplete"), field.get_attribute("inputmode")


def _open_wizard(page: Any, password: str) -> None:
    """From a signed-in page: the wizard, its password step (checked), then the intro."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=TITLES["two_factor"][0]).click()
    field = page.get_by_label("Password", exact=True)
    expect(field).to_be_focused()
    assert _attrs(field) == ("current-password", None)
    field.fill(password)
    page.get_by_role("button", name="Continue").click()
    wait_for_rerun(page, page.get_by_text("Step 1 of 5"))
    button(page, "wz_next_intro").click()


def _finish(page: Any) -> None:
    """From a verified code: the backup codes (downloaded, ticked as stored), then Finish."""
    button(page, "wz_next_verify").click()
    save = page.get_by_test_id("stMain").get_by_role("button", name=re.compile(r"^Download"))
    with page.expect_download():
        save.click()
    stored = page.locator(".st-key-wz_stored")
    expect(stored.get_by_role("checkbox")).to_be_enabled()
    stored.get_by_text("I have stored my backup codes safely").click()
    button(page, "wz_finish").click()
    wait_for_rerun(page, page.get_by_text("Two-factor authentication is on."))


def _sign_in_page(page: Any, server: Server) -> None:
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    username, password = page.get_by_label("Username"), page.get_by_label("Password", exact=True)
    assert _attrs(username) == ("username", None)
    assert _attrs(password) == ("current-password", None)
    expect(username).to_be_focused()


def test_fields_say_what_they_hold_and_focus_follows_the_steps(
    seeded_server: Server, page: Any
) -> None:
    _sign_in_page(page, seeded_server)
    portal_sign_in(page, TYPIST, TYPIST_PW)
    expect_signed_in(page, TYPIST)
    _open_wizard(page, TYPIST_PW)

    image = page.get_by_test_id("stImage")
    otp = wizard_scan(page, issuer=ISSUER, account=TYPIST)
    alt = image.locator("img").get_attribute("alt") or ""
    assert alt.startswith("QR code that adds this portal to your authenticator app"), alt
    assert "I can't scan this code" in alt, alt
    image.hover()
    expect(page.get_by_test_id("stElementToolbar")).to_be_hidden()
    page.get_by_role("button", name="I can't scan this code").click()
    expect(image.locator("img")).to_have_attribute("alt", re.compile("shown below as text"))

    button(page, "wz_next_qr").click()
    code_field = page.get_by_label("Code from your app")
    expect(code_field).to_be_focused()  # not the page body: no Tabs to reach it
    assert _attrs(code_field) == ("one-time-code", "numeric")
    used = totp_step()
    page.keyboard.type(totp_at_step(otp["secret"], used))  # where the focus is
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("The code is correct")
    _finish(page)

    portal_sign_out(page)
    portal_sign_in(page, TYPIST, TYPIST_PW)
    code_field = page.get_by_label("Authentication code")
    expect(code_field).to_be_focused()
    expect(code_field).to_have_attribute("inputmode", "numeric")
    assert _attrs(code_field) == ("one-time-code", "numeric")
    near = {totp_at_step(otp["secret"], used + d) for d in range(-1, 4)}
    portal_enter_code(page, next(c for c in ("000000", "111111", "222222") if c not in near))
    expect(page.get_by_test_id("stAlertContentError")).to_be_visible()

    page.get_by_role("button", name="Use a backup code instead").click()
    backup_field = page.get_by_label("Backup code")
    wait_for_rerun(page, backup_field)
    expect(backup_field).to_have_value("")  # the wrong code stayed behind
    expect(backup_field).to_be_focused()
    expect(backup_field).not_to_have_attribute("inputmode", "numeric")  # letters too
    assert _attrs(backup_field) == ("off", None)

    page.get_by_role("button", name="Use my authenticator app instead").click()
    code_field = page.get_by_label("Authentication code")
    wait_for_rerun(page, code_field)
    expect(code_field).to_be_focused()
    portal_enter_code(page, totp_after(otp["secret"], used)[0])
    expect_signed_in(page, TYPIST)


def test_phone_gets_an_open_in_app_link(seeded_server: Server, browser: Any) -> None:
    touch = browser.new_context(viewport={"width": 1024, "height": 900}, has_touch=True)
    recorder = RequestRecorder().attach(touch)
    try:
        page = touch.new_page()
        _sign_in_page(page, seeded_server)
        portal_sign_in(page, PHONE, PHONE_PW)
        expect_signed_in(page, PHONE)
        _open_wizard(page, PHONE_PW)
        otp = wizard_scan(page, issuer=ISSUER, account=PHONE)
        link = page.get_by_role("link", name="Open in authenticator app")
        expect(link).to_be_visible()
        uri = read_qr(page.get_by_test_id("stImage"))
        assert link.get_attribute("href") == uri, (link.get_attribute("href"), uri)
        assert uri.startswith("otpauth://totp/") and otp["secret"] in uri
        wait_for_app_idle(page)
        secret = otp["secret"]
        assert recorder.urls, "nothing recorded"
        assert not [u for u in recorder.urls if secret in u or secret.lower() in u.lower()]
        # Streamlit's media endpoint (st.image bytes) is /media/...; fonts are /static/media/.
        assert not [u for u in recorder.urls if urlsplit(u).path.startswith("/media/")]
    finally:
        touch.close()


def test_with_a_mouse_the_link_shows_only_in_a_narrow_window(
    seeded_server: Server, page: Any
) -> None:
    _sign_in_page(page, seeded_server)
    portal_sign_in(page, MOUSE, MOUSE_PW)
    expect_signed_in(page, MOUSE)
    _open_wizard(page, MOUSE_PW)
    expect(page.get_by_test_id("stImage")).to_be_visible()
    link = page.locator("[data-testid='openInAppLink']")
    expect(link).to_have_count(1)
    expect(link).to_be_hidden()
    page.set_viewport_size({"width": 600, "height": 900})
    expect(link).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(link).to_be_hidden()
