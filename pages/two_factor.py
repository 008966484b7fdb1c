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


def _close() -> None:
    st.session_state.pop(state.WIZARD, None)
    st.session_state.pop(state.DIALOG, None)
    state.flash(
        st.session_state,
        "warning",
        "Set-up was closed before it finished, so two-factor authentication is not on. "
        "If your app already shows an entry for this portal, you may need to remove it "
        "before you try again.",
    )


@st.dialog("Close the set-up?", on_dismiss=lambda: st.session_state.pop(state.DIALOG, None))
def close_dialog() -> None:
    st.write(
        "Set-up is **not finished**: two-factor authentication will stay off. If you already "
        "added this portal to your authenticator app, that entry will not work and may need "
        "removing before you try again."
    )
    c1, c2 = st.columns(2)
    c1.button("Close set-up", key="wz_close_yes", on_click=_close, type="primary")
    c2.button("Keep going", key="wz_close_no", on_click=lambda: st.session_state.pop(state.DIALOG))


if state.WIZARD not in st.session_state:
    if status.enabled and not forced:
        self_service.render(portal, who, status)
        st.stop()
    if forced:
        # Straight from a reset grant: the password was just given at sign-in.
        st.session_state[state.WIZARD] = state.WizardState(
            step="resume" if status.pending else "intro"
        )
    else:
        wizard.password_step(portal, who)
        st.stop()

step = wizard.wiz().step
wizard.progress(step)
{
    "resume": wizard.resume_step,
    "intro": wizard.intro_step,
    "qr": wizard.qr_step,
    "verify": wizard.verify_step,
    "codes": wizard.codes_step,
}.get(step, lambda p, w: wizard.done_step())(portal, who)

if step not in ("done",) and not forced:
    st.divider()
    if st.button("Close set-up", key="wz_close", type="tertiary"):
        st.session_state[state.DIALOG] = "close"
    if st.session_state.get(state.DIALOG) == "close":
        close_dialog()
