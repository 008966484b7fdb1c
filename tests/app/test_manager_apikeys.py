"""The manager page's API-keys section on reruns: no reads of its own while its list is at most
a few seconds old (the page's one role check is reused), and a key revoked or created from this
page shows at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from portal.clock import FixedClock
from portal.context import Portal
from portal.gateway import apikeys
from portal.manager import reports
from portal.models import Identity
from portal.ui.manager import apikeys as apikeys_page
from store.backends import duckdb as duckdb_backend
from tests.app.manager_helpers import open_manager, sign_in, start_app, texts


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the DuckDB backend runs while the test runs."""
    seen: list[str] = []
    execute = duckdb_backend.DuckDBCursor.execute

    def counted(self: duckdb_backend.DuckDBCursor, sql: str, params: object = ()) -> object:
        seen.append(sql)
        return execute(self, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb_backend.DuckDBCursor, "execute", counted)
    yield seen


def manager_page(portal: Portal) -> AppTest:
    at = start_app(portal)
    sign_in(at, "boss")
    return open_manager(at)


def key_states(at: AppTest) -> dict[str, str]:
    table = next(d for d in at.dataframe if "State" in d.value.columns)
    return dict(zip(table.value["Name"], table.value["State"], strict=True))


def test_a_rerun_with_nothing_changed_reads_no_keys_or_denials(
    portal: Portal, boss: Identity, statements: list[str]
) -> None:
    apikeys.create(portal, boss, "vpn", "", "test")
    at = manager_page(portal)
    assert not at.exception and not at.error
    statements.clear()
    at.run()
    assert not at.exception and not at.error
    assert not [s for s in statements if "api_key" in s.lower() or "denial" in s.lower()]
    assert len(statements) <= 2  # session recheck and account view; the page checks from the view


def test_a_key_created_elsewhere_shows_after_a_few_seconds_with_its_age(
    portal: Portal, boss: Identity, clock: FixedClock
) -> None:
    at = manager_page(portal)
    apikeys.create(portal, boss, "ssh", "", "test")  # not from this page
    clock.advance(seconds=reports.SNAPSHOT_SECONDS - 1)
    at.run()
    assert "No API keys yet." in texts(at)
    assert f"{reports.SNAPSHOT_SECONDS - 1} s ago" in texts(at)
    clock.advance(seconds=1)
    at.run()
    assert key_states(at) == {"ssh": "live"}


def test_a_key_revoked_from_the_page_leaves_the_list_at_once(
    portal: Portal, boss: Identity
) -> None:
    apikeys.create(portal, boss, "vpn", "", "test")
    at = manager_page(portal)
    at.run()  # the list now comes from the cache
    assert key_states(at) == {"vpn": "live"}
    at.button(key="ak_revoke").click().run()
    at.button(key="ak_confirm").click().run()
    assert not at.exception
    assert key_states(at) == {"vpn": "revoked"}
    assert not [s for s in at.selectbox if s.key == apikeys_page.PICK]


def test_a_key_created_from_the_page_shows_at_once(portal: Portal, boss: Identity) -> None:
    at = manager_page(portal)
    at.run()
    at.text_input(key=apikeys_page.NAME).input("scripts")
    at.button(key="FormSubmitter:ak_form-Create key").click().run()
    assert not at.exception
    assert key_states(at) == {"scripts": "live"}
