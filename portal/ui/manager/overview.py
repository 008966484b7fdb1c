"""The overview above the tabs: how many accounts in each 2FA state, and enrolments over time."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from portal.context import Portal
from portal.manager import reports
from portal.models import Identity


def render(portal: Portal, who: Identity) -> None:
    o = reports.overview(portal, who)
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
    disputed = reports.disputed_notices(portal, who, 30)
    if disputed:
        st.warning(
            f'{disputed:,} "No, it wasn\'t me" report(s) in the last 30 days: see the '
            '*Audit trail* tab, event *Reported "not me"*.',
            icon="🚩",
        )
    days = reports.enrolments_by_day(portal, who, 90)
    chart = pd.DataFrame(days, columns=["day", "enrolments"])
    with st.expander("Enrolments over the last 90 days", expanded=True):
        if chart["enrolments"].sum():
            st.bar_chart(chart, x="day", y="enrolments", height=180)
        else:
            st.caption("Nobody completed the set-up in the last 90 days.")
