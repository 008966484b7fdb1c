"""The account page's panels: "Was this you?" notices and signed-in browsers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar, cast

import streamlit as st

from portal.access import accounts, notices, sessions
from portal.context import Portal
from portal.errors import InvalidCredentials, PortalError, Throttled
from portal.models import Identity
from portal.twofactor.policy import AccountView
from portal.ui import cookies, state
from portal.ui.nav import link
from portal.ui.plain import plain
from portal.ui.widgets import source

NOT_ME = "notices_not_me_done"  # "No, it wasn't me" was pressed (and reported) in this session
RECENT = "account_recent"  # {panel: (who, until, value)}: what the panels read, a few seconds
FRESH_SECONDS = 5  # the notices and browser list a rerun shows are at most this old
VIEW = "account_view"  # AccountView portal/app.py read at the start of this run (this run only)
T = TypeVar("T")


def keep_view(view: AccountView | None) -> None:
    """portal/app.py, every run: the person as read once for this run (None: nobody was)."""
    if view is None:
        st.session_state.pop(VIEW, None)
    else:
        st.session_state[VIEW] = view


def run_view(who: Identity) -> AccountView | None:
    """This run's AccountView of `who`, or None (the services then read the database)."""
    view = st.session_state.get(VIEW)
    return view if isinstance(view, AccountView) and view.user_id == who.user_id else None


def _recent(portal: Portal, who: Identity, panel: str, read: Callable[[], T]) -> T:
    return recent(st.session_state, portal.now(), who, panel, read)


def recent(
    ss: MutableMapping[Any, Any], now: dt.datetime, who: Identity, panel: str, read: Callable[[], T]
) -> T:
    """read(), or its value from a rerun less than FRESH_SECONDS ago in this session."""
    cache = ss.setdefault(RECENT, {})
    key = (who.user_id, who.signed_in_at)
    hit = cache.get(panel)
    fresh = dt.timedelta(seconds=FRESH_SECONDS)
    if hit is not None and hit[0] == key and hit[1] - fresh <= now < hit[1]:
        return cast(T, hit[2])
    value = read()
    cache[panel] = (key, now + fresh, value)
    return value


def forget_recent() -> None:
    """This session changed what the panels show: the next run reads it again."""
    st.session_state.pop(RECENT, None)


def notices_panel(portal: Portal, who: Identity) -> None:
    found = _recent(portal, who, "notices", lambda: notices.unseen(portal, who))
    if not found:
        return
    with st.container(border=True, key="notices"):
        st.markdown("## Was this you?")  # h2 after the page h1
        st.caption("Changes to your two-factor authentication since you last checked:")
        for g in notices.grouped(found):
            st.markdown(_line(g, who))
        if st.session_state.get(NOT_ME):
            _not_me(portal, who)
            return
        c1, c2 = st.columns(2)
        if c1.button("Yes, that was me", key="notices_ok", type="primary"):
            notices.acknowledge(portal, who)
            forget_recent()
            st.rerun()
        c2.button("No, it wasn't me", key="notices_not_me", on_click=_report, args=(portal, who))


def _line(g: notices.NoticeGroup, who: Identity) -> str:
    by = f" by {plain(g.by)}" if g.by and g.by != who.username else ""
    where = plain(g.sources[0])
    if g.count == 1:
        return f"- **{g.last:%d %b %Y %H:%M} UTC**: {g.text}{by} _(from {where})_"
    more = f" and {len(g.sources) - 1} other place(s)" if len(g.sources) > 1 else ""
    return (
        f"- **{g.count} times**: {g.text}{by} _(latest {g.last:%d %b %Y %H:%M} UTC, first "
        f"{g.first:%d %b %Y %H:%M} UTC; from {where}{more})_"
    )


def _report(portal: Portal, who: Identity) -> None:
    notices.dispute(portal, who, notices.unseen(portal, who), source())
    forget_recent()
    st.session_state[NOT_ME] = True


