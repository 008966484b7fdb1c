"""My account: the person's 2FA status at a glance, with the way to the wizard."""

import streamlit as st

from portal.twofactor import backup_codes, enrolment, self_service
from portal.ui import account, state
from portal.ui.nav import PAGES, link
from portal.ui.plain import plain
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import show_flashes

portal = portal_or_stop()
who = state.identity(st.session_state)
if who is None:
    st.stop()

st.title(f"Hello, {plain(who.display_name)}")
show_flashes()
account.notices_panel(portal, who)
view = account.run_view(who)  # read once by portal/app.py for this run
status = enrolment.state(portal, who, view)
left = self_service.backup_codes_left(portal, who, view)

if status.enabled:
    st.success("Two-factor authentication is **on** for your account.", icon="✅")
    c1, c2 = st.columns(2)
    c1.metric("Enabled since", f"{status.enabled_at:%d %b %Y}" if status.enabled_at else "-")
    c2.metric("Backup codes left", left if left is not None else 0)
    if backup_codes.running_low(portal, left):
        st.warning(f"Only {left} backup code(s) left: generate new ones soon.", icon="⚠️")
        if st.button("Generate new backup codes", key="nudge_regenerate", type="primary"):
            # Straight to the confirmation (after the usual code check) on the 2FA page.
            st.session_state[state.MANAGE], st.session_state[state.DIALOG] = "codes", "regen"
            st.switch_page(PAGES / "two_factor.py")
elif status.pending:
    st.warning(
        "You started setting up two-factor authentication but did not finish. "
        "Open the wizard to resume or start over.",
        icon="⚠️",
    )
else:
    st.info(
        "Two-factor authentication is **off**. Protect your account: it takes two minutes "
        "and an authenticator app on your phone.",
        icon="🛡️",
    )
link("two_factor")
account.sessions_panel(portal, who)
account.password_panel(portal, who)
