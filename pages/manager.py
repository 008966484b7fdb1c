"""Security manager: overview, the accounts table with its actions, audit trail and Explore."""

import streamlit as st

from portal import enrolment, policy, second_factor
from portal.errors import PortalError
from portal.ui import manager_audit, manager_explore, manager_overview, manager_users, state
from portal.ui import manager_keys as K
from portal.ui.manage_panel import step_up_form
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import errors_shown, show_flashes

if not state.is_manager(st.session_state):
    st.error("You are not allowed to open this page.")
    st.stop()
who = state.identity(st.session_state)
assert who is not None
portal = portal_or_stop()
try:
    policy.require_enrolled_manager(portal, who)
except PortalError as exc:
    st.error(str(exc))
    st.stop()

st.title("Security manager")
show_flashes()
if enrolment.state(portal, who).enabled and not second_factor.is_fresh(portal, who):
    with st.expander("🔐 Confirm it's you (needed to reset or deactivate 2FA)"):
        step_up_form(portal, who)
with errors_shown():  # e.g. the role was taken away since sign-in: the services refuse
    manager_overview.render(portal, who)
    tabs = st.tabs(K.TABS, key=K.TAB, on_change="rerun")
    for tab, render in zip(
        tabs, (manager_users.render, manager_audit.render, manager_explore.render), strict=True
    ):
        if tab.open:
            with tab:
                render(portal, who)
