"""Entry script: st.navigation built from who is signed in and their role."""

from __future__ import annotations

import streamlit as st

from portal.access import accounts, sessions
from portal.errors import PortalError
from portal.twofactor import policy
from portal.ui import cookies, state, virtual_authenticator
from portal.ui.nav import TITLES, page
from portal.ui.plain import plain
from portal.ui.resources import portal_or_stop

st.set_page_config(page_title="2FA Portal", page_icon="🔐")


def _sign_out() -> None:
    cookies.sign_out(portal_or_stop(), "You are signed out.", "success")


portal = portal_or_stop()
try:
    policy.policy_started(portal)  # checks require_2fa; records when the policy began
except PortalError as exc:
    st.error(f"The portal cannot start: {exc}")
    st.stop()
virtual_authenticator.refuse_unless_demo(portal)  # PORTAL_DEMO on real data: stop
cookies.restore(portal)
session_id = st.session_state.get(state.SESSION_ID)
if session_id and state.identity(st.session_state) is not None:
    ended = sessions.check(portal, session_id)
    if ended:
        cookies.sign_out(portal, ended, "warning")
if (signed_in := state.identity(st.session_state)) is not None:
    stop_why = sessions.recheck(portal, signed_in)
    if stop_why:
        cookies.sign_out(portal, stop_why, "warning")
if cookies.run_pending_op():
    st.stop()
who = state.identity(st.session_state)
reminder = None
if accounts.needs_first_run(portal):
    pages = [page("first_run", default=True)]
elif who is None:
    pages = [page("sign_in", default=True)]
elif st.session_state.get(state.FORCED_WIZARD):
    pages = [page("two_factor", default=True)]
else:
    need = policy.requirement(portal, who)
    names, landing = policy.pages_for(portal, who, need)
    pages = [page(name, default=name == landing) for name in names]
    reminder = policy.notice(portal, need)

if who is not None:
    with st.sidebar:
        st.markdown(f"Signed in as **{plain(who.display_name)}**")
        st.caption(f"{plain(who.username)} · {plain(who.role.replace('_', ' '))}")
        st.button("Sign out", key="sign_out", on_click=_sign_out, type="primary")
        if reminder:
            st.warning(reminder, icon="🛡️")
if portal.settings.demo:
    st.sidebar.warning("DEMO: throw-away data", icon="🎓")
virtual_authenticator.sidebar(portal)  # demo mode only

current = st.navigation(pages)
# One layout call per run, after navigation: the manager's table wants the width.
st.set_page_config(layout="wide" if current.url_path == "manager" else "centered")
# url_path is "" for the default page, which the wizard is when it is the only page.
if current.title != TITLES["two_factor"][0] and state.WIZARD in st.session_state:
    # Leaving the wizard closes it; the next visit finds the unfinished set-up and says so.
    del st.session_state[state.WIZARD]
current.run()
