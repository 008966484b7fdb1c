"""Security manager page (placeholder until the manager issue lands)."""

import streamlit as st

from portal.ui import state

if not state.is_manager(st.session_state):
    st.error("You are not allowed to open this page.")
    st.stop()
st.title("Security manager")
