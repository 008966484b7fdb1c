"""The fields component's focus move (portal/ui/fields.py) in Chromium, on a page of its own.

A step's focus move can run seconds after the page first shows (its widgets are painted late on a
slow server; the component retries for 5 s). Seen on a busy machine: the person (a test) had
typed the username and moved on to the password, the late move put the caret back in the
username, and the password went on in the username field, in clear. The script now leaves the
caret where a person is typing; it still moves it from a button, the page body or the previous
step's field.
"""

from __future__ import annotations

from typing import Any

import pytest

from portal.ui import fields

PAGE = """<!doctype html><body>
<div class="st-key-si_username"><input id="username"></div>
<div class="st-key-si_password"><input id="password" type="password"></div>
<div data-stale="true"><div class="st-key-old"><input id="old"></div></div>
<button id="go">Sign in</button>
</body>"""


def _move_focus(page: Any, focused: str | None) -> str:
    """Focus `focused` (None: nothing), run the component's script asking for the username."""
    page.set_content(PAGE)
    if focused:
        page.focus(f"#{focused}")
    return page.evaluate(
        """async ([js, focused]) => {
            const url = URL.createObjectURL(new Blob([js], {type: "text/javascript"}));
            const script = await import(url);
            script.default({
                data: {focus: "si_username", token: "sign_in:password", inputmode: []},
                parentElement: {},
            });
            return document.activeElement.id || document.activeElement.tagName;
        }""",
        [fields._JS, focused],
    )


@pytest.mark.e2e
def test_a_late_focus_move_leaves_the_caret_in_the_field_being_typed_in(page: Any) -> None:
    assert _move_focus(page, "password") == "password"


@pytest.mark.e2e
@pytest.mark.parametrize("focused", [None, "go", "old"])
def test_the_focus_moves_from_the_body_a_button_or_the_previous_steps_field(
    page: Any, focused: str | None
) -> None:
    assert _move_focus(page, focused) == "username"
