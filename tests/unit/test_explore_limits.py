"""Hostile Explore cells stop as cell errors in bounded time, without growing the portal process."""

from __future__ import annotations

import os
import resource
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.context import Portal
from portal.manager import explore, sandbox
from portal.models import Role
from tests.conftest import add_user

GB = 1024**3
HOSTILE = {
    # its list is not allocated through DuckDB's buffer manager: memory_limit never sees it
    "list_resize": "SELECT list_resize([1], 1000000000)",
    "one huge string": "SELECT repeat('x', 2000000000)",
    "huge list aggregate": "SELECT list(range) FROM range(1000000000)",
    "cross join": "SELECT count(*) FROM range(1000000) a, range(1000000) b",
    "huge range": "SELECT sum(range) FROM range(1000000000000)",
    "wide rows": "SELECT repeat('x', 100000) AS s FROM range(10000)",
    "endless recursion": (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    ),
    "doubling recursion": (
        "WITH RECURSIVE r(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM r) "
        "SELECT max(length(s)) FROM r"
    ),
}
STOPPED = ("took longer than", "too large", "more memory")


def peak_rss() -> int:
    """This process's peak resident set (VmHWM), in bytes."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def children_peak_rss() -> int:
    """The largest peak resident set of any finished child process, in bytes."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


@pytest.fixture
def box(portal: Portal) -> Iterator[explore.Sandbox]:
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    with explore.open_sandbox(portal, boss) as sandbox:
        yield sandbox


def test_hostile_cells_stop_as_cell_errors_in_bounded_time_and_memory(
    box: explore.Sandbox,
) -> None:
    before = peak_rss()
    wrong = []
    for name, sql in HOSTILE.items():
        began = time.monotonic()
        result = box.run(sql)
        took = time.monotonic() - began
        stopped = result.frame is None and any(s in (result.error or "") for s in STOPPED)
        grew = (peak_rss() - before) / GB
        if not stopped or took > 20 or grew > 1:
            wrong.append(f"{name}: {took:.1f} s, +{grew:.2f} GB, {(result.error or '')[:60]!r}")
        assert box.run("SELECT 42 AS answer").frame is not None  # the next cell still runs
    box.close()
    assert wrong == []
    assert children_peak_rss() < 2 * GB


def test_results_are_capped_in_bytes_not_only_rows(box: explore.Sandbox) -> None:
    sql = "SELECT repeat('x', 1000) AS s FROM range(100)"  # 100 rows, about 100 KB
    refused = box.run(sql, max_bytes=50_000)
    assert refused.frame is None and "too large" in (refused.error or "")
    shown = box.run(sql, max_bytes=1_000_000)
    assert shown.error is None and shown.frame is not None and len(shown.frame) == 100


def test_a_slow_cell_is_stopped_even_inside_one_function_call(box: explore.Sandbox) -> None:
    # DuckDB checks for an interrupt between chunks: this one call alone runs for 20 s or so
    # here, so 8 s proves the stop and still leaves room for a busy machine (seen: 3.1 s).
    began = time.monotonic()
    result = box.run("SELECT len(list_resize([1], 50000000)) AS n", time_limit=0.5)
    assert "took longer than 0.5 seconds" in (result.error or "")
    assert time.monotonic() - began < 8


def test_a_dead_sandbox_process_is_replaced(box: explore.Sandbox) -> None:
    assert box.run("SELECT 1 AS one").frame is not None
    worker = box._worker
    assert worker is not None
    os.kill(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    result = box.run("SELECT count(*) AS n FROM user_status")
    assert result.frame is not None and result.frame["n"][0] == 1


def test_the_sandbox_process_has_no_environment_and_no_portal_files(
    portal: Portal, box: explore.Sandbox
) -> None:
    box.run("SELECT 1")
    assert box._worker is not None
    pid = box._worker.proc.pid
    assert Path(f"/proc/{pid}/environ").read_bytes() == b""  # no key, no paths
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    opened = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    data_dir = str(Path(portal.settings.db_path).parent)
    assert not [f for f in opened if f.startswith(data_dir)], opened  # not the live database


def test_only_a_few_sandboxes_run_at_once(
    portal: Portal, box: explore.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "SLOT_WAIT", 0.1)
    boss = add_user(portal, "boss2", Role.SECURITY_MANAGER)
    more = sandbox.MAX_WORKERS
    opened = [box] + [explore.open_sandbox(portal, boss) for _ in range(more)]
    try:
        answers = [b.run("SELECT 1 AS one") for b in opened]
        assert [a.error for a in answers[:-1]] == [None] * more
        assert answers[-1].error == sandbox.BUSY  # their memory caps would add up
        opened[0].close()
        assert opened[-1].run("SELECT 1 AS one").error is None  # a freed slot is used
    finally:
        for b in opened:
            b.close()
