"""Figure 7: what a rerun of each page costs when nothing was clicked (AppTest), vs a blank page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from bench import apptest, dataset, pg
from bench.timing import Figure, Series
from portal.clock import FixedClock
from portal.context import Portal


def _reruns(at: AppTest, runs: int, label: str) -> Series:
    at.run()  # first run of this session: not counted
    if at.exception:
        raise RuntimeError(f"{label}: {at.exception[0].value}")
    series = Series(label, "ms")
    for _ in range(runs):
        series.add(apptest.timed_run(at)[0])
    return series


def blank(p: Portal, runs: int) -> Series:
    return _reruns(apptest.app(p, script=apptest.BLANK), runs, "blank page (title + one line)")


def rerun_figures(
    p: Portal, accounts: int, runs: int, baseline: Series, manager: Series | None
) -> list[Figure]:
    who = apptest.identity(p, dataset.people(p).manager)
    pages: dict[str, Series] = {}
    pages["sign_in"] = _reruns(apptest.app(p), runs, "sign-in page, nobody signed in")
    at = apptest.app(p, who)
    pages["home"] = _reruns(at, runs, "My account (2FA on)")
    at.switch_page(apptest.page("two_factor"))
    pages["two_factor"] = _reruns(at, runs, "Configure two-factor authentication (manage view)")
    if manager is not None:
        pages["manager"] = manager
    server = p.db.path if pg.is_url(p.db.path) else None  # any database of that server
    empty = dataset.empty(server=server)
    q = empty.open(FixedClock(dataset.START))
    try:
        pages["first_run"] = _reruns(apptest.app(q), runs, "first run (empty database)")
    finally:
        apptest.use_portal(p)
        q.db.close()
    return [
        Figure(
            f"rerun_{name}",
            f"Rerun of {name} without any action ({accounts:,} accounts), vs a blank page",
            series,
            baseline,
        )
        for name, series in pages.items()
    ]
