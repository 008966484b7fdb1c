"""The accounts table: search, filters, sort and paging (all in SQL), CSV export, row actions."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from portal.context import Portal
from portal.manager import reports
from portal.models import USER_COLUMNS, Identity, Role, TwoFactorStatus, UserQuery, UserRow
from portal.ui.manager import actions as action_panel
from portal.ui.manager import keys

SORT_LABELS = {
    "username": "Username",
    "display_name": "Display name",
    "status": "2FA status",
    "role": "Role",
    "enrolled_at": "Enrolled at",
    "last_sign_in_at": "Last sign-in",
    "backup_codes_left": "Backup codes left",
    "failed_attempts": "Failed attempts",
    "created_at": "Created",
}
ONLY = ("Locked out", "Disabled", "Backup codes low")
SHOWN = [
    "username",
    "display_name",
    "role",
    "status",
    "enrolled_at",
    "last_sign_in_at",
    "backup_codes_left",
    "failed_attempts",
    "locked",
    "disabled",
]
COLUMNS = {
    "username": st.column_config.TextColumn("Username"),
    "display_name": st.column_config.TextColumn("Display name"),
    "role": st.column_config.TextColumn("Role"),
    "status": st.column_config.TextColumn("2FA status"),
    "enrolled_at": st.column_config.DatetimeColumn("Enrolled at", format="YYYY-MM-DD HH:mm"),
    "last_sign_in_at": st.column_config.DatetimeColumn("Last sign-in", format="YYYY-MM-DD HH:mm"),
    "backup_codes_left": st.column_config.NumberColumn("Backup codes left"),
    "failed_attempts": st.column_config.NumberColumn("Failed attempts"),
    "locked": st.column_config.CheckboxColumn("Locked out"),
    "disabled": st.column_config.CheckboxColumn("Disabled"),
}


def _fresh_view() -> None:
    """Filters changed: back to page 1, and drop a selection that pointed at other rows."""
    st.session_state[keys.PAGE] = 1
    st.session_state[keys.TABLE_GEN] = st.session_state.get(keys.TABLE_GEN, 0) + 1


def query(portal: Portal) -> UserQuery:
    only = st.session_state.get(keys.ONLY, [])
    return UserQuery(
        search=st.session_state.get(keys.SEARCH, ""),
        statuses=tuple(st.session_state.get(keys.STATUS, [])),
        roles=tuple(st.session_state.get(keys.ROLE, [])),
        locked_only="Locked out" in only,
        disabled_only="Disabled" in only,
        codes_low_at=portal.settings.backup_codes_low if "Backup codes low" in only else None,
        sort=st.session_state.get(keys.SORT, "username"),
        descending=bool(st.session_state.get(keys.DESC, False)),
    )


def filters() -> None:
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
    c1.text_input(
        "Search",
        key=keys.SEARCH,
        placeholder="username or name",
        max_chars=100,
        on_change=_fresh_view,
    )
    c2.multiselect(
        "2FA status", [s.value for s in TwoFactorStatus], key=keys.STATUS, on_change=_fresh_view
    )
    c3.multiselect("Role", [r.value for r in Role], key=keys.ROLE, on_change=_fresh_view)
    c4.multiselect("Show only", ONLY, key=keys.ONLY, on_change=_fresh_view)
    s1, s2, _ = st.columns([2, 1, 4], vertical_alignment="bottom")
    s1.selectbox(
        "Sort by",
        list(SORT_LABELS),
        format_func=SORT_LABELS.__getitem__,
        key=keys.SORT,
        on_change=_fresh_view,
    )
    s2.toggle("Descending", key=keys.DESC, on_change=_fresh_view)


def frame(rows: list[UserRow]) -> pd.DataFrame:
    data = [dataclasses.asdict(r) for r in rows]
    df = pd.DataFrame(data, columns=list(USER_COLUMNS))
    df["status"] = [str(s) for s in df["status"]]
    return df


def render(portal: Portal, who: Identity) -> None:
    filters()
    q = query(portal)
    page = reports.accounts_page(portal, who, q, int(st.session_state.get(keys.PAGE, 1)))
    st.session_state[keys.PAGE] = page.page  # clamped, e.g. after the view shrank
    df = frame(page.rows)
    event = st.dataframe(
        df,
        key=keys.table_key(st.session_state),
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        column_order=SHOWN,
        column_config=COLUMNS,
    )
    chosen = [page.rows[i] for i in event.selection.rows if 0 <= i < len(page.rows)]
    p1, p2, p3 = st.columns([1, 3, 2], vertical_alignment="center")
    p1.number_input("Page", min_value=1, step=1, key=keys.PAGE, on_change=_drop_selection)
    p2.caption(f"{page.total:,} account(s) match · page {page.page} of {page.pages}")
    p3.download_button(
        "Download this view (CSV)",
        data=lambda: reports.users_csv(portal, who, q),
        file_name=f"accounts-{portal.now():%Y%m%d-%H%M}.csv",
        mime="text/csv",
        key=keys.CSV,
        on_click="ignore",
        help=f"All matching accounts, up to {reports.CSV_LIMIT:,} rows.",
    )
    action_panel.buttons(chosen)


def _drop_selection() -> None:
    st.session_state[keys.TABLE_GEN] = st.session_state.get(keys.TABLE_GEN, 0) + 1
