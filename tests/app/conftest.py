"""AppTest fixtures: the real entry script with a fixed clock, on each engine in turn.

Every test that uses `settings` (so `portal`, `app`, `boss` ...) runs twice: on a DuckDB file
(`[duckdb]`) and on a fresh PostgreSQL database cloned from a migrated template (`[postgresql]`).
A test that is inherently DuckDB-only says so with `@pytest.mark.duckdb_only` (and why).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from portal.context import Portal
from portal.settings import Settings
from portal.ui.resources import use_portal
from tests.conftest import PASSWORD, ROOT, on_engine

ENTRY = str(ROOT / "portal" / "app.py")


ENGINES = ("duckdb", "postgresql")
# Tests kept on DuckDB on purpose (module::test -> why); a test may also say so itself with
# @pytest.mark.duckdb_only.
DUCKDB_ONLY = {
    "test_manager.py::test_table_pages_in_sql": "manager_helpers.bulk_people loads its 120"
    " accounts with DuckDB's cursor.register + INSERT ... BY NAME SELECT * FROM a pandas frame",
}
# Known PostgreSQL bugs, reported to the lead: strict xfail, so the fix turns them into failures
# that say "remove me from this list".
POSTGRES_BUGS: dict[str, str] = {}  # test id -> what fails on PostgreSQL only (strict xfail)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "duckdb_only: AppTest runs on DuckDB only (say why)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    name = f"{metafunc.definition.path.name}::{metafunc.definition.originalname}"
    if metafunc.definition.get_closest_marker("duckdb_only") or name in DUCKDB_ONLY:
        metafunc.parametrize("engine", ENGINES[:1])
        return
    bug = POSTGRES_BUGS.get(name)
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    metafunc.parametrize("engine", [ENGINES[0], pytest.param(ENGINES[1], marks=marks)])


@pytest.fixture
def settings(settings: Settings, engine: str, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The shared settings, on a fresh database of the engine under test."""
    yield from on_engine(settings, request, engine)


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
