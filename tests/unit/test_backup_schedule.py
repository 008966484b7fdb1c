"""The server's scheduled backups: due by the clock, stamped names, only backup_keep kept."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal import events
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.ops import backup, schedule
from portal.settings import Settings
from store import audit as audit_store
from tests.conftest import add_user


@pytest.fixture
def scheduled(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[Portal]:
    s = dataclasses.replace(
        settings, backup_dir=str(tmp_path / "backups"), backup_every_hours=6, backup_keep=3
    )
    p = open_portal(s, clock)
    yield p
    schedule.stop(p)
    p.db.close()


def _names(p: Portal) -> list[str]:
    return sorted(path.name for path in Path(p.settings.backup_dir).iterdir())


def _events(p: Portal, name: str) -> list[str | None]:
    with p.db.read() as cur:
        return [e.detail for e in audit_store.list_events(cur) if e.event == name]


def test_backups_follow_the_clock_and_only_the_newest_are_kept(
    scheduled: Portal, clock: FixedClock
) -> None:
    add_user(scheduled, "alice")
    runs = []
    for _ in range(5):
        runs.append(schedule.Scheduler(scheduled).tick())  # a restart keeps the schedule too
        runs.append(schedule.Scheduler(scheduled).tick())  # nothing due a second time
        clock.advance(hours=6)
    assert runs == [["backup"], []] * 5
    assert _names(scheduled) == [
        "portal-20260302T210000Z.duckdb",  # 09:00, 15:00 (the oldest two) were removed
        "portal-20260303T030000Z.duckdb",
        "portal-20260303T090000Z.duckdb",
    ]
    assert len(_events(scheduled, events.BACKUP_MADE)) == 5
    assert Path(scheduled.settings.backup_dir).stat().st_mode & 0o077 == 0


def test_a_failed_backup_is_one_log_line_and_an_audit_event(
    scheduled: Portal, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    Path(scheduled.settings.backup_dir).write_text("a file where the folder should be")
    scheduler = schedule.Scheduler(scheduled)
    with caplog.at_level(logging.WARNING, logger="portal.ops"):
        assert scheduler.tick() == ["backup"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "scheduled backup into" in lines[0] and "\n" not in lines[0]
    assert len(_events(scheduled, events.BACKUP_FAILED)) == 1
    assert scheduler.tick() == []  # not retried every minute...
    clock.advance(hours=1)
    assert scheduler.tick() == ["backup"]  # ...but an hour later
    assert len(_events(scheduled, events.BACKUP_FAILED)) == 2


def test_a_half_written_backup_never_has_the_final_name(scheduled: Portal) -> None:
    folder = Path(scheduled.settings.backup_dir)
    folder.mkdir()
    dest = folder / "portal-20260302T090000Z.duckdb"

    def torn(tmp: str) -> None:
        Path(tmp).write_bytes(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        backup.write_atomically(dest, torn)
    assert list(folder.iterdir()) == []  # neither the final name nor the temporary file
    assert backup.stamped(folder, scheduled.settings.db_path) == []


def test_one_tick_at_a_time_and_one_thread_per_process(scheduled: Portal) -> None:
    scheduler = schedule.Scheduler(scheduled)
    with scheduler._busy:  # another session's tick is at work
        assert scheduler.tick() == []
    first = schedule.start(scheduled, every_seconds=3600)
    assert first is not None and schedule.start(scheduled) is first
    names = [t.name for t in threading.enumerate()]
    assert names.count("portal-ops") == 1


def test_nothing_is_scheduled_by_default(portal: Portal) -> None:
    assert schedule.start(portal) is None
    assert schedule.Scheduler(portal).tick() == []
