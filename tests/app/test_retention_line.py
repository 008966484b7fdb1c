"""The overview's retention line, on the manager page of each engine."""

from __future__ import annotations

import dataclasses

from portal.context import Portal
from portal.models import Identity
from portal.ops import retention
from tests.app.manager_helpers import open_manager, sign_in, start_app, texts


def test_the_overview_says_how_long_the_audit_trail_is_kept(portal: Portal, boss: Identity) -> None:
    at = open_manager(sign_in(start_app(portal), "boss"))
    assert "Audit trail kept forever (audit_keep_days is 0); oldest event 2026-03-02." in texts(at)
    kept = dataclasses.replace(
        portal, settings=dataclasses.replace(portal.settings, audit_keep_days=90)
    )
    assert retention.prune(kept) == 0
    at = open_manager(sign_in(start_app(kept), "boss"))
    assert "Audit trail kept for 90 days; 0 older events removed so far" in texts(at)
