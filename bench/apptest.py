"""AppTest helpers: the real entry script on a bench database, and the bytes each run sends."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from streamlit import logger as st_logger
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

from portal.access import accounts
from portal.context import Portal
from portal.models import Identity
from portal.ui.resources import use_portal
from store import users as user_store

ROOT = Path(__file__).resolve().parent.parent
ENTRY = str(ROOT / "portal" / "app.py")
BLANK = str(Path(__file__).resolve().parent / "blank_page.py")
TIMEOUT = 180


def page(name: str) -> str:
    return str(ROOT / "pages" / f"{name}.py")


def identity(p: Portal, username: str) -> Identity:
    """A signed-in person as the sign-in page leaves them (second factor just given)."""
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, username)
    if user is None:
        raise RuntimeError(f"{username} is missing from the bench database")
    now = p.now()
    return accounts.identity_for(user, now, now)


def quiet() -> None:
    """No "missing ScriptRunContext" warnings: AppTest() writes session state from this thread."""
    st_logger.set_log_level(logging.ERROR)


class PayloadMeter:
    """Adds up ForwardMsg sizes (the serialized protobufs Streamlit sends) while counting."""

    def __init__(self) -> None:
        self.bytes = 0
        self.messages = 0
        self.largest = 0
        self._lock = threading.Lock()

    def __call__(self, msg) -> None:  # type: ignore[no-untyped-def]
        size = msg.ByteSize()
        with self._lock:
            self.bytes += size
            self.messages += 1
            self.largest = max(self.largest, size)

    def reset(self) -> None:
        with self._lock:
            self.bytes = self.messages = self.largest = 0


@contextlib.contextmanager
def metered() -> Iterator[PayloadMeter]:
    meter = PayloadMeter()
    previous = ForwardMsgQueue._before_enqueue_msg

    def hook(msg) -> None:  # type: ignore[no-untyped-def]
        meter(msg)
        if previous is not None:
            previous(msg)

    ForwardMsgQueue.on_before_enqueue_msg(hook)
    try:
        yield meter
    finally:
        ForwardMsgQueue.on_before_enqueue_msg(previous)


def app(p: Portal, who: Identity | None = None, script: str = ENTRY) -> AppTest:
    quiet()
    use_portal(p)
    at = AppTest.from_file(script, default_timeout=TIMEOUT)
    if who is not None:
        at.session_state["identity"] = who
    return at


def timed_run(at: AppTest, meter: PayloadMeter | None = None) -> tuple[float, int]:
    """(ms, bytes sent) of one script run; raises if the script raised."""
    if meter is not None:
        meter.reset()
    t0 = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise RuntimeError(f"the script raised: {at.exception[0].value}")
    return elapsed, meter.bytes if meter is not None else 0
