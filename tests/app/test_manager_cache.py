"""The manager page's short cache: the overview and the table's rows say how old they are and are
read again on Refresh or after a few seconds; a search counts its matches up to a cap."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import PermissionDenied
from portal.manager import guard, reports
from portal.models import Identity, UserQuery
from portal.ui.manager import keys, overview
from tests.app.manager_helpers import START, add_person, open_manager, sign_in, start_app, texts


def metric(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def manager_page(portal: Portal) -> AppTest:
    at = start_app(portal)
    sign_in(at, "boss")
    return open_manager(at)


def add_many(p: Portal, n: int, prefix: str) -> None:
    """n plain accounts in one statement (the same SQL on both engines)."""
    with p.db.write() as cur:
        cur.execute(
            "INSERT INTO users (username, display_name, role, password_hash, created_at)"
            " SELECT ? || lpad(CAST(g AS VARCHAR), 5, '0'), 'Bulk Person', 'user', 'x', ?"
            " FROM generate_series(1, ?) AS s(g)",
            [prefix, START, n],
        )


def test_the_age_label_names_the_instant_and_the_seconds_since() -> None:
    as_of = dt.datetime(2026, 3, 2, 12, 3, 5, tzinfo=dt.UTC)
    said = overview.age_label(as_of, as_of + dt.timedelta(seconds=4))
    assert said == "Counts as of 12:03:05 UTC, 4 s ago"


def test_the_overview_says_how_old_it_is_and_recounts_after_a_few_seconds(
    portal: Portal, boss: Identity, clock: FixedClock
) -> None:
    at = manager_page(portal)
    assert metric(at, "Accounts") == "1"
    assert "Counts as of 09:00:00 UTC, 0 s ago" in texts(at)
    add_person(portal, "carol")  # someone else's change, not made from this page
    clock.advance(seconds=reports.SNAPSHOT_SECONDS - 1)
    at.run()
    assert metric(at, "Accounts") == "1"  # still the counts of 09:00:00, and it says so
    assert f"Counts as of 09:00:00 UTC, {reports.SNAPSHOT_SECONDS - 1} s ago" in texts(at)
    clock.advance(seconds=1)
    at.run()
    assert metric(at, "Accounts") == "2"
    assert "0 s ago" in texts(at)


def test_refresh_counts_again_at_once(portal: Portal, boss: Identity, clock: FixedClock) -> None:
    at = manager_page(portal)
    add_person(portal, "dave")
    at.run()
    assert metric(at, "Accounts") == "1"
    at.button(key=overview.REFRESH + "_button").click().run()
    assert metric(at, "Accounts") == "2"


def usernames(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["username"])


def test_the_table_reuses_its_rows_for_a_few_seconds_and_says_how_old(
    portal: Portal, boss: Identity, clock: FixedClock
) -> None:
    at = manager_page(portal)
    assert usernames(at) == ["boss"]
    assert "1 account(s) match · page 1 of 1 · rows as of 09:00:00 UTC, 0 s ago" in texts(at)
    add_person(portal, "carol")  # someone else's change, not made from this page
    clock.advance(seconds=reports.SNAPSHOT_SECONDS - 1)
    at.run()
    assert usernames(at) == ["boss"]  # the rows of 09:00:00, and the caption says so
    assert f"rows as of 09:00:00 UTC, {reports.SNAPSHOT_SECONDS - 1} s ago" in texts(at)
    at.text_input(key=keys.SEARCH).input("car").run()  # another input: read at once
    assert usernames(at) == ["carol"]
    at.text_input(key=keys.SEARCH).input("").run()
    assert usernames(at) == ["boss", "carol"]  # the cache holds only the last view: read again
    add_person(portal, "dave")
    at.run()
    assert usernames(at) == ["boss", "carol"]
    clock.advance(seconds=reports.SNAPSHOT_SECONDS)
    at.run()
    assert usernames(at) == ["boss", "carol", "dave"]
    assert "rows as of 09:00:09 UTC, 0 s ago" in texts(at)


def test_refresh_reads_the_rows_again_at_once(portal: Portal, boss: Identity) -> None:
    at = manager_page(portal)
    add_person(portal, "dave")
    at.run()
    assert usernames(at) == ["boss"]
    at.button(key=overview.REFRESH + "_button").click().run()
    assert usernames(at) == ["boss", "dave"]


def test_a_role_taken_away_stops_the_next_run_despite_the_cache(
    portal: Portal, boss: Identity
) -> None:
    at = manager_page(portal)
    assert usernames(at) == ["boss"]
    with portal.db.write() as cur:
        cur.execute("UPDATE users SET role = 'user' WHERE id = ?", [boss.user_id])
    at.run()
    assert not at.dataframe or "boss" not in usernames(at)
    assert not at.metric


def test_the_overview_still_checks_the_role_on_every_call(portal: Portal, boss: Identity) -> None:
    assert reports.snapshot(portal, boss).overview.accounts == 1
    with portal.db.write() as cur:
        cur.execute("UPDATE users SET role = 'user' WHERE id = ?", [boss.user_id])
    with pytest.raises(PermissionDenied):  # the counts are cached, the role check is not
        reports.snapshot(portal, boss)


def test_the_cached_table_still_checks_the_role_on_every_call(
    portal: Portal, boss: Identity
) -> None:
    cache: dict[str, object] = {}
    first = reports.cached_accounts_page(portal, boss, UserQuery(), 1, cache, "slot")
    assert reports.cached_accounts_page(portal, boss, UserQuery(), 1, cache, "slot") is first
    with portal.db.write() as cur:
        cur.execute("UPDATE users SET disabled = TRUE WHERE id = ?", [boss.user_id])
    with pytest.raises(PermissionDenied):  # the rows are cached, the role check is not
        reports.cached_accounts_page(portal, boss, UserQuery(), 1, cache, "slot")


def test_the_page_check_reads_the_account_as_it_is_now(portal: Portal, boss: Identity) -> None:
    checked = guard.check_page(portal, boss)
    assert reports.snapshot(portal, boss, checked=checked).overview.accounts == 1
    with portal.db.write() as cur:
        cur.execute("UPDATE users SET disabled = TRUE WHERE id = ?", [boss.user_id])
    with pytest.raises(PermissionDenied):  # the next run's check
        guard.check_page(portal, boss)
    with pytest.raises(PermissionDenied):  # a check is not a pass for someone else
        reports.snapshot(
            portal, dataclasses.replace(boss, user_id=boss.user_id + 1), False, checked
        )


def test_a_broad_search_says_more_than_the_cap_match(portal: Portal, boss: Identity) -> None:
    add_many(portal, reports.MATCH_CAP + 200, "bulk")
    page = reports.accounts_page(portal, boss, UserQuery(search="bulk"))
    assert page.capped
    assert page.total == reports.MATCH_CAP
    assert len(page.rows) == reports.PAGE_SIZE
    narrow = reports.accounts_page(portal, boss, UserQuery(search="bulk0012"))
    assert not narrow.capped
    assert narrow.total == 10  # bulk00120 ... bulk00129
    everyone = reports.accounts_page(portal, boss, UserQuery())
    assert not everyone.capped and everyone.total == reports.MATCH_CAP + 201  # no search: exact
    at = manager_page(portal)
    at.text_input(key=keys.SEARCH).input("bulk").run()
    assert "More than 1,000 accounts match: narrow the search to see them all" in texts(at)


def test_a_search_takes_like_wildcards_literally_and_ignores_case(
    portal: Portal, boss: Identity
) -> None:
    add_many(portal, 30, "bulk")

    def found(term: str) -> int:
        return reports.accounts_page(portal, boss, UserQuery(search=term)).total

    assert found("BULK PERSON") == 30  # display names, any case
    assert found("bulk0002") == 10
    assert found("_") == 0  # no name has an underscore: "_" is not "any character"
    assert found("k%1") == 0  # nor is "%" "anything"
    assert found("\\") == 0
