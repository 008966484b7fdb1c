"""A class on the real server: N people at once, each a Streamlit websocket tab (bench/stclient.py).

Each person opens the portal, signs in with the password, enters the code their phone computes,
then walks My account and the 2FA page (the key for another device, the backup codes) and signs
out, again and again, with 2-5 s of think time before every action. An action's time runs from
its BackMsg to the script_finished of the run that shows its result (the code step includes the
cookie route and the run after it). The server's RSS and CPU come from /proc/<pid>.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import class_report, classroom
from bench.classroom import Classroom, Person
from bench.stclient import Run, Tab, TabError, run_sync
from bench.timing import Figure

THINK = (2.0, 5.0)  # seconds a person reads the page before the next action
PROFILES = Path(__file__).resolve().parent / "cache" / "profiles"

Step = Callable[[Tab, Run, Person], Awaitable[Run]]


@dataclasses.dataclass
class Tally:
    """Everything the people saw: action times, errors, and how many are signed in."""

    n: int
    times: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    errors: list[str] = dataclasses.field(default_factory=list)
    signed_in: set[str] = dataclasses.field(default_factory=set)
    all_in_at: float | None = None  # when all n had signed in at once, first time
    cycles: int = 0
    began: float = dataclasses.field(default_factory=time.monotonic)
    think: tuple[float, float] = THINK

    def add(self, action: str, ms: float) -> None:
        self.times.setdefault(action, []).append(ms)

    def all_times(self) -> list[float]:
        return [t for ts in self.times.values() for t in ts]


async def _code(tab: Tab, run: Run, who: Person) -> Run:
    code = who.code(time.time())
    run = await tab.submit(run, "second_factor", "Verify", {"si_code": code or ""})
    return await tab.cookie_ops(run)  # "Finishing sign-in..." until the cookie route answered


async def _step_up_then(tab: Tab, run: Run, who: Person) -> Run:
    """A 2FA option asks for a fresh code when the last one is older than the window."""
    if run.widget("FormSubmitter:step_up-Confirm") is None:
        return run
    return await tab.submit(run, "step_up", "Confirm", {"mg_code": who.code(time.time()) or ""})


async def _option(tab: Tab, run: Run, who: Person, key: str) -> Run:
    return await _step_up_then(tab, await tab.click(run, key), who)


async def _sign_out(tab: Tab, run: Run, who: Person) -> Run:
    return await tab.cookie_ops(await tab.click(run, "sign_out"))


# (action, what it does, text the page must show after it)
WALK: list[tuple[str, Step, str]] = [
    (
        "password",
        lambda t, r, w: t.submit(
            r,
            "sign_in",
            "Sign in",
            {"si_username": w.username, "si_password": classroom.PASSWORD},
        ),
        "6-digit code",
    ),
    ("code", _code, "Hello, "),
    ("two_factor", lambda t, r, w: t.go("two_factor"), "View backup codes"),
    ("device", lambda t, r, w: _option(t, r, w, "mg_device"), "Scan this code with the other"),
    ("back", lambda t, r, w: t.click(r, "mg_back"), "View backup codes"),
    ("codes", lambda t, r, w: _option(t, r, w, "mg_codes"), "backup codes unused"),
    ("back", lambda t, r, w: t.click(r, "mg_back"), "View backup codes"),
    ("home", lambda t, r, w: t.go(""), "Hello, "),
    ("sign_out", _sign_out, "You are signed out."),
]


async def _think(rng: random.Random, stop: float, think: tuple[float, float]) -> bool:
    """Read the page for a while; False once the run is over."""
    await asyncio.sleep(rng.uniform(*think))
    return time.monotonic() < stop


async def _wait_for_code(who: Person, stop: float) -> None:
    """Both usable time steps spent: the phone shows the next code in a few seconds."""
    while time.monotonic() < stop and who.last_step > int(time.time() // 30):
        await asyncio.sleep(1.0)


async def person(base_url: str, who: Person, tally: Tally, stop: float, seed: int) -> None:
    """One learner, from opening the page until `stop` (monotonic seconds)."""
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, tally.think[1]))  # a class does not click at one instant
    while time.monotonic() < stop:
        tab = Tab(base_url)
        try:
            began = time.perf_counter()
            run = await tab.open()
            tally.add("open", (time.perf_counter() - began) * 1000)
            await _cycles(tab, run, who, tally, stop, rng)
        except (TabError, OSError, TimeoutError, _closed()) as exc:
            tally.errors.append(f"{who.username}: {type(exc).__name__}: {exc}")
            tally.signed_in.discard(who.username)
        finally:
            await tab.close()


async def _cycles(
    tab: Tab, run: Run, who: Person, tally: Tally, stop: float, rng: random.Random
) -> None:
    while True:
        for action, step, expect in WALK:
            if not await _think(rng, stop, tally.think):
                return
            if action == "code":
                await _wait_for_code(who, stop)
                if time.monotonic() >= stop:
                    return
            began = time.perf_counter()
            run = await step(tab, run, who)
            tally.add(action, (time.perf_counter() - began) * 1000)
            if run.errors or not run.shows(expect):
                raise TabError(f"after {action}: {run.errors or 'no ' + repr(expect)}")
            _signed(tally, who, action)
        tally.cycles += 1


def _signed(tally: Tally, who: Person, action: str) -> None:
    if action == "code":
        tally.signed_in.add(who.username)
        if tally.all_in_at is None and len(tally.signed_in) == tally.n:
            tally.all_in_at = time.monotonic()
    elif action == "sign_out":
        tally.signed_in.discard(who.username)


def _closed() -> type[Exception]:
    from websockets.exceptions import ConnectionClosed

    return ConnectionClosed


async def _sample(pid: int, tally: Tally, stop: float, out: dict[str, Any]) -> None:
    """Every second: the server's RSS; the RSS at the moment all n were first signed in."""
    peak = 0.0
    while time.monotonic() < stop:
        rss = classroom.rss_mb(pid)
        peak = max(peak, rss)
        if tally.all_in_at is not None and "rss_all_signed_in_mb" not in out:
            out["rss_all_signed_in_mb"] = rss
        out["rss_peak_mb"] = peak
        await asyncio.sleep(1.0)


