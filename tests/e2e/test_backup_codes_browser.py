"""Issue 16 item 3 in Chromium: backup codes you can keep (Copy all, Download .txt, Print).

*Finish* waits until the codes were copied, downloaded or printed (what the page's component
reports back to Python); the .txt is made in the page (a Blob), so no /media/ URL ever holds
the codes; the print view shows only the codes, the account and the date; every button works
from the keyboard; the codes look the same (xxxx-xxxx-xxxx) in the wizard, in *View backup
codes* and after regenerating.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from harness import (
    BACKUP_CODE_RE,
    RequestRecorder,
    Server,
    button,
    expect_signed_in,
    open_app,
    portal_env,
    portal_sign_in,
    seeded_portal,
    totp_after,
    wait_for_app_idle,
    wizard_confirm_password,
    wizard_finish,
    wizard_verify,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

CAROL, CAROL_PW = "carol", "carol-pass-5194"
ERIN, ERIN_PW = "erin", "erin-pass-8832"
STORED = "I have stored my backup codes safely"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = [(CAROL, CAROL_PW, "user"), (ERIN, ERIN_PW, "user")]
    with seeded_portal(tmp_path_factory.mktemp("codes"), portal_env(), users) as s:
        yield s


def _to_verified_code(page: Any, server: Server, username: str, password: str) -> tuple[str, int]:
    """Signed in, the wizard walked up to a verified code; returns the key and its time step."""
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    portal_sign_in(page, username, password)
    expect_signed_in(page, username)
    wizard_confirm_password(page, password)
    button(page, "wz_next_intro").click()
    page.get_by_role("button", name="I can't scan this code").click()
    secret = page.get_by_test_id("stCode").inner_text().strip().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    return secret, wizard_verify(page, secret)


def _shown(page: Any) -> list[str]:
    codes = re.findall(BACKUP_CODE_RE, page.get_by_test_id("stMain").inner_text())
    assert len(codes) == len(set(codes)) > 0, codes
    return codes


def _focused_text(page: Any) -> str:
    """The text of the focused element, looking inside shadow roots."""
    return str(
        page.evaluate(
            """() => { let a = document.activeElement;
                while (a && a.shadowRoot && a.shadowRoot.activeElement) {
                  a = a.shadowRoot.activeElement;
                }
                return a ? (a.innerText || a.textContent || '').trim() : ''; }"""
        )
    )


def _tab_to(page: Any, label: str) -> None:
    """Press Tab (from the current focus) until the button named `label` has the focus."""
    for _ in range(25):
        if _focused_text(page) == label:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached the {label!r} button")


def _download(page: Any, press: str | None = None) -> tuple[str, Any]:
    """Download the .txt (click, or `press` a key on the focused button): its text and info."""
    with page.expect_download() as info:
        if press:
            page.keyboard.press(press)
        else:
            page.get_by_role("button", name="Download .txt", exact=True).click()
    return Path(info.value.path()).read_text("utf-8"), info.value


def _no_media(recorder: RequestRecorder, codes: list[str]) -> None:
    """No request to Streamlit's /media/ files (st.download_button's), none naming a code."""
    media = [u for u in recorder.urls if urlsplit(u).path.startswith("/media/")]
    assert media == [], media
    named = [u for u in recorder.urls for c in codes if c in u or c.replace("-", "") in u]
    assert named == [], named


def test_wizard_codes_copy_download_print_and_finish_waits_for_one(
    page: Any, context: Any, server: Server, request_recorder: RequestRecorder
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    _to_verified_code(page, server, CAROL, CAROL_PW)
    button(page, "wz_next_verify").click()
    copy_all = page.get_by_role("button", name="Copy all", exact=True)
    expect(copy_all).to_be_visible()
    wait_for_app_idle(page)
    codes = _shown(page)
    assert len(codes) == 10
    expect(
        page.get_by_text("Copy, download or print your backup codes to continue.")
    ).to_be_visible()
    expect(page.get_by_role("checkbox", name=STORED)).to_be_disabled()
    expect(button(page, "wz_finish")).to_be_disabled()

    # The print view: only the title, the account, the date and the codes.
    page.emulate_media(media="print")
    printed = page.locator("body").inner_text()
    lines = [line.strip() for line in printed.splitlines() if line.strip()]
    assert lines[0] == f"2FA Portal backup codes for {CAROL}" or lines[0].endswith(CAROL), lines
    assert f"Account: {CAROL}" in lines and any(x.startswith("Date: 20") for x in lines), lines
    assert [x for x in lines if re.fullmatch(BACKUP_CODE_RE, x)] == codes, lines
    assert len(lines) == 1 + 2 + 10 + 1, lines  # nothing of the app: no buttons, no sidebar
    expect(page.get_by_test_id("stMain")).to_be_hidden()
    page.emulate_media(media="screen")
    expect(page.locator("#portal-print-codes")).to_be_hidden()
    expect(page.get_by_test_id("stMain")).to_be_visible()

    # Copy all, from the keyboard only: Tab from the last code's line, then Enter.
    page.get_by_test_id("stMain").get_by_text(codes[-1]).click()
    _tab_to(page, "Copy all")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "\n".join(codes) + "\n"
    # ... which is what Finish waited for.
    expect(page.get_by_role("checkbox", name=STORED)).to_be_enabled()
    expect(page.get_by_text("to continue.")).to_have_count(0)
    expect(button(page, "wz_finish")).to_be_disabled()  # the box is still to tick

    # Download .txt with Space, Print with Enter: both from the keyboard too.
    wait_for_app_idle(page)
    copy_all.focus()
    _tab_to(page, "Download .txt")
    text, info = _download(page, press="Space")
    assert info.url.startswith("blob:"), info.url  # made in the page, not served by a URL
    assert info.suggested_filename == f"backup-codes-{CAROL}.txt"
    assert [x for x in text.splitlines() if re.fullmatch(BACKUP_CODE_RE, x)] == codes, text
    assert CAROL in text.splitlines()[0] and "Date: 20" in text, text
    _tab_to(page, "Print")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Print dialog opened")).to_be_visible()

    page.get_by_text(STORED).click()
    expect(button(page, "wz_finish")).to_be_enabled()
    button(page, "wz_finish").click()
    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()
    expect(page.locator("#portal-print-codes")).to_have_count(0)  # gone with the codes step
    assert request_recorder.urls, "the recorder saw nothing"
    _no_media(request_recorder, codes)


def test_viewed_and_regenerated_codes_keep_one_format_and_never_use_media(
    page: Any, server: Server, request_recorder: RequestRecorder
) -> None:
    secret, used = _to_verified_code(page, server, ERIN, ERIN_PW)
    first = wizard_finish(page, download=False)  # Print is what enables Finish here
    button(page, "wz_close_done").click()

    button(page, "mg_codes").click()
    prompt = page.get_by_text("Confirm it's you")
    wait_for_app_idle(page)
    if prompt.count():  # the second factor is fresh for ten minutes after Finish
        code, used = totp_after(secret, used)
        page.get_by_label("Authentication code").fill(code)
        page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_text("backup codes unused")).to_be_visible()
    wait_for_app_idle(page)
    assert sorted(_shown(page)) == sorted(first)
    text, _ = _download(page)
    assert sorted(x for x in text.splitlines() if re.fullmatch(BACKUP_CODE_RE, x)) == sorted(first)

    button(page, "mg_regen_open").click()
    button(page.get_by_test_id("stDialog"), "mg_regen_yes").click()
    expect(page.get_by_text("New backup codes generated")).to_be_visible()
    wait_for_app_idle(page)
    fresh = _shown(page)  # with dashes, like everywhere else
    assert len(fresh) == 10 and not set(fresh) & set(first), (fresh, first)
    text, _ = _download(page)
    assert [x for x in text.splitlines() if re.fullmatch(BACKUP_CODE_RE, x)] == fresh, text
    # The download's rerun keeps the new codes on screen.
    expect(page.get_by_role("status").filter(has_text="Downloaded")).to_be_visible()
    wait_for_app_idle(page)
    expect(page.get_by_text("New backup codes generated")).to_be_visible()
    assert _shown(page) == fresh
    _no_media(request_recorder, first + fresh)
