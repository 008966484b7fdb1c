"""The manager's queries on a large generated table: counts, pages, filters and sorts in SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from portal.models import AUDIT_COLUMNS, USER_COLUMNS, AuditQuery, Overview, UserQuery, UserRow
from store import Database, open_database, reports
from store import audit as audit_store
from tests.app.manager_helpers import START, bulk_people
from tests.store.conftest import copy_tables, database_target

N = 100_000
NOW = START


@pytest.fixture(scope="module")
def big(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, pd.DataFrame]]:
    folder = tmp_path_factory.mktemp("big")
    made = open_database(database_target("duckdb", folder))  # bulk-loaded the DuckDB way
    expected = bulk_people(made, N, NOW)
    _bulk_audit(made, 50_000)
    if backend == "duckdb":
        db = made
    else:
        db = open_database(database_target(backend, folder))
        copy_tables(made, db)
        made.close()
    yield db, expected
    db.close()


def _bulk_audit(db: Database, n: int) -> None:
    i = np.arange(n)
    frame = pd.DataFrame(
        {
            "id": i + 1_000_000,
            "occurred_at": pd.Timestamp(NOW) - pd.to_timedelta(i, unit="min"),  # 1 per minute
            "event": np.where(i % 5 == 0, "sign_in_failed", "sign_in_ok"),
            "actor": None,
            "subject": [f"bulk{k % 1000:07d}" for k in i],
            "source": "bulk",
            "detail": None,
        }
    )
    with db.write() as cur:
        cur.register("frame", frame)
        cur.execute("INSERT INTO audit BY NAME SELECT * FROM frame")
        cur.unregister("frame")


def count(db: Database, query: UserQuery) -> int:
    with db.read() as cur:
        return reports.count_user_status(cur, query, NOW)


def page(db: Database, query: UserQuery, limit: int = 50, offset: int = 0) -> list[UserRow]:
    with db.read() as cur:
        return reports.list_user_status(cur, query, NOW, limit, offset)


def test_counts_by_status_match_the_generated_rules(big: tuple[Database, pd.DataFrame]) -> None:
    db, expected = big
    assert count(db, UserQuery()) == N
    for status, n in expected["status"].value_counts().items():
        assert count(db, UserQuery(statuses=(str(status),))) == n
    assert count(db, UserQuery(statuses=("enabled", "pending"))) == int(
        expected["status"].isin(["enabled", "pending"]).sum()
    )


def test_counts_by_role_search_and_flags(big: tuple[Database, pd.DataFrame]) -> None:
    db, expected = big
    managers = int((expected["role"] == "security_manager").sum())
    assert count(db, UserQuery(roles=("security_manager",))) == managers == 100
    alpha = int(expected["display_name"].str.contains("Alpha").sum())
    assert count(db, UserQuery(search="  ALPHA ")) == alpha
    assert count(db, UserQuery(search="bulk000012")) == 10  # bulk0000120 ... bulk0000129
    assert count(db, UserQuery(locked_only=True)) == int(expected["locked"].sum())
    assert count(db, UserQuery(disabled_only=True)) == int(expected["disabled"].sum())
    low = (expected["status"] == "enabled") & (expected["codes_left"] <= 3)
    assert count(db, UserQuery(codes_low_at=3)) == int(low.sum())
    both = UserQuery(search="alpha", statuses=("enabled",), roles=("user",), disabled_only=True)
    mask = (
        expected["display_name"].str.contains("Alpha")
        & (expected["status"] == "enabled")
        & (expected["role"] == "user")
        & expected["disabled"]
    )
    assert count(db, both) == int(mask.sum())


def test_search_is_not_a_pattern(big: tuple[Database, pd.DataFrame]) -> None:
    db, _ = big
    assert count(db, UserQuery(search="%")) == 0
    assert count(db, UserQuery(search="_")) == 0
    assert count(db, UserQuery(search="' OR 1=1 --")) == 0


def test_pages_cover_the_view_once_in_order(big: tuple[Database, pd.DataFrame]) -> None:
    db, expected = big
    query = UserQuery(statuses=("enabled",), sort="status")  # every key ties: id decides
    total = count(db, query)
    seen = []
    for offset in range(0, total, 5000):
        rows = page(db, query, 5000, offset)
        seen += [r.id for r in rows]
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen)


def test_first_middle_and_last_page(big: tuple[Database, pd.DataFrame]) -> None:
    db, expected = big
    names = sorted(expected["username"])
    assert [r.username for r in page(db, UserQuery())] == names[:50]
    assert [r.username for r in page(db, UserQuery(), 50, 50_000)] == names[50_000:50_050]
    assert [r.username for r in page(db, UserQuery(), 50, N - 20)] == names[-20:]
    assert page(db, UserQuery(), 50, N) == []
    backwards = page(db, UserQuery(descending=True), 3)
    assert [r.username for r in backwards] == names[-1:-4:-1]


@pytest.mark.parametrize("sort", ["username", "display_name", "created_at", "last_sign_in_at"])
def test_the_fast_path_pages_like_the_full_query(
    big: tuple[Database, pd.DataFrame], sort: str
) -> None:
    """Paging on users first gives the same page as computing every status first."""
    db, _ = big
    fast = UserQuery(sort=sort, descending=True, search="beta")
    full = UserQuery(
        sort=sort,
        descending=True,
        search="beta",
        statuses=("enabled", "pending", "off", "reset granted"),  # all: forces the full query
    )
    assert page(db, fast, 50, 1234) == page(db, full, 50, 1234)
    assert count(db, fast) == count(db, full)


def test_rows_carry_status_details(big: tuple[Database, pd.DataFrame]) -> None:
    db, expected = big
    rows = {r.username: r for r in page(db, UserQuery(), 20)}
    first = rows["bulk0000000"]  # i = 0: active, 0 codes used, locked no, disabled no
    assert (first.status, first.backup_codes_left, first.locked) == ("enabled", 10, False)
    assert first.enrolled_at == NOW - dt.timedelta(days=2)
    pending = rows["bulk0000001"]
    assert (pending.status, pending.backup_codes_left, pending.enrolled_at) == (
        "pending",
        None,
        None,
    )
    reset = rows["bulk0000002"]
    assert reset.status == "reset granted" and reset.reset_expires_at == NOW + dt.timedelta(hours=1)
    locked = rows["bulk0000003"]
    assert (locked.locked, locked.failed_attempts) == (True, 10)
    assert locked.locked_until == NOW + dt.timedelta(minutes=10)
    assert rows["bulk0000004"].failed_attempts == 3 and not rows["bulk0000004"].locked


def test_status_moves_with_the_clock(big: tuple[Database, pd.DataFrame]) -> None:
    db, expected = big
    later = NOW + dt.timedelta(hours=2)  # grants (1 h) and lockouts (10 min) have run out
    with db.read() as cur:
        assert reports.count_user_status(cur, UserQuery(statuses=("reset granted",)), later) == 0
        assert reports.count_user_status(cur, UserQuery(locked_only=True), later) == 0
        overview = reports.get_overview(cur, later, 3)
    assert overview.reset_granted == 0 and overview.locked == 0


def test_overview_matches_the_generated_rules(big: tuple[Database, pd.DataFrame]) -> None:
    db, e = big
    with db.read() as cur:
        o = reports.get_overview(cur, NOW, 3)
    status = e["status"].value_counts()
    assert o.accounts == N
    assert (o.enabled, o.pending, o.off, o.reset_granted) == (
        status["enabled"],
        status["pending"],
        status["off"],
        status["reset granted"],
    )
    assert o.locked == e["locked"].sum() and o.disabled == e["disabled"].sum()
    assert o.codes_low == ((e["status"] == "enabled") & (e["codes_left"] <= 3)).sum()


def test_sort_is_whitelisted(big: tuple[Database, pd.DataFrame]) -> None:
    db, _ = big
    for evil in ("password_hash", "username; DROP TABLE users", "1"):
        with pytest.raises(ValueError):
            page(db, UserQuery(sort=evil))
        with pytest.raises(ValueError):
            page(db, UserQuery(sort=evil, statuses=("off",)))
    assert count(db, UserQuery()) == N


def test_export_streams_up_to_the_limit(big: tuple[Database, pd.DataFrame]) -> None:
    db, _ = big
    with db.read() as cur:
        rows = list(reports.iter_user_status(cur, UserQuery(), NOW, 25_000, batch=4_000))
    assert len(rows) == 25_000 and len(rows[0]) == len(USER_COLUMNS)
    names = [r[1] for r in rows]
    assert names == sorted(names)


def test_audit_filters_page_and_count(big: tuple[Database, pd.DataFrame]) -> None:
    db, _ = big
    with db.read() as cur:
        assert audit_store.count_audit(cur, AuditQuery()) == 50_000
        failed = AuditQuery(events=("sign_in_failed",))
        assert audit_store.count_audit(cur, failed) == 10_000
        person = AuditQuery(person="BULK0000007")  # subjects cycle through 1000 names
        assert audit_store.count_audit(cur, person) == 50
        day = AuditQuery(start=NOW - dt.timedelta(days=1), end=NOW)  # minutes 1 ... 1440 ago
        assert audit_store.count_audit(cur, day) == 1440
        newest = audit_store.list_audit(cur, AuditQuery(), 3)
        assert [e.occurred_at for e in newest] == [NOW - dt.timedelta(minutes=k) for k in range(3)]
        deep = audit_store.list_audit(cur, failed, 10, 9_995)
        assert len(deep) == 5 and all(e.event == "sign_in_failed" for e in deep)
        rows = list(audit_store.iter_audit(cur, failed, 7))
        assert len(rows) == 7 and rows[0][1] == NOW


def test_events_by_day(big: tuple[Database, pd.DataFrame]) -> None:
    db, _ = big
    with db.read() as cur:
        days = audit_store.count_events_by_day(cur, ["sign_in_failed"], NOW - dt.timedelta(days=2))
    assert [d for d, _ in days] == [NOW.date() - dt.timedelta(days=k) for k in (2, 1, 0)]
    assert sum(n for _, n in days) == 2 * 1440 // 5 + 1


def test_explore_copies_hold_no_secret_columns(big: tuple[Database, pd.DataFrame]) -> None:
    db, _ = big
    with db.read() as cur:
        users = reports.select_user_status_table(cur, NOW)
        audit = audit_store.select_audit_table(cur, NOW - dt.timedelta(days=1))
    assert users.num_rows == N and audit.num_rows == 1441
    forbidden = {"password_hash", "secret_enc", "code_enc", "id"}
    assert not forbidden & set(users.column_names)
    assert set(audit.column_names) == set(AUDIT_COLUMNS)


def test_empty_database(db: Database) -> None:
    with db.read() as cur:
        assert reports.count_user_status(cur, UserQuery(statuses=("off",)), NOW) == 0
        assert reports.list_user_status(cur, UserQuery(), NOW) == []
        assert reports.get_overview(cur, NOW, 3) == Overview(0, 0, 0, 0, 0, 0, 0, 0)
