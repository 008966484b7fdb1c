"""The account page's panels: "Was this you?" notices and signed-in browsers."""

from __future__ import annotations

import streamlit as st

from portal.access import accounts, notices, sessions
from portal.context import Portal
from portal.models import Identity
from portal.ui import cookies, state
from portal.ui.plain import plain
from portal.ui.widgets import errors_shown, source


def notices_panel(portal: Portal, who: Identity) -> None:
    found = notices.unseen(portal, who)
    if not found:
        return
    with st.container(border=True, key="notices"):
        st.markdown("#### Was this you?")
        st.caption("Changes to your two-factor authentication since you last checked:")
        for n in found:
            by = f" by {plain(n.by)}" if n.by and n.by != who.username else ""
            where = plain(n.source or "unknown")
            st.markdown(f"- **{n.at:%d %b %Y %H:%M} UTC**: {n.text}{by} _(from {where})_")
        c1, c2 = st.columns(2)
        if c1.button("Yes, that was me", key="notices_ok", type="primary"):
            notices.acknowledge(portal, who)
            st.rerun()
        if c2.button("No, it wasn't me", key="notices_not_me"):
            st.session_state["notices_help"] = True
        if st.session_state.get("notices_help"):
            st.error(
                "Tell your security manager now. Then use *Sign out everywhere* below, and in "
                "*Configure two-factor authentication* replace your key and generate new "
                "backup codes."
            )


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
        if st.button("Sign out everywhere", key="sign_out_everywhere"):
            count = sessions.end_all(portal, who, "signed out everywhere", None, source())
            cookies.sign_out(portal, f"Signed out of {max(count, 1)} browser(s).", "success")
            st.rerun()


def password_panel(portal: Portal, who: Identity) -> None:
    with st.expander("Change password"), st.form("change_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password", key="cp_current")
        new = st.text_input("New password", type="password", key="cp_new", help="8+ characters")
        again = st.text_input("New password again", type="password", key="cp_again")
        if st.form_submit_button("Change password"):
            with errors_shown():
                here = st.session_state.get(state.SESSION_ID)
                accounts.change_password(portal, who, current, new, again, source(), here)
                st.success("Password changed. Your other browsers were signed out.")
