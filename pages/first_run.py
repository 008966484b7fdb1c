"""First run: create the first security-manager account (only on an empty database)."""

import streamlit as st

from portal.access import accounts
from portal.ui import state
from portal.ui.plain import plain
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import errors_shown, source

portal = portal_or_stop()
st.title("Welcome to the 2FA Portal")
st.markdown(
    "This portal has no accounts yet. Create the first **security manager**: the person who "
    "will add staff, and help them when they lose their phone."
)
with st.form("first_run"):
    # required=True shows "(required)" by each label before anything is submitted.
    username = st.text_input("Username", key="fr_username", max_chars=64, required=True)
    password = st.text_input(
        "Password",
        type="password",
        key="fr_password",
        help="At least 8 characters.",
        required=True,
    )
    confirm = st.text_input("Password again", type="password", key="fr_confirm", required=True)
    submitted = st.form_submit_button("Create security manager", type="primary")

if submitted:
    with errors_shown():
        user = accounts.create_first_manager(portal, username, password, confirm, source())
        state.flash(
            st.session_state,
            "success",
            f"Security manager **{plain(user.username)}** created. Sign in, then set up two-factor "
            "authentication for your own account first.",
        )
        st.rerun()
