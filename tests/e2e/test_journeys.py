"""Journeys through the real portal in headless Chromium (issue 4).

"Scan, don't peek": the tests read the QR code from a screenshot with zxing-cpp, parse the
otpauth URI and compute every code with pyotp from what they decoded, as a phone would. No test
reads the key from the database or the server.

* ``test_first_run_to_deactivation`` - the whole life of an account on a fresh database: first
  run, the manager creates a user on the manager page, the user enrols (QR) and downloads the
  backup codes, signs in with a code, a replayed code is refused, a backup code works once, the
  manager resets the user (their open session ends; the next sign-in goes straight into the
  wizard, which gives a new key), then deactivates 2FA (session ends; password-only sign-in).
* ``test_manual_key_instead_of_scanning`` - the "I can't scan this code" key, typed by hand.
* ``test_abandoned_setup_warns_and_resumes_with_the_same_key`` - closing the wizard early
  (another page, a new tab) leaves 2FA off, the next visit warns, Resume keeps the key and
  Start over replaces it.

The first test needs an empty database (first run) and gets its own server; the other two share
one server whose database is seeded with their accounts before it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    PORTAL_WIZARD,
    PORTAL_WIZARD_NAV,
    Server,
    button,
    expect_sign_in_page,
    expect_signed_in,
    manager_act,
    manager_create_user,
    manager_metric,
    open_app,
    open_nav,
    portal_enter_code,
    portal_env,
    portal_first_run,
    portal_sign_in,
    portal_sign_out,
    seeded_portal,
    totp_after,
    totp_step,
    wait_for_app_idle,
    wizard_confirm_password,
    wizard_finish,
    wizard_scan,
    wizard_verify,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ISSUER = "Journey Test Portal"  # not the default: proves the QR carries the configured issuer
MANAGER, MANAGER_PW = "boss", "manager-pass-4821"
USER, USER_DISPLAY, USER_PW = "alice", "Alice Example", "alice-pass-7305"


def _alert(page: Any, kind: str, text: str) -> Any:
    """The alert of that kind (Success, Info, Warning, Error) that contains ``text``."""
    return page.get_by_test_id(f"stAlertContent{kind}").filter(has_text=text)


def _click_nav(page: Any, title: str) -> None:
    """Click a sidebar page link (a rerun), without expecting to arrive there."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()


def _home_status(page: Any) -> Any:
    """The 2FA status line of *My account*."""
    return page.get_by_test_id("stMain").get_by_text("Two-factor authentication is", exact=False)


