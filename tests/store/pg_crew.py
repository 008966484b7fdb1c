"""A crew of OS processes (spawned, like app servers) that run one call each, released together.

Each worker opens its own Portal (its own connection pool) on the database a task names, waits
at a multiprocessing barrier shared by the crew, runs the task's function and reports what came
of it: the function's result, or the name and message of the PortalError it raised. Anything
else (a traceback a person would see) comes back as "ERROR ..." so the test can fail on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import PortalError
from portal.settings import Settings
from tests.store.test_postgresql import plain_main

# fn(portal, worker index, payload) -> something picklable (usually a short string)
Task = Callable[[Portal, int, Any], Any]


def outcome_of(fn: Task, p: Portal, index: int, payload: Any) -> Any:
    try:
        return fn(p, index, payload)
    except PortalError as exc:
        return f"{type(exc).__name__}: {exc}"
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test
        return "ERROR " + traceback.format_exc()


def _worker(index: int, options: dict[str, Any], tasks: Any, barrier: Any, results: Any) -> None:
    portals: dict[str, tuple[Portal, FixedClock]] = {}
    try:
        while (task := tasks.get()) is not None:
            fn, url, at, payload, keep = task
            if url not in portals:  # a new test's database: the last one is done with
                for done in portals.values():
                    done[0].db.close()
                portals.clear()
                clock = FixedClock(at)
                portals[url] = (open_portal(Settings(db_path=url, **options), clock), clock)
            p, clock = portals[url]
            clock.set(at)
            barrier.wait(timeout=120)
            results.put((index, outcome_of(fn, p, index, payload)))
            if not keep:
                portals.pop(url)[0].db.close()
    except BaseException:  # the parent must hear it, not wait for a result
        results.put((index, "ERROR " + traceback.format_exc()))
        raise
    finally:
        for p, _ in portals.values():
            p.db.close()


class Crew:
    """`size` worker processes; run() hands each one task and returns what each reported."""

    def __init__(self, size: int, options: dict[str, Any]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.size = size
        self._barrier = ctx.Barrier(size)
        self._results = ctx.Queue()
        self._tasks = [ctx.Queue() for _ in range(size)]
        self._procs = [
            ctx.Process(
                target=_worker,
                args=(i, options, self._tasks[i], self._barrier, self._results),
                daemon=True,
            )
            for i in range(size)
        ]
        with plain_main():
            for proc in self._procs:
                proc.start()

    def run(
        self,
        fn: Task,
        url: str,
        at: dt.datetime,
        payloads: Sequence[Any] | None = None,
        keep: bool = True,
    ) -> list[Any]:
        """Every worker runs fn(portal, index, payloads[index]) at once; results by index.

        keep=False closes each worker's Portal on `url` afterwards (a database used once).
        """
        given = list(payloads) if payloads is not None else [None] * self.size
        for i, queue in enumerate(self._tasks):
            queue.put((fn, url, at, given[i], keep))
        got = dict(self._results.get(timeout=180) for _ in range(self.size))
        return [got[i] for i in range(self.size)]

    def stop(self) -> None:
        for queue in self._tasks:
            queue.put(None)
        for proc in self._procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()


@contextlib.contextmanager
def crew(size: int, options: dict[str, Any]) -> Iterator[Crew]:
    started = Crew(size, options)
    try:
        yield started
    finally:
        started.stop()
