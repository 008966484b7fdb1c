"""Entry script: st.navigation built from who is signed in and their role."""

from __future__ import annotations

import streamlit as st

from portal.access import sessions
from portal.errors import PortalError
from portal.twofactor import policy
from portal.ui import account, cookies, nav, state, virtual_authenticator
from portal.ui.plain import plain
from portal.ui.resources import needs_first_run, portal_or_stop

st.set_page_config(page_title=nav.APP_NAME, page_icon="🔐")


def _sign_out() -> None:
    cookies.sign_out(portal_or_stop(), "You are signed out.", "success")


portal = portal_or_stop()
try:
    policy.policy_started(portal)  # checks require_2fa; records when the policy began (once)
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
nav.narrow_screen_helpers()
# The demo's panels come first in sidebar and page, on every run (see virtual_authenticator).
virtual_authenticator.sidebar(portal)
virtual_authenticator.inline(portal)  # shown on narrow screens only
if cookies.run_pending_op():
    st.stop()
who = state.identity(st.session_state)
reminder, view = None, None
if needs_first_run(portal):
    names, landing = ["first_run"], "first_run"
elif who is None:
    names, landing = ["sign_in"], "sign_in"
elif st.session_state.get(state.FORCED_WIZARD):
    names, landing = ["two_factor"], "two_factor"
else:
    view = policy.account_view(portal, who)  # the account and keys, read once for this run
    need = policy.requirement(portal, who, view)
    names, landing = policy.pages_for(portal, who, need)
    reminder = policy.notice(portal, need)
account.keep_view(view)
pages = nav.pages_for(names, landing)

if who is not None:
    with st.sidebar:
        st.markdown(f"Signed in as **{plain(who.display_name)}**")
        st.caption(f"{plain(who.username)} · {plain(who.role.replace('_', ' '))}")
        st.button("Sign out", key="sign_out", on_click=_sign_out, type="primary")
        if reminder:
            st.warning(reminder, icon="🛡️")
if portal.settings.demo:
    st.sidebar.warning("DEMO: throw-away data", icon="🎓")

current = st.navigation(list(pages.values()))
name = nav.name_of(pages, current)
if who is not None and st.session_state.pop(state.SIGNED_OUT, False) and name != landing:
    # Signed in after a sign-out in this tab: the address is the last person's page, not one
    # this person asked for (a bookmark opens in a new session, without this flag).
    st.switch_page(pages[landing])
# One layout call per run, after navigation: the manager's table wants the width.
st.set_page_config(
    page_title=nav.tab_title(current), layout="wide" if name == "manager" else "centered"
)
if who is not None:
    # On a phone the sidebar is an overlay behind a bare icon: Sign out is in the page too.
    st.button("Sign out", key="page_sign_out", on_click=_sign_out, type="secondary")
if name != "two_factor" and state.WIZARD in st.session_state:
    # Leaving the wizard closes it; the next visit finds the unfinished set-up and says so.
    del st.session_state[state.WIZARD]
if name != "home":
    # What My account reuses for a few seconds is read afresh after any other page's actions.
    st.session_state.pop(account.RECENT, None)
current.run()
