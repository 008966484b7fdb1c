"""The portal on a phone-sized screen (issue 16): 390x844 in Chromium, a desktop user agent.

* ``test_a_bookmarked_manager_page_signs_in_then_lands_on_it`` - /manager shows the sign-in
  form (no "Page not found" dialog), the demo's virtual authenticator is in the page, its code
  signs the manager in, and the page asked for opens; Sign out is in the page.
* ``test_the_sidebar_closes_after_a_page_link_and_after_sign_out`` - the overlay closes by
  itself; each page has its own browser-tab title; the in-page Sign out works.
* ``test_a_wide_screen_keeps_sign_out_and_the_authenticator_in_the_sidebar_only``.

One ``portal demo`` server for the module (its seeded accounts: see README "Demo mode").
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    REPO_ROOT,
    Server,
    expect_sign_in_page,
    portal_enter_code,
    portal_env,
    portal_process_env,
    portal_sign_in,
    start_server,
    wait_for_rerun,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DEMO_PASSWORD = "demo-2fa-portal"  # noqa: S105 - the demo's published password
INLINE = ".st-key-virtual_authenticator_inline"
PAGE_SIGN_OUT = ".st-key-page_sign_out"
CODE = re.compile(r"(\d{3}) (\d{3})")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("phone")
    env = portal_process_env({**portal_env(), "TMPDIR": str(base)})  # the demo's throw-away db
    cmd = [sys.executable, "-m", "portal", "demo", "--port", "{port}"]
    server = start_server(
        cmd, env, cwd=REPO_ROOT, log_path=base / "demo.log", inherit_env=False, name="demo"
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def phone(page: Any) -> Iterator[Any]:
    """The conftest's page (its failure artefacts too), at a phone's size; no script errors."""
    page.set_viewport_size(PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    # e.g. "Bad delta path index": a demo-panel tick aimed at a place the last run left empty.
    assert not errors, errors


def sidebar(page: Any) -> Any:
    return page.get_by_test_id("stSidebar")


def open_sidebar(page: Any) -> None:
    page.get_by_test_id("stExpandSidebarButton").click()
    expect(sidebar(page)).to_be_in_viewport()


def expect_sidebar_closed(page: Any) -> None:
    expect(sidebar(page)).not_to_be_in_viewport()


def heading(page: Any, text: str) -> Any:
    return page.get_by_role("heading", name=text, exact=True)


def test_a_bookmarked_manager_page_signs_in_then_lands_on_it(server: Server, phone: Any) -> None:
    phone.goto(server.url + "manager")
    expect_sign_in_page(phone)
    expect(phone.get_by_text("Page not found")).to_have_count(0)
    expect(phone.get_by_test_id("stDialog")).to_have_count(0)
    assert phone.title() == "Sign in · 2FA Portal"
    portal_sign_in(phone, "manager", DEMO_PASSWORD)
    panel = phone.locator(INLINE)
    expect(panel).to_be_visible()  # the virtual authenticator, in the page: no sidebar needed
    expect(panel).to_contain_text("2FA Portal: manager")
    expect(panel).to_contain_text(CODE)
    shown = CODE.search(panel.inner_text())
    assert shown is not None
    portal_enter_code(phone, shown.group(1) + shown.group(2))
    wait_for_rerun(phone, heading(phone, "Security manager"))
    assert phone.url == server.url + "manager"
    expect(phone).to_have_title("Security manager · 2FA Portal")
    expect_sidebar_closed(phone)
    expect(phone.locator(PAGE_SIGN_OUT).get_by_role("button", name="Sign out")).to_be_visible()


def test_the_sidebar_closes_after_a_page_link_and_after_sign_out(
    server: Server, phone: Any
) -> None:
    phone.goto(server.url)
    expect_sign_in_page(phone)
    portal_sign_in(phone, "cleo", DEMO_PASSWORD)  # 2FA off: the password is enough
    expect(heading(phone, "Hello, Cleo Martin")).to_be_visible()
    expect_sidebar_closed(phone)
    titles = {phone.title()}
    open_sidebar(phone)
    link = sidebar(phone).get_by_role("link", name="Two-factor set-up", exact=True)
    expect(link).to_be_visible()  # the short label, not cut
    link.click()
    expect(heading(phone, "Configure two-factor authentication")).to_be_visible()
    expect_sidebar_closed(phone)
    titles.add(phone.title())
    open_sidebar(phone)
    sidebar(phone).get_by_role("button", name="Sign out").click()
    done = phone.get_by_test_id("stAlertContentSuccess").filter(has_text="You are signed out.")
    expect(done).to_be_visible()
    expect_sign_in_page(phone)
    expect_sidebar_closed(phone)  # demo mode: the sidebar has content, and it stays closed
    titles.add(phone.title())
    assert titles == {
        "My account · 2FA Portal",
        "Two-factor set-up · 2FA Portal",
        "Sign in · 2FA Portal",
    }
    # Signed in again, the Sign out in the page works without opening the sidebar.
    portal_sign_in(phone, "cleo", DEMO_PASSWORD)
    # The landing page, not the page she signed out from: that was no bookmark.
    expect(heading(phone, "Hello, Cleo Martin")).to_be_visible()
    phone.locator(PAGE_SIGN_OUT).get_by_role("button", name="Sign out").click()
    expect(done).to_be_visible()
    expect_sign_in_page(phone)


def test_a_wide_screen_keeps_sign_out_and_the_authenticator_in_the_sidebar_only(
    server: Server, page: Any
) -> None:
    page.goto(server.url)  # the conftest's 1280x900
    expect_sign_in_page(page)
    portal_sign_in(page, "trainer", DEMO_PASSWORD)
    wait_for_rerun(page, sidebar(page).get_by_role("button", name="Sign out"))
    expect(sidebar(page)).to_be_in_viewport()
    expect(sidebar(page).locator(".st-key-virtual_authenticator")).to_be_visible()
    expect(page.locator(INLINE)).to_be_hidden()
    expect(page.locator(PAGE_SIGN_OUT)).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(1)


IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)


def test_with_a_phones_user_agent_the_sidebar_closes_once_and_stays_closed(
    server: Server, browser: Any
) -> None:
    # Streamlit itself closes the overlay after a page link for a phone's user agent; ours must
    # not then toggle it open again.
    ctx = browser.new_context(viewport=PHONE, user_agent=IPHONE_UA, is_mobile=True)
    try:
        page = ctx.new_page()
        page.goto(server.url)
        expect_sign_in_page(page)
        portal_sign_in(page, "cleo", DEMO_PASSWORD)
        expect(heading(page, "Hello, Cleo Martin")).to_be_visible()
        open_sidebar(page)
        sidebar(page).get_by_role("link", name="Two-factor set-up", exact=True).click()
        expect(heading(page, "Configure two-factor authentication")).to_be_visible()
        expect_sidebar_closed(page)
        page.wait_for_timeout(500)  # a second, late toggle would reopen it within this time
        expect(sidebar(page)).to_have_attribute("data-collapsed", "true")
    finally:
        ctx.close()
