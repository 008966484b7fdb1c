"""The audit trail tab: read-only, newest first, filtered by person, event and dates; CSV export."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

from portal import events
from portal.context import Portal
from portal.manager import reports
from portal.models import AUDIT_COLUMNS, AuditEvent, AuditQuery, Identity
from portal.ui.manager import keys

COLUMNS = {
    "occurred_at": st.column_config.DatetimeColumn(
        "When (UTC)", format="YYYY-MM-DD HH:mm:ss", width=150
    ),
    "label": st.column_config.TextColumn("Event", width=190),
    "actor": st.column_config.TextColumn("By", width=90),
    "subject": st.column_config.TextColumn("Account", width=90),
    "source": st.column_config.TextColumn("From", width=130),
    "detail": st.column_config.TextColumn("Detail", width=230),
    "event": st.column_config.TextColumn(
        "Name in Explore", width=170, help="The event column of Explore's audit table."
    ),
}


def frame(rows: list[AuditEvent]) -> pd.DataFrame:
    """The page of events as shown: readable event names first, the raw name kept for Explore."""
    df = pd.DataFrame([dataclasses.asdict(e) for e in rows], columns=list(AUDIT_COLUMNS))
    df["label"] = [events.label(name) for name in df["event"]]
    # No "None" in a cell: an event without an actor (e.g. a lockout) was the portal's own.
    for column in ("actor", "subject", "source", "detail"):
        df[column] = df[column].fillna("")
    return df


def _first_page() -> None:
    st.session_state[keys.AU_PAGE] = 1


def filters() -> AuditQuery:
    """Person, events (by their readable names) and dates; the query they make."""
    c1, c2, c3 = st.columns([2, 3, 2])
    c1.text_input(
        "Person", key=keys.AU_PERSON, max_chars=100, on_change=_first_page, placeholder="username"
    )
    c2.multiselect(
        "Events",
        sorted(events.ALL, key=events.label),
        format_func=events.label,
        key=keys.AU_EVENTS,
        on_change=_first_page,
    )
    c3.date_input("Dates (UTC)", value=[], key=keys.AU_DATES, on_change=_first_page)
    days: tuple[dt.date, ...] = tuple(st.session_state.get(keys.AU_DATES) or ())
    return reports.audit_query(
        st.session_state.get(keys.AU_PERSON, ""),
        st.session_state.get(keys.AU_EVENTS, []),
        days[0] if days else None,
        days[-1] if days else None,
    )


def render(portal: Portal, who: Identity) -> None:
    query = filters()
    page = reports.audit_trail(portal, who, query, int(st.session_state.get(keys.AU_PAGE, 1)))
    st.session_state[keys.AU_PAGE] = page.page
    st.dataframe(
        frame(page.rows),
        hide_index=True,
        column_order=list(COLUMNS),
        column_config=COLUMNS,
        placeholder="",
    )
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
