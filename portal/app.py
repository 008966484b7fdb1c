"""Entry script: st.navigation built from who is signed in and their role."""

from __future__ import annotations

import streamlit as st

from portal import accounts, sessions
from portal.ui import cookies, state
from portal.ui.nav import page
from portal.ui.resources import portal_or_stop

st.set_page_config(page_title="2FA Portal", page_icon="🔐", layout="centered")


def _sign_out() -> None:
    cookies.sign_out(portal_or_stop(), "You are signed out.", "success")


portal = portal_or_stop()
cookies.restore(portal)
session_id = st.session_state.get(state.SESSION_ID)
if session_id and state.identity(st.session_state) is not None:
    ended = sessions.check(portal, session_id)
    if ended:
        cookies.sign_out(portal, ended, "warning")
if cookies.run_pending_op():
    st.stop()
who = state.identity(st.session_state)
if accounts.needs_first_run(portal):
    pages = [page("first_run", default=True)]
elif who is None:
    pages = [page("sign_in", default=True)]
elif st.session_state.get(state.FORCED_WIZARD):
    pages = [page("two_factor", default=True)]
else:
    pages = [page("home", default=True), page("two_factor")]
    if who.is_manager:
        pages.append(page("manager"))

if who is not None:
    with st.sidebar:
        st.markdown(f"Signed in as **{who.display_name}**")
        st.caption(f"{who.username} · {who.role.replace('_', ' ')}")
        st.button("Sign out", key="sign_out", on_click=_sign_out, type="primary")
    if portal.settings.demo:
        st.sidebar.warning("DEMO: throw-away data")

current = st.navigation(pages)
if current.url_path != "two_factor" and state.WIZARD in st.session_state:
    # Leaving the wizard closes it; the next visit finds the unfinished set-up and says so.
    del st.session_state[state.WIZARD]
current.run()
