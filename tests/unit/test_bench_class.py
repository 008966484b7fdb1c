"""The class benchmark's client signs a person in on a real server and reports what it measured."""

from __future__ import annotations

import math
import time

import pytest

from bench import class30, classroom
from bench.__main__ import summary
from bench.stclient import Tab, run_sync
from bench.timing import Figure, Series


@pytest.fixture(scope="module")
def room():
    # Three learners: the class (0), the first test (1), the server's warm-up (2)
    # (each phone's codes are spent once, so no test waits for the next 30-second step).
    prepared = classroom.prepare(3, rounds=4)
    yield prepared
    classroom.cleanup(prepared)


def test_client_signs_in_with_a_code_and_lands_on_my_account(room):
    who = room.people[1]

    async def walk() -> tuple:
        tab = Tab(server.base_url)
        try:
            run = await tab.open()
            run = await tab.submit(
                run,
                "sign_in",
                "Sign in",
                {"si_username": who.username, "si_password": classroom.PASSWORD},
            )
            code_page = run.shows("6-digit code")
            run = await tab.submit(
                run, "second_factor", "Verify", {"si_code": who.code(time.time())}
            )
            run = await tab.cookie_ops(run)
            return code_page, run, dict(tab.cookies)
        finally:
            await tab.close()

    server = classroom.start(room)
    try:
        code_page, run, cookies = run_sync(walk())
    finally:
        server.stop()
    assert code_page
    assert run.errors == []
    assert run.shows(f"Hello, {who.display_name}")  # My account
    assert cookies.get("portal_session")  # the cookie route was played as a browser plays it


def test_class_run_reports_no_errors_and_positive_figures(room):
    m = class30.measure(room, 1, 4.0, lambda _line: None, think=(0.0, 0.05))
    tally = m["tally"]
    assert tally.errors == []
    # A cycle counts once every step showed what it must: My account after the code, ...
    assert tally.cycles >= 1
    assert tally.times["code"] and min(tally.times["code"]) > 0
    figures = {f.key: f for f in class30.class_report.figures(m)}
    assert set(figures) == {
        "class1_action_ms",
        "class1_errors",
        "class1_mb_per_session",
        "class1_server_cpu",
    }
    assert figures["class1_action_ms"].measured.stat("p95") > 0
    assert figures["class1_errors"].measured.values == [0]
    assert math.isfinite(figures["class1_mb_per_session"].measured.values[0])
    assert figures["class1_server_cpu"].measured.values[0] > 0


def _figure(key: str, value: float, base: float | None = None) -> Figure:
    baseline = Series("baseline", "ms", [base]) if base else None
    return Figure(key, key, Series(key, "ms", [value]), baseline)


def test_full_run_ends_with_six_figures_and_quick_keeps_its_line():
    figures = [
        _figure("login_ratio", 300, 250),
        _figure("code_ms", 9),
        _figure("manager_ms_100k", 90),
        _figure("manager_ms_1M", 280),
        _figure("rerun_home", 35, 7),
        _figure("rerun_manager", 70, 7),
        _figure("class30_action_ms", 640),
    ]
    assert summary(figures, quick=False) == (
        "login_ratio=1.200 code_ms_1m=9.0 manager_ms_1m=280.0 manager_ms_100k=90.0 "
        "rerun_max_ratio=10.000 class30_p95_ms=640.0"
    )
    assert summary(figures) == "login_ratio=1.200 code_ms=9.0 manager_ms_100k=90.0"
