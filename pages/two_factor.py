"""Configure two-factor authentication: the set-up wizard, or managing 2FA once it is on."""

import streamlit as st

from portal.twofactor import enrolment
from portal.ui import self_service, state, wizard
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import show_flashes

portal = portal_or_stop()
who = state.identity(st.session_state)
if who is None:
    st.stop()

st.title("Configure two-factor authentication")
show_flashes()
status = enrolment.state(portal, who)
forced = bool(st.session_state.get(state.FORCED_WIZARD))
if state.WIZARD not in st.session_state and status.enabled and not forced:
    self_service.render(portal, who, status)
    st.stop()
wizard.render(portal, who, status, forced)
