"""`portal user list --csv` and `portal audit export`, on a DuckDB file and on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from portal.manager import breakglass
from portal.models import AUDIT_COLUMNS, USER_COLUMNS
from store import audit as audit_store
from tests.conftest import add_user
from tests.unit import cli_helpers
from tests.unit.cli_helpers import Target, run

target = cli_helpers.target  # the fixture: a DuckDB file and a PostgreSQL database
DAY = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _trail(t: Target, days: int = 5) -> None:
    """Two events on each of `days` days from DAY, one with a subject that is a formula."""

    def write(cur) -> None:
        for d in range(days):
            at = DAY + dt.timedelta(days=d)
            audit_store.insert_event(cur, at, "sign_in_ok", None, f"u{d}", "10.0.0.1", "ok")
            audit_store.insert_event(cur, at, "sign_in_failed", None, "=1+1", "-2", "@SUM(1)")

    with t.portal() as p:
        p.db.transact(write)


def test_user_list_csv_is_the_manager_columns_and_spreadsheet_safe(target, capsys):
    with target.portal() as p:
        add_user(p, "alice", display='=HYPERLINK("http://evil")')
        add_user(p, "bob", display="+Bob")
    code, out, err = run(target, capsys, "user", "list", "--csv")
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == USER_COLUMNS
    shown = {r[1]: r[2] for r in rows[1:]}
    assert shown == {"alice": '\'=HYPERLINK("http://evil")', "bob": "'+Bob"}


def test_audit_export_csv_keeps_the_days_asked_for_oldest_first(target, capsys):
    _trail(target)
    argv = ("audit", "export", "--since", "2026-03-02", "--until", "2026-03-03", "--csv")
    code, out, err = run(target, capsys, *argv)
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == AUDIT_COLUMNS
    body = [r for r in rows[1:] if r[2].startswith("sign_in")]  # the set-up adds none here
    assert [r[1][:10] for r in body] == ["2026-03-02"] * 2 + ["2026-03-03"] * 2
    assert [int(r[0]) for r in body] == sorted(int(r[0]) for r in body)
    failed = [r for r in body if r[2] == "sign_in_failed"]
    assert {(r[4], r[5], r[6]) for r in failed} == {("'=1+1", "'-2", "'@SUM(1)")}


def test_audit_export_json_lines_is_one_object_per_event(target, capsys):
    _trail(target, days=3)
    code, out, _ = run(target, capsys, "audit", "export", "--json", "--since", "2026-03-01")
    assert code == 0
    items = [json.loads(line) for line in out.splitlines()]
    ours = [i for i in items if i["event"].startswith("sign_in")]
    assert len(ours) == 6 and set(ours[0]) == set(AUDIT_COLUMNS)
    assert ours[1]["subject"] == "=1+1"  # JSON is data, not a spreadsheet: kept as it was
    assert ours[0]["occurred_at"] == "2026-03-01 12:00:00+00:00"


def test_audit_rows_come_in_batches_and_none_is_lost_or_repeated(target):
    _trail(target, days=7)
    start, end = DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=6)
    with target.portal() as p:
        rows = list(breakglass.audit_rows(p, start, end, batch=3))  # 10 rows: 4 queries
        with p.db.read() as cur:
            everything = audit_store.list_events(cur, limit=1000)
    expected = sorted(e.id for e in everything if start <= e.occurred_at < end)
    assert [r[0] for r in rows] == expected and len(expected) == 10


def test_a_bad_day_is_one_line(target, capsys):
    code, out, err = run(target, capsys, "audit", "export", "--since", "March 2")
    assert code == 2 and out == "" and "--since takes a day as YYYY-MM-DD" in err
    assert len(err.strip().splitlines()) == 1
