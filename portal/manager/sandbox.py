"""The Explore sandbox as seen from the portal: cells run in a child process it can always stop.

DuckDB's own limits do not hold inside the portal's process: its memory_limit covers only the
buffer manager (list_resize, repeat and friends allocate outside it) and an interrupt is seen only
between chunks. So the cells run in `explore_worker.py`, a child with its own memory cap, killed
when a reply is late; the portal only ever receives a result already cut to MAX_ROWS and MAX_BYTES.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from portal.manager.sandbox_values import encode_params

MAX_ROWS = 10_000
MAX_BYTES = 20 * 2**20  # of Arrow data per result: the browser gets all of it
TIME_LIMIT = 5.0  # seconds per cell
MEMORY_CAP = 2**30  # bytes a cell may allocate in the child, beyond the copies it holds
MAX_SQL = 20_000  # characters
KILL_GRACE = 1.0  # seconds past the time limit before the child is killed
START_LIMIT = 30.0  # seconds for the child to start and load the copies
THREADS = 1  # two shared cores: a cell must leave one to the people signing in
BUFFER_LIMIT = 512 * 2**20  # DuckDB's memory_limit: its operators fail cleanly before the cap
MAX_WORKERS = 2  # sandboxes running at once in this process: their memory caps add up
SLOT_WAIT = 10.0  # seconds a Run waits for a free sandbox before saying Explore is busy
WORKER = Path(__file__).with_name("sandbox_worker.py")
BUSY = "Explore is busy with other people's cells: try again in a moment."

_slots = threading.BoundedSemaphore(MAX_WORKERS)


@dataclasses.dataclass(frozen=True)
class Result:
    """What a cell shows: a table (at most MAX_ROWS rows and MAX_BYTES), or the error text."""

    frame: pd.DataFrame | None = None
    error: str | None = None
    truncated: bool = False
    seconds: float = 0.0


def check_sql(sql: str) -> str:
    """The cell's text if it is exactly one SELECT; raises ValueError with the reason otherwise."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise ValueError("The cell is empty: write one SELECT.")
    if len(text) > MAX_SQL:
        raise ValueError(f"Keep a cell under {MAX_SQL} characters.")
    statements = duckdb.extract_statements(text)
    if len(statements) != 1:
        raise ValueError("A cell runs exactly one statement: remove the extra ';'.")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise ValueError("Only SELECT queries can run here: nothing can be changed or attached.")
    return text