def _not_me(portal: Portal, who: Identity) -> None:
    st.error(
        "Your security manager has been told (it is in the audit trail). Secure your account "
        "now: sign out everywhere, change your password, then replace your key and backup "
        "codes in *Two-factor set-up*.",
        icon="🚨",
    )
    c1, c2 = st.columns(2)
    c1.button(
        "Sign out everywhere",
        key="notices_sign_out_all",
        type="primary",
        on_click=sign_out_everywhere,
        args=(portal, who),
    )
    c2.button("Change my password", key="notices_password", on_click=_open_password)
    link("two_factor", "Replace my key and backup codes")
    if st.button("Hide these notices", key="notices_hide", type="tertiary"):
        notices.acknowledge(portal, who)
        forget_recent()
        st.session_state.pop(NOT_ME, None)
        st.rerun()


def _open_password() -> None:
    st.session_state[CP_OPEN] = True


def sign_out_everywhere(portal: Portal, who: Identity) -> None:
    """Button callback: end every session of the person, this browser's too."""
    count = sessions.end_all(portal, who, "signed out everywhere", None, source())
    forget_recent()
    cookies.sign_out(portal, f"Signed out of {max(count, 1)} browser(s).", "success")


def sessions_panel(portal: Portal, who: Identity) -> None:
    active = _recent(portal, who, "sessions", lambda: sessions.active(portal, who.user_id))
    here = st.session_state.get(state.SESSION_ID)
    with st.expander(f"Signed-in browsers ({len(active)})"):
        for s in active:
            mark = " (this browser)" if s.id == here else ""
            where = plain(s.source or "unknown")
            st.markdown(
                f"- {where}{mark}, signed in {s.created_at:%d %b %H:%M} UTC, "
                f"last active {s.last_seen_at:%d %b %H:%M} UTC"
            )
        st.button(
            "Sign out everywhere",
            key="sign_out_everywhere",
            on_click=sign_out_everywhere,
            args=(portal, who),
        )


CP_OPEN, CP_CURRENT, CP_NEW, CP_AGAIN = "cp_open", "cp_current", "cp_new", "cp_again"
CP_RESULT = "cp_result"  # ("error" | "success", text) of the last attempt, shown in the panel


def password_panel(portal: Portal, who: Identity) -> None:
    # A keyed, state-tracking expander: the submit callback keeps it open to show the outcome.
    with st.expander("Change password", key=CP_OPEN, on_change="rerun"):
        with st.form("change_password"):
            st.text_input(
                "Current password",
                type="password",
                key=CP_CURRENT,
                autocomplete="current-password",
            )
            st.text_input(
                "New password",
                type="password",
                key=CP_NEW,
                help="8+ characters",
                autocomplete="new-password",
            )
            st.text_input(
                "New password again", type="password", key=CP_AGAIN, autocomplete="new-password"
            )
            st.form_submit_button("Change password", on_click=_change, args=(portal, who))
        kind, text = st.session_state.pop(CP_RESULT, (None, ""))
        if kind == "success":
            st.success(text)
        elif kind:
            st.error(text)


def _change(portal: Portal, who: Identity) -> None:
    """Submit callback (it may still clear the fields): change, then keep what may be kept.

    The current password is always cleared: it is masked, so a wrong one cannot be spotted and
    corrected (and keeping it would hand the same typo back), and a right one should not be
    sent back to the page. The new password and its repetition stay when only the current one
    was wrong or throttled; when the new one is refused, both new fields are cleared (after a
    mismatch nobody can tell which of the two was wrong).
    """
    ss = st.session_state
    here = ss.get(state.SESSION_ID)
    forget_recent()  # a new password ends the other browsers
    try:
        accounts.change_password(
            portal,
            who,
            ss.get(CP_CURRENT, ""),
            ss.get(CP_NEW, ""),
            ss.get(CP_AGAIN, ""),
            source(),
            here,
        )
    except (InvalidCredentials, Throttled) as exc:  # about the current password only
        ss[CP_RESULT] = ("error", str(exc))
        ss[CP_CURRENT] = ""
    except PortalError as exc:
        ss[CP_RESULT] = ("error", str(exc))
        ss[CP_CURRENT] = ss[CP_NEW] = ss[CP_AGAIN] = ""
    else:
        ss[CP_RESULT] = ("success", "Password changed. Your other browsers were signed out.")
        ss[CP_CURRENT] = ss[CP_NEW] = ss[CP_AGAIN] = ""
    ss[CP_OPEN] = True
