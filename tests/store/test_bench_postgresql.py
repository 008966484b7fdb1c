"""bench/ on PostgreSQL, on a tiny generated organisation: the bulk load, ANALYZE, a sign-in.

`python -m bench --db postgresql://...` copies the cached DuckDB file into PostgreSQL (COPY) and
works on a TEMPLATE clone; these tests run that path on 5,000 accounts against the store
suite's PostgreSQL server, and check the side-by-side table of two engines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest

from bench import dataset, manager, pg, signin
from bench.timing import Figure, Series, side_by_side
from portal.clock import FixedClock
from portal.context import Portal

ACCOUNTS = 5_000
TABLES = ("users", "factors", "backup_codes", "throttle", "audit", "sessions", "meta")


@pytest.fixture
def bench_pg(
    postgres_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dataset.Dataset]:
    """A generated DuckDB file in tmp_path and its PostgreSQL work copy; dropped afterwards."""
    monkeypatch.setattr(dataset, "CACHE", tmp_path)
    found = dataset.prepare(ACCOUNTS, lambda _: None, postgres_server)
    yield found
    with pg.admin(postgres_server) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"bench%{ACCOUNTS}%"]
        ).fetchall()
    for (name,) in names:
        with contextlib.suppress(psycopg.Error):
            pg.drop(postgres_server, name)


def test_the_postgresql_copy_holds_every_row_and_has_planner_statistics(
    bench_pg: dataset.Dataset,
) -> None:
    assert bench_pg.engine == "postgresql" and pg.is_url(str(bench_pg.work))
    assert bench_pg.generated_seconds is not None  # loaded now, not found in a cache
    with duckdb.connect(str(bench_pg.cached), read_only=True) as duck:
        count = "SELECT count(*) FROM {}"
        expected = [duck.execute(count.format(t)).fetchall()[0][0] for t in TABLES]
        secret = duck.execute("SELECT secret_enc FROM factors ORDER BY id LIMIT 1").fetchone()
    with psycopg.connect(str(bench_pg.work)) as conn:
        counts = [conn.execute(count.format(t)).fetchall()[0][0] for t in TABLES]
        copied = conn.execute("SELECT secret_enc FROM factors ORDER BY id LIMIT 1").fetchone()
        planned = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'users'").fetchone()
    assert counts == expected and counts[0] == ACCOUNTS
    assert copied is not None and secret is not None and bytes(copied[0]) == secret[0]
    assert planned is not None and planned[0] == ACCOUNTS  # VACUUM ANALYZE ran (-1 without)


def test_a_bench_person_signs_in_on_postgresql_and_the_throttle_rows_come_back(
    bench_pg: dataset.Dataset,
) -> None:
    clock = FixedClock(dataset.START)
    p: Portal = bench_pg.open(clock)
    try:
        who = dataset.people(p).login
        times = signin.sign_in(p, clock.now, who)  # real bcrypt, AES-GCM secret, audit INSERTs
        assert times.code > 0 and times.password > 0
        with p.db.write() as cur:
            cur.execute("DELETE FROM throttle")
        bench_pg.restore_throttle(p)
        with p.db.read() as cur:
            restored = cur.execute("SELECT count(*) FROM throttle").fetchone()
        with duckdb.connect(str(bench_pg.cached), read_only=True) as duck:
            generated = duck.execute("SELECT count(*) FROM throttle").fetchone()
        assert restored == generated and restored is not None and restored[0] > 0
        # The naive pandas page reads the PostgreSQL rows as it reads DuckDB's.
        result = manager.naive(p, "smith", 3)
        assert result.overview["accounts"] == ACCOUNTS
    finally:
        p.db.close()
    again = dataset.prepare(ACCOUNTS, lambda _: None, pg.url_for(str(bench_pg.work), "postgres"))
    assert again.generated_seconds is None  # the cached database was reused


def test_side_by_side_puts_each_engine_in_its_own_columns() -> None:
    def figure(value: float, base: float) -> Figure:
        measured, baseline = Series("m", "ms"), Series("b", "ms")
        measured.add(value)
        baseline.add(base)
        return Figure("code_ms", "code", measured, baseline)

    text = side_by_side({"duckdb": [figure(20, 200)], "postgresql": [figure(5, 250)]})
    lines = text.splitlines()
    assert lines[0].startswith("| figure | duckdb min/med/max | duckdb ratio | postgresql")
    assert lines[2] == "| code_ms | 20.0 / 20.0 / 20.0 ms | 0.100 | 5.00 / 5.00 / 5.00 ms | 0.020 |"
