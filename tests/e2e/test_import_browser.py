"""The manager's Import tab in Chromium: a real file through the uploader, preview, Import, and
the first passwords as a real download."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import (
    Server,
    expect_signed_in,
    open_app,
    open_nav,
    portal_env,
    portal_sign_in,
    seeded_portal,
    wait_for_app_idle,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

BOSS, BOSS_PW = "boss", "manager-pass-4821"
PEOPLE = "username,display_name,email,role\nann,Ann A,ann@example.org,\nbo,Bo B,,\nboss,Me,,\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = [(BOSS, BOSS_PW, "security_manager")]
    with seeded_portal(tmp_path_factory.mktemp("import"), portal_env(), users) as s:
        yield s


def _import_tab(page: Any, server: Server) -> None:
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    portal_sign_in(page, BOSS, BOSS_PW)
    expect_signed_in(page, BOSS)
    open_nav(page, "Security manager")
    page.get_by_role("tab", name="Import").click()
    expect(page.get_by_text("People to import (CSV)")).to_be_visible()
    wait_for_app_idle(page)


def test_a_real_upload_previews_then_imports_and_downloads_the_passwords(
    server: Server, page: Any, tmp_path: Path
) -> None:
    _import_tab(page, server)
    bad = tmp_path / "people.csv"
    bad.write_text(PEOPLE, encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(bad))
    expect(page.get_by_text("1 row(s) have problems")).to_be_visible()
    expect(page.get_by_role("button", name="Import 2 account(s)")).to_have_count(0)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("1 row(s) have problems")).to_have_count(0)
    wait_for_app_idle(page)

    good = tmp_path / "good.csv"
    good.write_text(PEOPLE.replace("boss,Me,,\n", ""), encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(good))
    expect(page.get_by_text("2 to create, 0 with problems")).to_be_visible()
    page.get_by_role("button", name="Import 2 account(s)").click()
    done = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Imported 2 account(s)")
    expect(done).to_be_visible()
    with page.expect_download() as got:
        page.get_by_role("button", name="Download the first passwords (CSV)").click()
    lines = Path(got.value.path()).read_text().splitlines()
    assert lines[0] == "username,first_password"
    assert [line.split(",")[0] for line in lines[1:]] == ["ann", "bo"]
    assert all(len(line.split(",")[1]) == 23 for line in lines[1:])
    page.get_by_role("button", name="I have saved the first passwords").click()
    expect(done).to_have_count(0)
