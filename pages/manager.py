"""Security manager: overview, the accounts table with its actions, audit trail, notebooks."""

import functools

import streamlit as st

from portal.errors import PortalError
from portal.manager import guard
from portal.ui import account, state
from portal.ui.manager import apikeys, audit, importer, keys, notebooks, overview, users
from portal.ui.resources import portal_or_stop
from portal.ui.self_service import step_up_form
from portal.ui.widgets import errors_shown, show_flashes

if not state.is_manager(st.session_state):
    st.error("You are not allowed to open this page.")
    st.stop()
who = state.identity(st.session_state)
assert who is not None
portal = portal_or_stop()
try:  # one read per run: the parts below share it (a role taken away stops the next run)
    checked = guard.check_page(portal, who, account.run_view(who))
except PortalError as exc:
    st.error(str(exc))
    st.stop()

st.title("Security manager")
show_flashes()
if checked.step_up_due:
    with st.expander("🔐 Confirm it's you (needed to reset or deactivate 2FA)"):
        step_up_form(portal, who)
with errors_shown():  # e.g. the role was taken away since sign-in: the services refuse
    overview.render(portal, who, checked)
    tabs = st.tabs(keys.TABS, key=keys.TAB, on_change="rerun")
    accounts = functools.partial(users.render, checked=checked)
    renders = (accounts, audit.render, notebooks.render, importer.render)
    for tab, render in zip(tabs, renders, strict=True):
        if tab.open:
            with tab:
                render(portal, who)
    apikeys.render(portal, who, checked)
