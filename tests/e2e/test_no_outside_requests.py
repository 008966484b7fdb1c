"""No outside requests (issue 5): during a full journey the browser asks nothing of any host but
the portal's own 127.0.0.1 - no usage statistics, no web fonts or icons, no images from the
internet.

``request_recorder`` hears every request and websocket of every browser context the test opens
(the manager's and the user's). As a safety net, requests to any other host are aborted before
they leave the machine: they still count as recorded attempts, so a regression fails the test
without reaching the internet, and a deliberate one at the end proves the recorder catches them.

The journey touches every page and element kind the portal has: first run, the manager page
(overview and chart, the Accounts table, the Create user dialog, Audit trail, Notebooks), sign-in,
the wizard (QR image, the manual key and its Copy key button, verify, backup codes and their
download), the account page and sign-out.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from typing import Any

import pytest
from harness import (
    LOOPBACK_HOSTS,
    PORTAL_WIZARD,
    RequestRecorder,
    Server,
    button,
    expect_signed_in,
    manager_create_user,
    open_app,
    open_nav,
    portal_first_run,
    portal_sign_in,
    portal_sign_out,
    wait_for_app_idle,
    wizard_confirm_password,
    wizard_finish,
    wizard_scan,
    wizard_verify,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

MANAGER, MANAGER_PW = "root", "root-pass-3390"
USER, USER_PW = "nora", "nora-pass-1147"
ISSUER = "2FA Portal"  # the default


def _block_outside(context: Any) -> None:
    """Abort every request to a host other than the portal's (the recorder still sees it)."""

    def outside(url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and (
            parts.hostname not in LOOPBACK_HOSTS
        )

    context.route(outside, lambda route: route.abort("blockedbyclient"))


def test_a_full_journey_requests_nothing_from_other_hosts(
    portal_server: Server, page: Any, new_page: Any, request_recorder: RequestRecorder
) -> None:
    url = portal_server.url
    boss = page
    _block_outside(boss.context)

    # The manager: first run, sign-in, every tab of the manager page, a new account.
    open_app(boss, url, ready=boss.get_by_role("heading", name="Welcome to the 2FA Portal"))
    portal_first_run(boss, MANAGER, MANAGER_PW)
    portal_sign_in(boss, MANAGER, MANAGER_PW)
    expect_signed_in(boss, MANAGER)
    open_nav(boss, "Security manager")
    expect(boss.get_by_test_id("stDataFrame")).to_be_visible()
    for tab in ("Audit trail", "Notebooks", "Accounts"):
        boss.get_by_role("tab", name=tab).click()
        expect(boss.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        wait_for_app_idle(boss)
    manager_create_user(boss, USER, "Nora North", USER_PW)

    # The user: sign-in, the whole wizard (QR and manual key), the account page, sign-out.
    nora = new_page("user")
    _block_outside(nora.context)
    open_app(nora, url, ready=nora.get_by_role("heading", name="Sign in"))
    portal_sign_in(nora, USER, USER_PW)
    expect_signed_in(nora, USER)
    wizard_confirm_password(nora, USER_PW)
    expect(nora.get_by_role("heading", name=PORTAL_WIZARD)).to_be_visible()
    button(nora, "wz_next_intro").click()
    secret = wizard_scan(nora, issuer=ISSUER, account=USER)["secret"]
    nora.get_by_role("button", name="I can't scan this code").click()
    expect(nora.get_by_test_id("stCode")).to_be_visible()
    wizard_verify(nora, secret)
    wizard_finish(nora)  # includes the download of the backup codes
    open_nav(nora, "My account")
    expect(nora.get_by_role("heading", name="Hello, Nora North")).to_be_visible()
    wait_for_app_idle(nora)
    portal_sign_out(nora)

    # Everything went to the portal's own address (pages, scripts, fonts, media, websocket).
    request_recorder.assert_only_loopback()
    port = portal_server.port
    assert f"ws://127.0.0.1:{port}/_stcore/stream" in request_recorder.urls
    for route in ("establish", "logout"):  # the cookie routes were used, on our own host
        assert f"{portal_server.base_url}/api/session/{route}" in request_recorder.urls
    # The QR code is inline (a data: URI), so no media URL ever carries the key.
    assert not any(u.startswith(f"{portal_server.base_url}/media/") and u.endswith(".png")
                   for u in request_recorder.urls)  # fmt: skip
    assert len({urllib.parse.urlsplit(u).path for u in request_recorder.urls}) > 50

    # The recorder would have caught an outside request (aborted, so nothing left the machine).
    # The page's CSP (connect-src 'self') stops a fetch before it is a request, so probe with a
    # navigation, which the CSP does not govern.
    probe = "https://fonts.googleapis.com/css2?family=Probe"
    tab = nora.context.new_page()
    with contextlib.suppress(Exception):  # the navigation is aborted by the recorder's route
        tab.goto(probe)
    assert request_recorder.foreign() == [probe]
