"""The server's background work: scheduled DuckDB backups and audit retention, one thread.

start() runs once per process (every Streamlit session shares it); tick() does what is due
and is what the tests call, with the portal's injected clock. A tick never overlaps another.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from pathlib import Path

from portal import events
from portal.context import Portal
from portal.errors import PortalError
from portal.ops import backup, retention
from store import audit as audit_store

LOG = logging.getLogger("portal.ops")
EVERY_SECONDS = 60.0  # how often the thread looks whether something is due
PRUNE_EVERY = dt.timedelta(hours=1)
RETRY_AFTER = dt.timedelta(hours=1)  # a failed backup is tried again this much later


@dataclasses.dataclass
class Scheduler:
    """What is due for one portal; tick() may be called from any thread."""

    p: Portal
    pruned_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    stopped: threading.Event = dataclasses.field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    _busy: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def tick(self) -> list[str]:
        """Run whatever is due now; returns what ran (e.g. ["backup", "retention"])."""
        if not self._busy.acquire(blocking=False):
            return []  # the previous tick is still at work
        try:
            ran = []
            now = self.p.now()
            if self.backup_due(now):
                ran.append("backup")
                self._backup(now)
            if self.p.settings.audit_keep_days > 0 and (
                self.pruned_at is None or now - self.pruned_at >= PRUNE_EVERY
            ):
                ran.append("retention")
                self.pruned_at = now
                self._prune()
            return ran
        finally:
            self._busy.release()

    def backup_due(self, now: dt.datetime) -> bool:
        s = self.p.settings
        if not s.backup_dir or s.backup_every_hours <= 0 or self.p.db.dialect != "duckdb":
            return False
        if self.failed_at is not None and now - self.failed_at < RETRY_AFTER:
            return False
        made = backup.stamped(Path(s.backup_dir), s.db_path)
        return not made or now - made[-1][0] >= dt.timedelta(hours=s.backup_every_hours)

    def _backup(self, now: dt.datetime) -> None:
        s = self.p.settings
        folder = Path(s.backup_dir)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            made = backup.write_from_server(self.p, folder / backup.file_name(s.db_path, now))
            backup.keep_newest(folder, s.db_path, s.backup_keep)
        except (PortalError, OSError) as exc:
            self.failed_at = now
            why = " ".join(str(exc).split()) or type(exc).__name__
            LOG.warning("scheduled backup into %s failed: %s", folder, why)
            self._audit(events.BACKUP_FAILED, why[:500])
            return
        self.failed_at = None
        self._audit(events.BACKUP_MADE, made.name)

    def _prune(self) -> None:
        try:
            retention.prune(self.p)
        except PortalError as exc:
            LOG.warning("audit retention failed: %s", " ".join(str(exc).split()))

    def _audit(self, event: str, detail: str) -> None:
        try:
            with self.p.db.write() as cur:
                audit_store.insert_event(cur, self.p.now(), event, None, None, "scheduler", detail)
        except PortalError as exc:  # the database itself may be what failed: the log has it
            LOG.warning("could not record %s: %s", event, " ".join(str(exc).split()))


_started: dict[str, Scheduler] = {}
_started_lock = threading.Lock()


def start(p: Portal, every_seconds: float = EVERY_SECONDS) -> Scheduler | None:
    """Start the one background thread of this process for p's database; None if nothing to do."""
    s = p.settings
    wanted = (s.backup_dir and s.backup_every_hours > 0) or s.audit_keep_days > 0
    if not wanted:
        return None
    with _started_lock:
        if p.db.path in _started:
            return _started[p.db.path]
        scheduler = _started[p.db.path] = Scheduler(p)

    def loop() -> None:
        while not scheduler.stopped.is_set():  # a daemon: it ends with the process
            try:
                scheduler.tick()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive one bad tick
                LOG.warning("background work failed: %s", " ".join(str(exc).split()))
            scheduler.stopped.wait(every_seconds)

    scheduler.thread = threading.Thread(target=loop, name="portal-ops", daemon=True)
    scheduler.thread.start()
    return scheduler


def stop(p: Portal) -> None:
    """End the background thread for p's database after its current tick (tests, shutdown)."""
    with _started_lock:
        scheduler = _started.pop(p.db.path, None)
    if scheduler is not None:
        scheduler.stopped.set()
        if scheduler.thread is not None:
            scheduler.thread.join(60)
