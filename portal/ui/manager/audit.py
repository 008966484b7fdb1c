"""The audit trail tab: read-only, newest first, filtered by person, event and dates; CSV export."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

from portal import events
from portal.context import Portal
from portal.manager import reports
from portal.models import AUDIT_COLUMNS, Identity
from portal.ui.manager import keys

COLUMNS = {
    "occurred_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "event": st.column_config.TextColumn("Event"),
    "actor": st.column_config.TextColumn("By"),
    "subject": st.column_config.TextColumn("Account"),
    "source": st.column_config.TextColumn("From"),
    "detail": st.column_config.TextColumn("Detail"),
}


def _first_page() -> None:
    st.session_state[keys.AU_PAGE] = 1


def render(portal: Portal, who: Identity) -> None:
    c1, c2, c3 = st.columns([2, 3, 2])
    c1.text_input(
        "Person", key=keys.AU_PERSON, max_chars=100, on_change=_first_page, placeholder="username"
    )
    c2.multiselect("Events", events.ALL, key=keys.AU_EVENTS, on_change=_first_page)
    c3.date_input("Dates (UTC)", value=[], key=keys.AU_DATES, on_change=_first_page)
    days: tuple[dt.date, ...] = tuple(st.session_state.get(keys.AU_DATES) or ())
    query = reports.audit_query(
        st.session_state.get(keys.AU_PERSON, ""),
        st.session_state.get(keys.AU_EVENTS, []),
        days[0] if days else None,
        days[-1] if days else None,
    )
    page = reports.audit_trail(portal, who, query, int(st.session_state.get(keys.AU_PAGE, 1)))
    st.session_state[keys.AU_PAGE] = page.page
    frame = pd.DataFrame([dataclasses.asdict(e) for e in page.rows], columns=list(AUDIT_COLUMNS))
    st.dataframe(frame, hide_index=True, column_order=list(COLUMNS), column_config=COLUMNS)
    p1, p2, p3 = st.columns([1, 3, 2], vertical_alignment="center")
    p1.number_input("Page", min_value=1, step=1, key=keys.AU_PAGE)
    p2.caption(f"{page.total:,} event(s) · page {page.page} of {page.pages} · newest first")
    p3.download_button(
        "Download these events (CSV)",
        data=lambda: reports.audit_csv(portal, who, query),
        file_name=f"audit-{portal.now():%Y%m%d-%H%M}.csv",
        mime="text/csv",
        key=keys.AU_CSV,
        on_click="ignore",
        help=f"All matching events, up to {reports.CSV_LIMIT:,} rows.",
    )
