"""Issue 16 item 5 in Chromium at 1280x900 (the sidebar open): the accounts table shows Role,
Locked out and Disabled without a horizontal scroll, and no label on the page is cut short.

The table is a canvas; glide-data-grid keeps an accessibility table inside it with the columns
that are in view (and only those), which is what the first test reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    Server,
    expect_signed_in,
    manager_select,
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
ALICE, ALICE_PW = "alice", "alice-pass-7305"
IN_VIEW = ["Username", "Display name", "Role", "2FA status", "Locked out", "Disabled"]

# Texts of buttons, widget labels, tabs and the sidebar's links that are cut: an element that
# clips (overflow hidden, or an ellipsis) and whose text is wider than its box. Streamlit clips
# in the label's markdown container, not in the <p> inside it. Empty boxes (the visually hidden
# input of a toggle) do not count.
CUT_JS = """(root) => [...new Set([...root.querySelectorAll(
    'button, label, [data-testid="stWidgetLabel"], [data-testid="stSidebarNav"] a, [role="tab"]')]
  .filter((box) => box.offsetParent !== null)
  .flatMap((box) => [box, ...box.querySelectorAll('*')]))]
  .filter((e) => { const s = getComputedStyle(e);
    return s.textOverflow === 'ellipsis' || s.overflowX !== 'visible'; })
  .filter((e) => (e.innerText || '').trim() !== '' && e.scrollWidth > e.clientWidth + 1)
  .map((e) => e.innerText.trim())"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    users = [(BOSS, BOSS_PW, "security_manager"), (ALICE, ALICE_PW, "user")]
    with seeded_portal(tmp_path_factory.mktemp("layout"), portal_env(), users) as s:
        yield s


def _manager_page(page: Any, server: Server) -> None:
    open_app(page, server.url, ready=page.get_by_role("heading", name="Sign in"))
    portal_sign_in(page, BOSS, BOSS_PW)
    expect_signed_in(page, BOSS)
    open_nav(page, "Security manager")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    wait_for_app_idle(page)


def _columns_in_view(page: Any) -> list[str]:
    grid = page.get_by_test_id("stDataFrame")
    canvas = grid.locator("canvas[data-testid='data-grid-canvas']")
    canvas.focus()  # the grid builds its accessibility table once it has had the focus
    headers = canvas.locator("th[role='columnheader']")
    expect(headers.first).to_be_attached()
    return [str(t).strip() for t in headers.all_inner_texts()]


def _cut(page: Any) -> list[str]:
    return list(page.locator("body").evaluate(CUT_JS))


def test_role_locked_out_and_disabled_are_in_view_without_scrolling(
    server: Server, page: Any
) -> None:
    assert page.viewport_size == {"width": 1280, "height": 900}
    _manager_page(page, server)
    scroller = page.get_by_test_id("stDataFrame").locator(".dvn-scroller")
    assert scroller.evaluate("s => s.scrollLeft") == 0
    shown = _columns_in_view(page)
    # Disabled is not the last column in view, so it is not cut at the right edge either.
    assert shown[: len(IN_VIEW)] == IN_VIEW and len(shown) > len(IN_VIEW), shown


def test_no_label_is_cut_on_the_manager_page(server: Server, page: Any) -> None:
    _manager_page(page, server)
    manager_select(page, ALICE)  # the action buttons enabled, as when they are used
    expect(page.locator(".st-key-sm_act_disable").get_by_role("button")).to_be_enabled()
    assert _cut(page) == [], "cut on the Accounts tab"
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_test_id("stDialog")).to_be_visible()
    assert _cut(page) == [], "cut in the Create user dialog"
    page.get_by_test_id("stDialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("stDialog")).to_have_count(0)
    for tab in ("Audit trail", "Notebooks"):
        page.get_by_role("tab", name=tab).click()
        wait_for_app_idle(page)
        assert _cut(page) == [], f"cut on the {tab} tab"
