"""The accounts table: search, filters, sort and paging (all in SQL), CSV export, row actions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from portal.context import Portal
from portal.manager import guard, reports
from portal.models import USER_COLUMNS, Identity, Role, TwoFactorStatus, UserQuery, UserRow
from portal.ui.manager import actions as action_panel
from portal.ui.manager import keys
from portal.ui.manager.words import role_label

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
# Role, 2FA status, Locked out and Disabled first: at 1280 px (sidebar open) they are all in
# view; the dates and counts after them may need a scroll.
SHOWN = [
    "username",
    "display_name",
    "role",
    "status",
    "locked",
    "disabled",
    "enrolled_at",
    "last_sign_in_at",
    "backup_codes_left",
    "failed_attempts",
]
COLUMNS = {
    "username": st.column_config.TextColumn("Username", width=105),
    "display_name": st.column_config.TextColumn("Display name", width=135),
    "role": st.column_config.TextColumn("Role", width=125),
    "status": st.column_config.TextColumn("2FA status", width=105),
    "locked": st.column_config.CheckboxColumn("Locked out", width=85),
    "disabled": st.column_config.CheckboxColumn("Disabled", width=75),
    "enrolled_at": st.column_config.TextColumn("Enrolled", width=95, help="UTC date"),
    "last_sign_in_at": st.column_config.TextColumn("Last sign-in", width=125, help="UTC"),
    "backup_codes_left": st.column_config.NumberColumn(
        "Codes left", width=85, help="Backup codes left (only with 2FA on)"
    ),
    "failed_attempts": st.column_config.NumberColumn(
        "Failures", width=80, help="Failed sign-in attempts counted now"
    ),
}
NOT_APPLICABLE = "—"  # what an empty cell shows (backup codes of someone without 2FA)


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
    c3.multiselect(
        "Role",
        [r.value for r in Role],
        format_func=role_label,
        key=keys.ROLE,
        on_change=_fresh_view,
    )
    c4.multiselect("Show only", ONLY, key=keys.ONLY, on_change=_fresh_view)
    s1, s2, _ = st.columns([2, 2, 3], vertical_alignment="bottom")
    s1.selectbox(
        "Sort by",
        list(SORT_LABELS),
        format_func=SORT_LABELS.__getitem__,
        key=keys.SORT,
        on_change=_fresh_view,
    )
    s2.toggle("Descending", key=keys.DESC, on_change=_fresh_view)


def _when(value: dt.datetime | None, pattern: str, missing: str) -> str:
    return missing if value is None else f"{value.astimezone(dt.UTC):{pattern}}"


def frame(rows: list[UserRow]) -> pd.DataFrame:
    """The page as shown: readable words, no "None" (a blank, "never" or a dash instead)."""
    # Plain tuples: dataclasses.asdict deep-copies every value (half of this function's time).
    values = [tuple(getattr(r, c) for c in USER_COLUMNS) for r in rows]
    df = pd.DataFrame(values, columns=list(USER_COLUMNS))
    df["status"] = [str(r.status) for r in rows]
    df["role"] = [role_label(r.role) for r in rows]
    df["enrolled_at"] = [_when(r.enrolled_at, "%Y-%m-%d", "") for r in rows]
    df["last_sign_in_at"] = [_when(r.last_sign_in_at, "%Y-%m-%d %H:%M", "never") for r in rows]
    df["backup_codes_left"] = pd.array([r.backup_codes_left for r in rows], dtype="Int64")
    return df


def caption(page: reports.Page) -> str:
    """How many match ("more than 1,000" when a search stopped counting) and which page."""
    if page.capped:
        return (
            f"More than {page.total:,} accounts match: narrow the search to see them all"
            f" · page {page.page} of the first {page.pages}"
        )
    return f"{page.total:,} account(s) match · page {page.page} of {page.pages}"


def age(cached: reports.CachedPage, now: dt.datetime) -> str:
    """'rows as of 12:03:05 UTC, 4 s ago': how old the rows on the page are."""
    seconds = max(0, int((now - cached.as_of).total_seconds()))
    return f"rows as of {cached.as_of.astimezone(dt.UTC):%H:%M:%S} UTC, {seconds} s ago"


def render(portal: Portal, who: Identity, checked: guard.Checked | None = None) -> None:
    filters()
    q = query(portal)
    # Reused for a few seconds while every input is the same (the caption says how old); the
    # page's own actions and Refresh drop it.
    number = int(st.session_state.get(keys.PAGE, 1))
    cached = reports.cached_accounts_page(
        portal, who, q, number, st.session_state, keys.TABLE_CACHE, checked
    )
    page = cached.page
    st.session_state[keys.PAGE] = page.page  # clamped, e.g. after the view shrank
    df = _frame_of(cached)
    event = st.dataframe(
        df,
        key=keys.table_key(st.session_state),
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        column_order=SHOWN,
        column_config=COLUMNS,
        placeholder=NOT_APPLICABLE,
    )
    chosen = [page.rows[i] for i in event.selection.rows if 0 <= i < len(page.rows)]
    p1, p2, p3 = st.columns([1, 3, 2], vertical_alignment="center")
    p1.number_input("Page", min_value=1, step=1, key=keys.PAGE, on_change=_drop_selection)
    p2.caption(f"{caption(page)} · {age(cached, portal.now())}")
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


def _frame_of(cached: reports.CachedPage) -> pd.DataFrame:
    """frame() of these rows, built again only when the rows were read again."""
    built = st.session_state.get(keys.TABLE_FRAME)
    if built is None or built[0] is not cached:
        built = (cached, frame(cached.page.rows))
        st.session_state[keys.TABLE_FRAME] = built
    return built[1]


def _drop_selection() -> None:
    st.session_state[keys.TABLE_GEN] = st.session_state.get(keys.TABLE_GEN, 0) + 1
