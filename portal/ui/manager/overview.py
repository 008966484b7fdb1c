"""The overview above the tabs: how many accounts in each 2FA state, and enrolments over time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from portal.context import Portal
from portal.manager import guard, reports
from portal.models import Identity
from portal.ui.manager import keys
from portal.ui.manager.retention import text as retention_text

_AGE_HELP = (
    f"Counted at most {reports.SNAPSHOT_SECONDS} s ago (a million accounts take a moment to "
    "count), and so are the table's rows; your own changes show at once. Refresh counts and "
    "reads again now."
)


REFRESH = "sm_overview_refresh"


def forget(p: Portal) -> None:
    """After a change the page made: this session's rows and every manager's counts afresh."""
    st.session_state.pop(keys.TABLE_CACHE, None)
    reports.forget_snapshot(p)


def _refresh() -> None:
    st.session_state[REFRESH] = True
    st.session_state.pop(keys.TABLE_CACHE, None)


def age_label(as_of: dt.datetime, now: dt.datetime) -> str:
    """'as of 12:03:05 UTC, 4 s ago': how old the counts on the page are."""
    seconds = max(0, int((now - as_of).total_seconds()))
    return f"Counts as of {as_of.astimezone(dt.UTC):%H:%M:%S} UTC, {seconds} s ago"


def _chart_spec() -> dict[str, Any]:
    """A bar chart as a plain Vega-Lite spec (Altair validates its schema on every rerun)."""
    return {
        "mark": {"type": "bar"},
        "height": 180,
        "encoding": {
            "x": {"field": "day", "type": "temporal", "title": "day"},
            "y": {"field": "enrolments", "type": "quantitative", "title": "enrolments"},
            "tooltip": [{"field": "day", "type": "temporal"}, {"field": "enrolments"}],
        },
    }


def render(portal: Portal, who: Identity, checked: guard.Checked | None = None) -> None:
    refresh = bool(st.session_state.pop(REFRESH, False))
    snap = reports.snapshot(portal, who, refresh, checked)
    o = snap.overview
    low = portal.settings.backup_codes_low
    first = st.columns(4)
    first[0].metric("Accounts", f"{o.accounts:,}")
    first[1].metric("2FA enabled", f"{o.enabled:,}")
    first[2].metric("Pending", f"{o.pending:,}", help="Set-up started but not finished.")
    first[3].metric("Not enrolled", f"{o.off:,}")
    second = st.columns(4)
    second[0].metric(
        "Reset granted", f"{o.reset_granted:,}", help="Waiting for their next sign-in."
    )
    second[1].metric("Locked out", f"{o.locked:,}")
    second[2].metric(
        "Backup codes low", f"{o.codes_low:,}", help=f"2FA on with {low} or fewer codes left."
    )
    second[3].metric("Disabled", f"{o.disabled:,}")
    age, button = st.columns([5, 1], vertical_alignment="center")
    age.caption(age_label(snap.as_of, portal.now()), help=_AGE_HELP)
    button.button("Refresh", key=REFRESH + "_button", on_click=_refresh, icon="🔄")
    if snap.disputed:
        st.warning(
            f'{snap.disputed:,} "No, it wasn\'t me" report(s) in the last 30 days: see the '
            '*Audit trail* tab, event *Reported "not me"*.',
            icon="🚩",
        )
    chart = pd.DataFrame(snap.enrolments, columns=["day", "enrolments"])
    with st.expander("Enrolments over the last 90 days", expanded=True):
        if chart["enrolments"].sum():
            st.vega_lite_chart(chart, _chart_spec(), width="stretch")
        else:
            st.caption("Nobody completed the set-up in the last 90 days.")
    st.caption(retention_text(snap.retention))  # counted with the overview