# --------------------------------------------------------------------------------------------
# 1. First run -> ... -> the manager deactivates the user's 2FA
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("portal_server", [{"env": {"PORTAL_ISSUER": ISSUER}}], indirect=True)
def test_first_run_to_deactivation(portal_server: Server, page: Any, new_page: Any) -> None:
    url = portal_server.url
    boss = page  # the manager's browser; the user gets another one

    # First run: the only page on an empty database creates the security manager.
    open_app(boss, url, ready=boss.get_by_role("heading", name="Welcome to the 2FA Portal"))
    portal_first_run(boss, MANAGER, MANAGER_PW)
    portal_sign_in(boss, MANAGER, MANAGER_PW)
    expect_signed_in(boss, MANAGER)

    # The manager creates the user on the manager page.
    open_nav(boss, "Security manager")
    expect(manager_metric(boss, "Accounts")).to_have_text("1")
    manager_create_user(boss, USER, USER_DISPLAY, USER_PW)
    expect(manager_metric(boss, "Accounts")).to_have_text("2")
    expect(manager_metric(boss, "Not enrolled")).to_have_text("2")

    # The user signs in (password only: 2FA is off) and completes the wizard by scanning.
    alice = new_page("user")
    open_app(alice, url, ready=alice.get_by_role("heading", name="Sign in"))
    portal_sign_in(alice, USER, USER_PW)
    expect_signed_in(alice, USER)
    expect(alice.get_by_role("heading", name=f"Hello, {USER_DISPLAY}")).to_be_visible()
    expect(_home_status(alice)).to_contain_text("off")
    wizard_confirm_password(alice, USER_PW)
    expect(alice.get_by_text("Step 1 of 5")).to_be_visible()
    button(alice, "wz_next_intro").click()
    otp = wizard_scan(alice, issuer=ISSUER, account=USER)
    secret = otp["secret"]
    used = wizard_verify(alice, secret)
    backup = wizard_finish(alice)  # downloads the .txt and checks it against the screen

    # Sign out; sign in with a code from the app (a later step than the one the wizard used:
    # each step is accepted once).
    portal_sign_out(alice)
    portal_sign_in(alice, USER, USER_PW)
    expect(alice.get_by_text("enter the 6-digit code")).to_be_visible()
    expect(alice.get_by_role("button", name="Sign out")).to_have_count(0)  # not signed in yet
    code, used = totp_after(secret, used)
    portal_enter_code(alice, code)
    expect_signed_in(alice, USER)
    expect(_home_status(alice)).to_contain_text("on for your account")

    # The same code again: refused, although its time step is still inside the window.
    portal_sign_out(alice)
    portal_sign_in(alice, USER, USER_PW)
    portal_enter_code(alice, code)
    expect(_alert(alice, "Error", "Each code works once")).to_be_visible()
    assert totp_step() <= used + 1, "the code had expired: this would not prove replay refusal"
    expect(alice.get_by_role("button", name="Sign out")).to_have_count(0)

    # A backup code signs in once ...
    alice.get_by_role("button", name="Use a backup code instead").click()
    portal_enter_code(alice, backup[0], label="Backup code")
    expect_signed_in(alice, USER)
    expect(_alert(alice, "Info", "9 backup code(s) left")).to_be_visible()
    # ... and then stops working (another one still does).
    portal_sign_out(alice)
    portal_sign_in(alice, USER, USER_PW)
    alice.get_by_role("button", name="Use a backup code instead").click()
    portal_enter_code(alice, backup[0], label="Backup code")
    expect(_alert(alice, "Error", "not valid")).to_be_visible()
    expect(alice.get_by_role("button", name="Sign out")).to_have_count(0)
    portal_enter_code(alice, backup[1], label="Backup code")
    expect_signed_in(alice, USER)
    expect(_alert(alice, "Info", "8 backup code(s) left")).to_be_visible()

    # The manager resets the user's 2FA (lost phone) ...
    done = manager_act(boss, USER, "Reset 2FA", "lost phone, e2e journey")
    assert done == f"Reset granted: {USER}.", done
    expect(manager_metric(boss, "Reset granted")).to_have_text("1")
    expect(manager_metric(boss, "2FA enabled")).to_have_text("0")
    # ... which ends the user's open session: their next click lands on the sign-in page.
    _click_nav(alice, PORTAL_WIZARD_NAV)
    expect_sign_in_page(alice)
    expect(_alert(alice, "Warning", "Your session has ended")).to_be_visible()

    # The user's next sign-in goes straight into the wizard: no code asked, nothing else open.
    portal_sign_in(alice, USER, USER_PW)
    expect(_alert(alice, "Info", "reset your two-factor authentication")).to_be_visible()
    expect(alice.get_by_role("heading", name=PORTAL_WIZARD)).to_be_visible()
    expect(alice.get_by_text("Step 1 of 5")).to_be_visible()
    wait_for_app_idle(alice)
    expect(alice.get_by_test_id("stSidebarNav")).to_have_count(0)  # only the wizard
    expect(alice.get_by_role("button", name="Close set-up")).to_have_count(0)
    button(alice, "wz_next_intro").click()
    new_otp = wizard_scan(alice, issuer=ISSUER, account=USER)
    assert new_otp["secret"] != secret, "a reset must give a new key"
    wizard_verify(alice, new_otp["secret"])
    new_backup = wizard_finish(alice, download=False)
    assert not set(new_backup) & set(backup)
    expect_signed_in(alice, USER)

    # The manager deactivates the user's 2FA. That ends the user's open session too (issue 7:
    # "2FA deactivation ... revoke the person's other sessions"), and the next sign-in asks for
    # the password only.
    done = manager_act(boss, USER, "Deactivate 2FA", "leaves the 2FA pilot, e2e journey")
    assert done == f"Two-factor authentication turned off: {USER}.", done
    expect(manager_metric(boss, "2FA enabled")).to_have_text("0")
    expect(manager_metric(boss, "Not enrolled")).to_have_text("2")
    _click_nav(alice, "My account")
    expect_sign_in_page(alice)
    expect(_alert(alice, "Warning", "Your session has ended")).to_be_visible()
    portal_sign_in(alice, USER, USER_PW)
    expect_signed_in(alice, USER)
    expect(_home_status(alice)).to_contain_text("off")


