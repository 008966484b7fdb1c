"""The alternative to the websocket client: the same class in real Chromium pages (playwright).

K pages, each its own browser context (its own cookies), in one headless Debian Chromium as
tests/e2e/harness.py launches it: sign in, code, the 2FA page, My account, sign out, with the
same think time. What it costs the client side: CPU of every process under this one (Chromium,
its renderers, playwright's driver; the server runs in its own process group and is left out)
and their memory (PSS, so shared pages are counted once).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import classroom
from bench.classroom import Person
from bench.stclient import run_sync
from bench.timing import Figure, Series
from tests.e2e import harness

THINK = (2.0, 5.0)


def _children(root: int, skip: int) -> list[int]:
    """Every process below `root`, less the tree of `skip` (the server)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child != skip:
                found.append(child)
                todo.append(child)
    return found


def _cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = classroom.cpu_seconds(pid)
        except OSError:
            continue
    return out


def _pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def _page_walk(browser: Any, base: str, who: Person, stop: float, out: list) -> None:
    from playwright.async_api import expect

    rng = random.Random(who.username)
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await asyncio.sleep(rng.uniform(0, THINK[1]))
        began = time.perf_counter()
        await page.goto(base + "/")
        await expect(page.get_by_label("Username", exact=True)).to_be_visible(timeout=60_000)
        out.append(("open", time.perf_counter() - began))
        while time.monotonic() < stop:
            await _one_walk(page, who, rng, out, expect)
    finally:
        await context.close()


async def _one_walk(page: Any, who: Person, rng: random.Random, out: list, expect: Any) -> None:
    """Sign in, code, the 2FA page, My account, sign out: each timed until its result shows."""
    sidebar = page.get_by_test_id("stSidebar")
    nav = page.get_by_test_id("stSidebarNav")
    steps: list[tuple[str, Callable[[], Any], Any]] = [
        ("password", lambda: _sign_in(page, who), page.get_by_label("Authentication code")),
        ("code", lambda: _code(page, who), page.get_by_role("heading", name="Hello, ")),
        (
            "two_factor",
            lambda: nav.get_by_role("link", name="Two-factor set-up").click(),
            page.get_by_text("View backup codes"),
        ),
        (
            "home",
            lambda: nav.get_by_role("link", name="My account").click(),
            page.get_by_role("heading", name="Hello, "),
        ),
        (
            "sign_out",
            lambda: sidebar.get_by_role("button", name="Sign out").click(),
            page.get_by_text("You are signed out."),
        ),
    ]
    for action, act, shown in steps:
        await asyncio.sleep(rng.uniform(*THINK))
        while action == "code" and who.last_step > int(time.time() // 30):
            await asyncio.sleep(1.0)
        began = time.perf_counter()
        await act()
        await expect(shown).to_be_visible(timeout=60_000)
        out.append((action, time.perf_counter() - began))


async def _sign_in(page: Any, who: Person) -> None:
    await page.get_by_label("Username", exact=True).fill(who.username)
    await page.get_by_label("Password", exact=True).fill(classroom.PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()


async def _code(page: Any, who: Person) -> None:
    await page.get_by_label("Authentication code").fill(who.code(time.time()) or "")
    await page.get_by_role("button", name="Verify", exact=True).click()


async def _pages(base: str, people: list[Person], seconds: float, server_pid: int) -> dict:
    from playwright.async_api import async_playwright

    out: list[tuple[str, float]] = []
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=harness.CHROMIUM_PATH, args=harness.CHROMIUM_ARGS, headless=True
        )
        before = _cpu(_children(os.getpid(), server_pid))
        own0, wall0 = time.process_time(), time.monotonic()
        stop = wall0 + seconds
        walks = [_page_walk(browser, base, who, stop, out) for who in people]
        peak = asyncio.create_task(_peak_pss(server_pid, stop))
        for result in await asyncio.gather(*walks, return_exceptions=True):
            if isinstance(result, BaseException):
                errors.append(f"{type(result).__name__}: {str(result)[:200]}")
        after = _cpu(_children(os.getpid(), server_pid))
        wall, own = time.monotonic() - wall0, time.process_time() - own0
        pss = await peak
        await browser.close()
    spent = sum(after.values()) - sum(before.get(pid, 0.0) for pid in after) + own
    return {"times": out, "errors": errors, "cpu_s": spent, "wall": wall, "pss_peak_mb": pss}


async def _peak_pss(server_pid: int, stop: float) -> float:
    peak = 0.0
    while time.monotonic() < stop:
        peak = max(peak, _pss_mb(_children(os.getpid(), server_pid)))
        await asyncio.sleep(2.0)
    return peak


def browser_figures(k: int, seconds: float, log: Callable[[str], None]) -> list[Figure]:
    """K Chromium pages walking the class's path: client CPU and memory per page."""
    room = classroom.prepare(k)
    server = classroom.start(room, "browser-server.log")
    try:
        load0 = os.getloadavg()
        m = run_sync(_pages(server.base_url, room.people, seconds, server.proc.pid))
    finally:
        server.stop()
        classroom.cleanup(room)
    times = Series("action -> result visible", "ms", [1000 * t for _a, t in m["times"]])
    per_page = 100 * m["cpu_s"] / m["wall"] / k
    log(f"chromium: {k} pages, client CPU {per_page:.1f}% of a core per page")
    extra = {**{key: v for key, v in m.items() if key != "times"}, "load_average": load0}
    return [
        Figure(
            "class_browser_client_cpu_per_page",
            f"{k} Chromium pages: client CPU per page (100 = one core)",
            Series("cpu", "%", [per_page]),
            notes=f"PSS peak {m['pss_peak_mb']:.0f} MB = {m['pss_peak_mb'] / k:.0f} MB per page; "
            f"{len(m['errors'])} errors; actions p95 {times.stat('p95'):.0f} ms",
            extra=extra | {"actions_ms": times.as_dict()},
        )
    ]
