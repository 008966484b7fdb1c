"""One line under the overview: how long the audit trail is kept, and what retention removed."""

from __future__ import annotations

from portal.ops import retention


def text(r: retention.Retention) -> str:
    """The line itself (numbers and dates only: nothing from a request)."""
    oldest = f"oldest event {r.oldest:%Y-%m-%d}" if r.oldest else "no events yet"
    if r.keep_days <= 0:
        return f"Audit trail kept forever (audit_keep_days is 0); {oldest}."
    return (
        f"Audit trail kept for {r.keep_days:,} days; {r.removed:,} older events removed so "
        f"far; {oldest}."
    )