class WorkerGone(Exception):
    """The child died ("memory"), was late ("time"), sent too much ("size") or had no slot."""


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Kill and reap the child, close its pipes, give its slot back (once, even on GC)."""
    try:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # unsent bytes to a dead child
                    pipe.close()
    finally:
        _slots.release()


class _Worker:
    """One child process holding the copies; frames over its stdin and stdout."""

    def __init__(self, now: dt.datetime, tables: dict[str, pa.Table]) -> None:
        if not _slots.acquire(timeout=SLOT_WAIT):
            raise WorkerGone("busy")
        try:
            # An empty environment and cwd /: nothing of the portal's (key, paths) to find there.
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={},
                cwd="/",
                start_new_session=True,
            )
        except BaseException:
            _slots.release()
            raise
        # kill() ends the child exactly once, and so does garbage collection or interpreter exit.
        self.kill = weakref.finalize(self, _end, self.proc)
        # A child that stopped reading would block the writes of the copies for ever.
        watchdog = threading.Timer(START_LIMIT, self.proc.kill)
        watchdog.start()
        try:
            self._load(now, tables)
            self.read(time.monotonic() + START_LIMIT, 1024)
        except BaseException:
            self.kill()
            raise
        finally:
            watchdog.cancel()

    def _load(self, now: dt.datetime, tables: dict[str, pa.Table]) -> None:
        config = {
            "now": now.astimezone(dt.UTC).isoformat(),
            "tables": list(tables),
            "threads": THREADS,
            "memory_limit": BUFFER_LIMIT,
            "memory_cap": MEMORY_CAP,
        }
        assert self.proc.stdin is not None
        try:
            self.send(json.dumps(config).encode())
            for table in tables.values():
                with pa.ipc.new_stream(self.proc.stdin, table.schema) as writer:
                    writer.write_table(table)
            self.proc.stdin.flush()
        except (OSError, pa.ArrowException) as exc:  # a broken pipe: it died while loading
            raise WorkerGone("memory") from exc

    def send(self, payload: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(struct.pack(">Q", len(payload)) + payload)
            self.proc.stdin.flush()
        except OSError as exc:
            raise WorkerGone("memory") from exc

    def read(self, deadline: float, limit: int) -> bytes:
        """One frame of at most `limit` bytes, before the deadline, or WorkerGone."""
        (size,) = struct.unpack(">Q", self._read_exact(8, deadline))
        if size > limit:
            raise WorkerGone("size")
        return self._read_exact(size, deadline)

    def _read_exact(self, n: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd, buf = self.proc.stdout.fileno(), bytearray()
        poller = select.poll()  # not select(): a busy server's descriptors pass 1024
        poller.register(fd, select.POLLIN)
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                raise WorkerGone("time")
            chunk = os.read(fd, min(n - len(buf), 2**20))
            if not chunk:
                raise WorkerGone("memory")
            buf += chunk
        return bytes(buf)

    def close(self) -> None:
        """Let the child end on its own (end of input), killing it if it lingers."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class Sandbox:
    """Read-only copies of the user-status and audit views, queried in a child process."""

    def __init__(self, now: dt.datetime, tables: dict[str, pa.Table]) -> None:
        self.now = now
        self._tables = tables
        self._worker: _Worker | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def run(
        self,
        sql: str,
        max_rows: int = MAX_ROWS,
        time_limit: float = TIME_LIMIT,
        max_bytes: int = MAX_BYTES,
        params: Mapping[str, Any] | None = None,
    ) -> Result:
        """Run one cell (its `$name` bound to params); any failure is Result.error."""
        try:
            text = check_sql(sql)
            typed = None if params is None else encode_params(params)
        except (ValueError, duckdb.Error) as exc:
            return Result(error=_message(exc))
        try:
            worker = self._ready()
        except WorkerGone as gone:
            return Result(error=BUSY if str(gone) == "busy" else "The sandbox could not start.")
        request = {"sql": text, "max_rows": max_rows, "max_bytes": max_bytes, "params": typed}
        began = time.perf_counter()
        meta, data = self._ask(worker, request | {"time_limit": time_limit}, max_bytes)
        if "stop" in meta:
            return Result(error=_stopped(meta["stop"], time_limit, max_bytes))
        if "error" in meta:
            return Result(error=_message(meta["error"]))
        try:
            frame = _frame(data)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            return Result(error="This result cannot be shown as a table.")
        return Result(frame, None, bool(meta.get("truncated")), time.perf_counter() - began)

    def _ready(self) -> _Worker:
        """The live worker, or a fresh one if there is none or it died (else WorkerGone)."""
        if self._worker is not None and self._worker.proc.poll() is not None:
            self._worker.kill()
            self._worker = None
        if self._worker is None:
            self._worker = _Worker(self.now, self._tables)
        return self._worker

    def _ask(
        self, worker: _Worker, request: dict[str, Any], max_bytes: int
    ) -> tuple[dict[str, Any], bytes]:
        """The worker's reply; a worker that dies or is late is killed and replaced next time."""
        try:
            worker.send(json.dumps(request).encode())
            deadline = time.monotonic() + float(request["time_limit"]) + KILL_GRACE
            meta = json.loads(worker.read(deadline, 2**20))
            # IPC framing adds a little to the data the child measured against max_bytes.
            return meta, worker.read(deadline, 2 * max_bytes + 2**20)
        except WorkerGone as gone:
            worker.kill()
            self._worker = None
            return {"stop": str(gone)}, b""


def _frame(data: bytes) -> pd.DataFrame:
    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    return table.rename_columns(_unique(table.column_names)).to_pandas()


def _stopped(reason: str, time_limit: float, max_bytes: int) -> str:
    if reason == "time":
        return f"The query took longer than {time_limit:g} seconds and was stopped."
    if reason == "size":
        return (
            f"The result is too large to show (over {max_bytes / 2**20:.3g} MB): "
            "select fewer rows or columns."
        )
    return (
        f"The query needed more memory than a cell may use ({MEMORY_CAP / 2**30:g} GB) "
        "and was stopped."
    )


def _unique(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _message(exc: BaseException | str) -> str:
    text = str(exc).strip()
    return text.split("\n\nLINE")[0].strip() or type(exc).__name__
