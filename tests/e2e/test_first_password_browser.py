"""An imported person's first sign-in in Chromium, by keyboard: the first password opens only
"Choose your password" (focused, autocomplete new-password, Enter submits), then home."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    Server,
    add_users,
    expect_sign_in_page,
    expect_signed_in,
    open_app,
    portal_env,
    portal_sign_in,
    portal_sign_out,
    run_portal,
    start_portal,
    wait_for_rerun,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

NEW = "a fresh long passphrase 7"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A portal whose one person came from `portal user import`; with their first password."""
    base = tmp_path_factory.mktemp("first-password")
    env, db = portal_env(), base / "portal.duckdb"
    add_users(db, env, [("boss", "manager-pass-4821", "security_manager")])
    people = base / "people.csv"
    people.write_text("username,display_name,email,role\nann,,,\n", encoding="utf-8")
    out = run_portal(["user", "import", str(people), "--yes", "--db", str(db)], env).stdout
    first = dict(line.split(",") for line in out.splitlines())["ann"]
    with start_portal(db, env, base / "portal-server.log") as server:
        yield server, first


def test_the_first_password_leads_to_choose_your_password_by_keyboard(
    imported: tuple[Server, str], page: Any
) -> None:
    server, first = imported
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    portal_sign_in(page, "ann", first)
    new = page.get_by_label("New password", exact=True)
    wait_for_rerun(page, new)
    expect(page.get_by_text("Choose your password.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)  # not signed in
    assert new.get_attribute("autocomplete") == "new-password"
    again = page.get_by_label("New password again", exact=True)
    assert again.get_attribute("autocomplete") == "new-password"
    expect(new).to_be_focused()
    page.keyboard.type(NEW)
    page.keyboard.press("Tab")  # the field's show-password button
    page.keyboard.press("Tab")
    expect(again).to_be_focused()
    page.keyboard.type(NEW)
    page.keyboard.press("Enter")
    expect_signed_in(page, "ann")
    portal_sign_out(page)
    portal_sign_in(page, "ann", first)
    expect(page.get_by_text("Incorrect username or password.")).to_be_visible()
    expect_sign_in_page(page)