# --------------------------------------------------------------------------------------------
# 2 and 3 share one server with seeded accounts
# --------------------------------------------------------------------------------------------

TYPIST, TYPIST_PW = "manual.typist", "typist-pass-5531"
QUITTER, QUITTER_PW = "early.quitter", "quitter-pass-9182"


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``portal serve`` for the module; its accounts were added with the CLI beforehand."""
    base, env = tmp_path_factory.mktemp("journeys"), portal_env(PORTAL_ISSUER=ISSUER)
    users = [(TYPIST, TYPIST_PW, "user"), (QUITTER, QUITTER_PW, "user")]
    with seeded_portal(base, env, users) as server:
        yield server


def _signed_in(page: Any, server: Server, username: str, password: str) -> None:
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    portal_sign_in(page, username, password)
    expect_signed_in(page, username)


def test_manual_key_instead_of_scanning(seeded_server: Server, page: Any) -> None:
    _signed_in(page, seeded_server, TYPIST, TYPIST_PW)
    wizard_confirm_password(page, TYPIST_PW)
    button(page, "wz_next_intro").click()
    expect(page.get_by_test_id("stImage")).to_be_visible()

    # No scanning: reveal the key and type it into the "app" (pyotp) by hand.
    page.get_by_role("button", name="I can't scan this code").click()
    shown = page.get_by_test_id("stCode")
    expect(shown).to_be_visible()
    grouped = shown.inner_text().strip()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", grouped), grouped  # 160 bits, by 4
    typed = grouped.replace(" ", "")
    expect(page.get_by_role("button", name="I can't scan this code")).to_have_count(0)

    wizard_verify(page, typed)  # the server accepts the code computed from the typed key
    wizard_finish(page, download=False)  # ends on "Two-factor authentication is on."


def _resume_warning(page: Any) -> Any:
    return _alert(page, "Warning", "Set-up was not completed")


def test_abandoned_setup_warns_and_resumes_with_the_same_key(
    seeded_server: Server, page: Any
) -> None:
    _signed_in(page, seeded_server, QUITTER, QUITTER_PW)
    wizard_confirm_password(page, QUITTER_PW)
    button(page, "wz_next_intro").click()
    first = wizard_scan(page, issuer=ISSUER, account=QUITTER)

    # Walk away mid-wizard (another page): 2FA stays off and the account page says so.
    open_nav(page, "My account")
    expect(_alert(page, "Warning", "did not finish")).to_be_visible()
    expect(_home_status(page)).to_have_count(0)  # neither "on" nor "off": pending

    # Coming back warns about the unfinished set-up; Resume shows the same key.
    wizard_confirm_password(page, QUITTER_PW)
    expect(_resume_warning(page)).to_be_visible()
    page.get_by_role("button", name="Resume with the same key").click()
    resumed = wizard_scan(page, issuer=ISSUER, account=QUITTER)
    assert resumed["secret"] == first["secret"]

    # Walk away again, this time to a new tab of the same browser (signed in by the cookie).
    tab = page.context.new_page()
    open_app(tab, seeded_server.url, ready=tab.get_by_role("heading", name="Hello"))
    expect_signed_in(tab, QUITTER)
    expect(_alert(tab, "Warning", "did not finish")).to_be_visible()
    wizard_confirm_password(tab, QUITTER_PW)
    expect(_resume_warning(tab)).to_be_visible()
    tab.get_by_role("button", name="Resume with the same key").click()
    assert wizard_scan(tab, issuer=ISSUER, account=QUITTER)["secret"] == first["secret"]