async def _class(
    base_url: str, pid: int, people: list[Person], seconds: float, think: tuple[float, float]
) -> tuple[Tally, dict[str, Any]]:
    tally, memory = Tally(len(people), think=think), {}
    stop = time.monotonic() + seconds
    tasks = [person(base_url, who, tally, stop, i) for i, who in enumerate(people)]
    await asyncio.gather(_sample(pid, tally, stop, memory), *tasks)
    return tally, memory


def warm_up(base_url: str, who: Person) -> None:
    """One person through the whole walk first, so idle RSS has every page's imports in it."""

    async def once() -> None:
        tab = Tab(base_url)
        try:
            run = await tab.open()
            for _action, step, _expect in WALK:
                run = await step(tab, run, who)
        finally:
            await tab.close()

    run_sync(once())


def solo_cpu(base_url: str, pid: int, who: Person) -> dict[str, float]:
    """One person alone, no think time: the server's CPU per action (where the time goes), ms."""

    async def once() -> dict[str, float]:
        tab, spent = Tab(base_url), {}
        try:
            run = await tab.open()
            for action, step, _expect in WALK:
                if action == "code":
                    await _wait_for_code(who, time.monotonic() + 60)
                cpu = classroom.cpu_seconds(pid)
                run = await step(tab, run, who)
                await asyncio.sleep(0.05)  # the run's last messages are sent after its finish
                ms = 1000 * (classroom.cpu_seconds(pid) - cpu)
                spent[action] = spent.get(action, 0.0) + ms
        finally:
            await tab.close()
        return spent

    return run_sync(once())


def measure(
    room: Classroom,
    n: int,
    seconds: float,
    log: Callable[[str], None],
    think: tuple[float, float] = THINK,
    sample_to: Path | None = None,
) -> dict[str, Any]:
    """Start the server, warm it up, run n people for `seconds`; the raw measurements."""
    server = classroom.start(room, sample_to=sample_to)
    pid = server.proc.pid
    try:
        warm_up(server.base_url, room.people[-1])
        solo = solo_cpu(server.base_url, pid, room.people[-2 if len(room.people) > 1 else -1])
        time.sleep(2.0)  # let the warm-up's sessions settle (their runs finished, GC ran)
        idle = classroom.rss_mb(pid)
        log(f"class of {n}: server pid {pid}, idle RSS {idle:.1f} MB, {seconds:.0f} s")
        cpu0, wall0, own0 = classroom.cpu_seconds(pid), time.monotonic(), time.process_time()
        load0 = os.getloadavg()
        tally, memory = run_sync(_class(server.base_url, pid, room.people[:n], seconds, think))
        wall = time.monotonic() - wall0
        cpu = classroom.cpu_seconds(pid) - cpu0
        own = time.process_time() - own0
        end_rss = classroom.rss_mb(pid)
        alive = server.is_running()
        time.sleep(3.5 if sample_to else 0)  # the sampler rewrites its file every 3 s
    finally:
        server.stop()
    return {
        "n": n,
        "seconds": wall,
        "tally": tally,
        "idle_rss_mb": idle,
        "end_rss_mb": end_rss,
        **memory,
        "server_cpu_percent": 100 * cpu / wall,
        "server_cpu_s": cpu,
        "checkpw_cpu_ms": class_report.checkpw_cpu_ms(),
        "client_cpu_percent": 100 * own / wall,
        "load_average": [load0, os.getloadavg()],
        "server_alive": alive,
        "think_s": think,
        "solo_cpu_ms": solo,
        "server_streamlit_env": {
            k: v for k, v in os.environ.items() if k.startswith("STREAMLIT_RUNNER")
        },
    }


def class_figures(
    n: int, seconds: float, log: Callable[[str], None], profile: bool = False
) -> list[Figure]:
    """Prepare a database for n people, run the class, clean up; the figures.

    With `profile`, the server's stacks are sampled into bench/cache/profiles/class<n>.json.
    """
    began = time.perf_counter()
    room = classroom.prepare(n)
    log(f"class database for {n} people in {time.perf_counter() - began:.1f} s")
    sample_to = PROFILES / f"class{n}.json" if profile else None
    if sample_to is not None:
        sample_to.parent.mkdir(parents=True, exist_ok=True)
    try:
        figures = class_report.figures(measure(room, n, seconds, log, sample_to=sample_to))
    finally:
        classroom.cleanup(room)
    if sample_to is not None:
        log(f"server stacks of the class sampled into {sample_to}")
    return figures
