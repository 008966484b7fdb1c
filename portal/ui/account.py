"""The account page's panels: "Was this you?" notices and signed-in browsers."""

from __future__ import annotations

import streamlit as st

from portal.access import accounts, notices, sessions
from portal.context import Portal
from portal.errors import InvalidCredentials, PortalError, Throttled
from portal.models import Identity
from portal.ui import cookies, state
from portal.ui.nav import link
from portal.ui.plain import plain
from portal.ui.widgets import source

NOT_ME = "notices_not_me_done"  # "No, it wasn't me" was pressed (and reported) in this session


def notices_panel(portal: Portal, who: Identity) -> None:
    found = notices.unseen(portal, who)
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
        st.session_state.pop(NOT_ME, None)
        st.rerun()


def _open_password() -> None:
    st.session_state[CP_OPEN] = True


def sign_out_everywhere(portal: Portal, who: Identity) -> None:
    """Button callback: end every session of the person, this browser's too."""
    count = sessions.end_all(portal, who, "signed out everywhere", None, source())
    cookies.sign_out(portal, f"Signed out of {max(count, 1)} browser(s).", "success")


def sessions_panel(portal: Portal, who: Identity) -> None:
    active = sessions.active(portal, who.user_id)
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
