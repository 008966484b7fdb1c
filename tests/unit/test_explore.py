"""Explore cells: one SELECT over secret-free copies; no secret, write, file or second query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import PermissionDenied
from portal.manager import explore
from portal.models import Identity
from store import users as user_store
from tests.app.manager_helpers import add_person, enrol


@pytest.fixture
def box(p: Portal, clock: FixedClock, boss: Identity) -> Iterator[explore.Sandbox]:
    enrol(p, clock, add_person(p, "alice"))
    with explore.open_sandbox(p, boss) as sandbox:
        yield sandbox


def ok(box: explore.Sandbox, sql: str) -> pd.DataFrame:
    result = box.run(sql)
    assert result.error is None, result.error
    assert result.frame is not None
    return result.frame


def test_shipped_cells_run(p: Portal, boss: Identity) -> None:
    results = explore.run_cells(p, boss, explore.CELLS)
    assert [r.error for r in results] == [None] * len(explore.CELLS)
    not_enrolled = results[0].frame
    assert not_enrolled is not None and list(not_enrolled["username"]) == ["boss"]


def test_only_the_two_copies_are_there(box: explore.Sandbox) -> None:
    tables = ok(box, "SELECT table_name FROM information_schema.tables ORDER BY 1")
    assert sorted(tables["table_name"]) == sorted(explore.TABLES)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT password_hash FROM user_status",
        "SELECT secret_enc FROM user_status",
        "SELECT * FROM users",
        "SELECT * FROM factors",
        "SELECT code_enc FROM backup_codes",
        "SELECT * FROM meta",
        "SELECT * FROM sessions",
    ],
)
def test_a_cell_cannot_read_a_secret_column(box: explore.Sandbox, sql: str) -> None:
    result = box.run(sql)
    assert result.error is not None and result.frame is None


def test_no_secret_value_is_in_the_copies(p: Portal, box: explore.Sandbox) -> None:
    with p.db.read() as cur:
        secrets = [r[0] for r in cur.execute("SELECT password_hash FROM users").fetchall()]
        blobs = [bytes(r[0]) for r in cur.execute("SELECT secret_enc FROM factors").fetchall()]
        blobs += [bytes(r[0]) for r in cur.execute("SELECT code_enc FROM backup_codes").fetchall()]
    dump = ""
    for table in explore.TABLES:
        frame = ok(box, f"SELECT * FROM {table}")  # noqa: S608
        dump += frame.to_csv()
        assert not any(frame[c].map(lambda v: isinstance(v, bytes)).any() for c in frame)
    assert not any(s in dump for s in secrets)
    assert secrets and blobs and "$2b$" not in dump


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM audit",
        "UPDATE user_status SET role = 'security_manager'",
        "INSERT INTO audit (event) VALUES ('forged')",
        "CREATE TABLE x AS SELECT 1",
        "DROP VIEW audit",
        "WITH gone AS (DELETE FROM audit RETURNING *) SELECT count(*) FROM gone",
        "WITH up AS (UPDATE user_status SET status = 'enabled' RETURNING *) SELECT * FROM up",
        "SET lock_configuration = false",
        "SET enable_external_access = true",
        "CALL pragma_version()",
        "PRAGMA database_list",
        "EXPORT DATABASE '/tmp/out'",
    ],
)
def test_a_cell_cannot_write_or_change_settings(box: explore.Sandbox, sql: str) -> None:
    before = ok(box, "SELECT count(*) AS n FROM audit")["n"][0]
    result = box.run(sql)
    assert result.error is not None
    assert ok(box, "SELECT count(*) AS n FROM audit")["n"][0] == before
    assert set(ok(box, "SELECT DISTINCT status FROM user_status")["status"]) == {"enabled", "off"}


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH '{db}' AS live",
        "ATTACH '{db}' AS live (READ_ONLY)",
        "ATTACH ':memory:' AS other",
        "SELECT * FROM read_csv('{db}')",
        "SELECT * FROM read_blob('{db}')",
        "SELECT * FROM '{db}'",
        "SELECT * FROM glob('{dir}/*')",
        "SELECT * FROM read_text('{key}')",
        "COPY audit TO '{dir}/leak.csv'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_csv('https://example.com/x.csv')",
    ],
)
def test_a_cell_cannot_attach_or_read_a_file(
    p: Portal, box: explore.Sandbox, tmp_path: Path, sql: str
) -> None:
    text = sql.format(db=p.db.path, dir=tmp_path, key=p.settings.key_file)
    result = box.run(text)
    assert result.error is not None
    assert not (tmp_path / "leak.csv").exists()


def test_a_cell_cannot_reach_python_objects(box: explore.Sandbox) -> None:
    leaked = pd.DataFrame({"password_hash": ["$2b$secret"]})  # noqa: F841 - the bait
    result = box.run("SELECT * FROM leaked")
    assert result.error is not None and "leaked" in result.error


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; SELECT 2",
        "SELECT 1; DELETE FROM audit",
        "SELECT count(*) FROM audit; DROP VIEW audit;",
    ],
)
def test_a_cell_runs_one_statement_only(box: explore.Sandbox, sql: str) -> None:
    result = box.run(sql)
    assert result.error == "A cell runs exactly one statement: remove the extra ';'."
    assert ok(box, "SELECT count(*) AS n FROM audit")["n"][0] > 0


def test_errors_come_back_as_text(box: explore.Sandbox) -> None:
    assert "syntax error" in (box.run("SELEC 1").error or "")
    assert box.run("   ").error == "The cell is empty: write one SELECT."
    assert ok(box, "SELECT 1 AS a;")["a"][0] == 1  # a trailing ';' is fine


def test_rows_are_cut_at_the_limit(box: explore.Sandbox) -> None:
    result = box.run("SELECT * FROM range(25)", max_rows=10)
    assert result.frame is not None and len(result.frame) == 10 and result.truncated
    whole = box.run("SELECT * FROM range(10)", max_rows=10)
    assert whole.frame is not None and len(whole.frame) == 10 and not whole.truncated


def test_a_slow_cell_is_stopped(box: explore.Sandbox) -> None:
    result = box.run("SELECT count(*) FROM range(1000000000000)", time_limit=0.3)
    assert result.error is not None and "was stopped" in result.error
    assert ok(box, "SELECT 42 AS answer")["answer"][0] == 42  # the sandbox still works


def test_portal_now_is_the_portal_clock(box: explore.Sandbox, clock: FixedClock) -> None:
    assert ok(box, "SELECT portal_now() AS now")["now"][0] == clock.now()


def test_the_copy_never_changes_the_live_database(p: Portal, box: explore.Sandbox) -> None:
    box.run("WITH gone AS (DELETE FROM audit RETURNING *) SELECT * FROM gone")
    with p.db.read() as cur:
        assert user_store.count_users(cur) == 2
        assert cur.execute("SELECT count(*) FROM audit").fetchone()[0] > 0


def test_plain_user_cannot_open_a_sandbox(p: Portal) -> None:
    plain = add_person(p, "plain")
    with pytest.raises(PermissionDenied):
        explore.open_sandbox(p, plain)


def test_chart_columns() -> None:
    frame = pd.DataFrame({"day": ["a", "b"], "n": [1, 2], "flag": [True, False], "t": ["x", "y"]})
    assert explore.chart_columns(frame) == ("day", ["n"])
    assert explore.chart_columns(frame[["day", "t"]]) is None
    assert explore.chart_columns(frame.iloc[0:0]) is None


def test_check_sql_refuses_anything_but_select() -> None:
    assert explore.check_sql(" SELECT 1; ") == "SELECT 1"
    for sql in ("EXPLAIN SELECT 1", "VACUUM", "DETACH x", "BEGIN", "PIVOT audit ON event"):
        with pytest.raises(ValueError):
            explore.check_sql(sql)
