"""AppTest fixtures: the real entry script on a real DuckDB file with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from portal.context import Portal
from portal.ui.resources import use_portal
from tests.conftest import PASSWORD, ROOT

ENTRY = str(ROOT / "portal" / "app.py")


def page_path(name: str) -> str:
    return str(ROOT / "pages" / f"{name}.py")


@pytest.fixture
def app(portal: Portal) -> Iterator[AppTest]:
    use_portal(portal)
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.run()
    yield at
    use_portal(None)


def texts(at: AppTest) -> str:
    """Everything the person can read on the page, as one string."""
    parts = []
    for kind in ("title", "markdown", "success", "error", "warning", "info", "caption", "code"):
        parts += [str(el.value) for el in getattr(at, kind)]
    return "\n".join(parts)


def sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="si_username").input(username)
    at.text_input(key="si_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def enter_code(at: AppTest, code: str) -> AppTest:
    at.text_input(key="si_code").input(code)
    return at.button(key="FormSubmitter:second_factor-Verify").click().run()
