"""Audit retention on both engines: old events go in small batches, counted; newer ones stay."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal import events
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.errors import PermissionDenied
from portal.manager import explore
from portal.models import Role
from portal.ops import retention, schedule
from portal.settings import Settings
from portal.ui.manager.retention import text
from store import audit as audit_store
from store import audit_retention as retention_store
from tests.conftest import add_user
from tests.store.conftest import database_target

DAY = dt.timedelta(days=1)


@pytest.fixture
def kept(backend: str, settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[Portal]:
    """A portal on this backend keeping 30 days of audit trail."""
    s = dataclasses.replace(
        settings, db_path=database_target(backend, tmp_path), audit_keep_days=30
    )
    p = open_portal(s, clock)
    yield p
    p.db.close()


def _seed(p: Portal, ages_in_days: list[float]) -> None:
    """Audit rows this many days before now, oldest first (ids in time order)."""
    with p.db.write() as cur:
        for age in sorted(ages_in_days, reverse=True):
            audit_store.insert_event(cur, p.now() - age * DAY, "seeded", None, "x", "t", None)


def _ages(p: Portal) -> list[float]:
    with p.db.read() as cur:
        rows = cur.execute("SELECT occurred_at FROM audit WHERE event = 'seeded'").fetchall()
    return sorted((p.now() - r[0]) / DAY for r in rows)


def test_a_batch_deletes_at_most_its_limit_of_the_oldest_rows(kept: Portal) -> None:
    _seed(kept, [40, 39, 38, 37, 31, 29])
    cutoff = kept.now() - 30 * DAY
    with kept.db.read() as cur:
        up_to = retention_store.get_last_id_before(cur, cutoff)
    assert up_to is not None
    with kept.db.write() as cur:
        assert retention_store.delete_batch(cur, up_to, cutoff, 3) == 3
    assert _ages(kept) == [29, 31, 37]


def test_prune_removes_what_is_older_than_the_setting_counts_it_and_audits_once(
    kept: Portal, clock: FixedClock
) -> None:
    _seed(kept, [400, 90, 45, 31, 30.5, 30, 29.9, 1, 0])
    assert retention.prune(kept, batch=2) == 5  # three batches of at most 2 rows
    assert _ages(kept) == [0, 1, 29.9, 30]  # exactly 30 days old is still kept
    with kept.db.read() as cur:
        assert retention_store.get_removed(cur) == 5
        runs = [e for e in audit_store.list_events(cur) if e.event == events.AUDIT_PRUNED]
    assert [e.detail for e in runs] == ["5 events older than 30 days removed"]
    assert retention.prune(kept, batch=2) == 0  # nothing left: no event either
    clock.advance(days=2)
    assert retention.prune(kept) == 2  # the rows of 30 and 29.9 days are now over 31 old
    with kept.db.read() as cur:
        assert retention_store.get_removed(cur) == 7


def test_the_scheduler_prunes_hourly_and_keep_forever_prunes_nothing(
    kept: Portal, clock: FixedClock
) -> None:
    _seed(kept, [60, 1])
    scheduler = schedule.Scheduler(kept)
    assert scheduler.tick() == ["retention"] and _ages(kept) == [1]
    assert scheduler.tick() == []
    clock.advance(hours=1)
    assert scheduler.tick() == ["retention"]
    forever = dataclasses.replace(
        kept, settings=dataclasses.replace(kept.settings, audit_keep_days=0)
    )
    _seed(forever, [5000])
    assert retention.prune(forever) == 0 and schedule.Scheduler(forever).tick() == []


def test_the_overview_line_and_the_explore_window_follow_the_setting(kept: Portal) -> None:
    boss = add_user(kept, "boss", Role.SECURITY_MANAGER)
    alice = add_user(kept, "alice")
    _seed(kept, [45, 31, 10])
    with pytest.raises(PermissionDenied):
        retention.summary(kept, alice)
    box = explore.open_sandbox(kept, boss)  # not pruned yet: the copy still covers 30 days
    with box:
        oldest = box.run("SELECT count(*) AS n FROM audit WHERE event = 'seeded'")
    assert oldest.frame is not None and oldest.frame["n"].tolist() == [1]
    retention.prune(kept)
    line = text(retention.summary(kept, boss))  # the oldest left is 10 days before START
    assert line == (
        "Audit trail kept for 30 days; 2 older events removed so far; oldest event 2026-02-20."
    )
