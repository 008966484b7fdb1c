"""Audit retention (audit_keep_days): old events are removed in small batches, and counted.

Each batch is its own short transaction (never one giant DELETE holding the trail), takes
only ids up to the newest one older than the cutoff, and adds its count to the running total
in the same transaction. A run that removed anything writes one audit event with its count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from portal import events
from portal.context import Portal
from portal.manager.guard import require_manager
from portal.models import Identity
from store import Cursor
from store import audit as audit_store
from store import audit_retention as retention_store

BATCH = 5_000  # rows per transaction


@dataclasses.dataclass(frozen=True)
class Retention:
    """What the manager's overview says about the audit trail's age."""

    keep_days: int  # 0: forever
    removed: int  # events removed by retention so far
    oldest: dt.datetime | None


def prune(p: Portal, batch: int = BATCH) -> int:
    """Remove events older than audit_keep_days, batch by batch; returns how many went."""
    days = p.settings.audit_keep_days
    if days <= 0:
        return 0
    now = p.now()
    cutoff = now - dt.timedelta(days=days)
    with p.db.read() as cur:
        up_to = retention_store.get_last_id_before(cur, cutoff)
    removed = 0
    while up_to is not None:

        def one(cur: Cursor) -> int:
            count = retention_store.delete_batch(cur, up_to, cutoff, batch)
            retention_store.update_removed(cur, count, now)
            return count

        count = p.db.transact(one)
        removed += count
        if count < batch:
            break
    if removed:
        detail = f"{removed} events older than {days} days removed"
        with p.db.write() as cur:
            audit_store.insert_event(
                cur, p.now(), events.AUDIT_PRUNED, None, None, "retention", detail
            )
    return removed


def summary(p: Portal, actor: Identity) -> Retention:
    """The retention figures for the overview; managers only."""
    with p.db.read() as cur:
        require_manager(p, cur, actor)
        return Retention(
            p.settings.audit_keep_days,
            retention_store.get_removed(cur),
            retention_store.get_oldest_event_at(cur),
        )
