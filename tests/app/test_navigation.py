"""Navigation (issue 16): bookmarked pages, page names only, the low-codes nudge, tab titles."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from portal.access import accounts
from portal.models import Role
from portal.twofactor import second_factor, totp
from portal.ui import nav
from portal.ui.resources import use_portal
from tests.app.conftest import ENTRY, enter_code, page_path, sign_in, texts
from tests.conftest import PASSWORD, ROOT, add_user, enrol

FROM = "198.51.100.7 · Firefox"


def bookmarked(portal, name: str) -> AppTest:
    """A fresh browser opening /<name> directly (the first run of a session asks for that page)."""
    use_portal(portal)
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.switch_page(page_path(name))  # before the first run: the page is picked by its URL name
    return at.run()


def titles(at: AppTest) -> list[str]:
    return [str(t.value) for t in at.title]


def test_a_bookmarked_manager_page_shows_the_sign_in_then_opens_the_manager_page(portal):
    add_user(portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")
    at = bookmarked(portal, "manager")
    assert not at.exception
    assert titles(at) == ["Sign in"]  # the sign-in form at /manager, no "Page not found"
    sign_in(at, "boss")
    assert titles(at) == ["Security manager"]
    assert "not open to your account" not in texts(at)


def test_a_bookmarked_page_the_role_does_not_allow_lands_on_my_account_with_a_message(portal):
    add_user(portal, "alice", display="Alice")
    at = bookmarked(portal, "manager")
    assert titles(at) == ["Sign in"]
    sign_in(at, "alice")
    assert titles(at) == ["Hello, Alice"]
    assert (
        "The page you asked for, Security manager, is not open to your account right now, "
        "so you are on My account instead."
    ) in texts(at)
    assert "Security manager" not in [t.value for t in at.title]


def test_a_bookmarked_page_with_a_second_factor_lands_there_after_the_code(portal, clock):
    secret, _, _ = enrol(portal, clock, add_user(portal, "alice", display="Alice"))
    at = bookmarked(portal, "two_factor")
    sign_in(at, "alice")
    assert titles(at) == ["Sign in"]  # the code step, still at the asked-for address
    enter_code(at, totp.code_at(secret, clock.now()))
    assert titles(at) == ["Configure two-factor authentication"]


def test_after_a_sign_out_the_next_person_lands_on_their_landing_page_not_the_last_page(
    app, portal
):
    add_user(portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")
    add_user(portal, "alice", display="Alice")
    app.run()
    sign_in(app, "boss")
    app.switch_page(page_path("manager")).run()
    assert titles(app) == ["Security manager"]
    app.button(key="sign_out").click().run()
    sign_in(app, "alice")
    assert titles(app) == ["Hello, Alice"]
    assert "not open to your account" not in texts(app)  # she never asked for it


def test_an_unknown_address_and_a_next_parameter_lead_nowhere_but_the_landing_page(portal):
    add_user(portal, "alice", display="Alice")
    use_portal(portal)
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.query_params["next"] = "https://evil.example/phish"
    at.switch_page(str(ROOT / "portal" / "cli.py"))  # /cli: not a page of ours
    at.run()
    assert titles(at) == ["Sign in"]
    sign_in(at, "alice")
    assert titles(at) == ["Hello, Alice"]
    assert "not open to your account" not in texts(at)


def test_every_page_name_of_ours_opens_the_sign_in_form_when_signed_out(portal):
    add_user(portal, "alice")
    for name in nav.TITLES:
        at = bookmarked(portal, name)
        assert not at.exception, name
        assert titles(at) == ["Sign in"], name


def test_the_sidebar_label_of_the_two_factor_page_is_short_and_its_heading_long(app, portal):
    add_user(portal, "alice")
    app.run()
    sign_in(app, "alice")
    assert nav.TITLES["two_factor"][0] == "Two-factor set-up"
    assert len(max((t for t, _ in nav.TITLES.values()), key=len)) <= 20
    app.switch_page(page_path("two_factor")).run()
    assert titles(app) == ["Configure two-factor authentication"]


def _use_backup_codes(portal, clock, username: str, codes: list[str], user_id: int) -> None:
    for code in codes:
        at = accounts.sign_in_password(portal, username, PASSWORD, FROM)
        second_factor.verify_sign_in(
            portal, user_id, at.password_at, code, "198.51.100.7 · Firefox"
        )
        clock.advance(minutes=1)


def test_the_low_codes_nudge_opens_the_regenerate_confirmation(app, portal, clock):
    secret, codes, who = enrol(portal, clock, add_user(portal, "alice", display="Alice"))
    _use_backup_codes(portal, clock, "alice", codes[: len(codes) - 2], who.user_id)
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    assert "Only 2 backup code(s) left" in texts(app)
    app.button(key="nudge_regenerate").click().run()
    assert titles(app) == ["Configure two-factor authentication"]
    # Signed in with a code a moment ago, so no "confirm it's you": the confirmation is open.
    assert "Your current backup codes will **stop working** at once." in texts(app)
    app.button(key="mg_regen_yes").click().run()
    assert "New backup codes generated" in texts(app)
