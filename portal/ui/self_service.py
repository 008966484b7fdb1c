"""What the wizard page offers once 2FA is on; each option asks for a fresh code first."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from portal.context import Portal
from portal.models import Identity
from portal.twofactor import second_factor, self_service
from portal.twofactor.enrolment import EnrolmentState
from portal.ui import state
from portal.ui.codes import show_codes
from portal.ui.widgets import close_if_done, errors_shown, key_panel, source

NEW_CODES = "mg_new_codes"
OPTIONS = {
    "codes": "View backup codes or generate new ones",
    "replace": "Move to a new phone (the old key works until the new one is verified)",
    "device": "Set up the existing key on an additional device or app",
    "deactivate": "Deactivate two-factor authentication",
}


def choose(action: str | None) -> None:
    st.session_state[state.MANAGE] = action
    st.session_state.pop(state.DIALOG, None)
    st.session_state.pop(NEW_CODES, None)


def render(portal: Portal, who: Identity, status: EnrolmentState) -> None:
    since = f" since {status.enabled_at:%d %B %Y}" if status.enabled_at else ""
    st.success(f"**Two-factor authentication is enabled**{since}.", icon="✅")
    action = st.session_state.get(state.MANAGE)
    if action not in OPTIONS:
        for key, label in OPTIONS.items():
            st.button(label, key=f"mg_{key}", on_click=choose, args=(key,), width="stretch")
        return
    st.header(OPTIONS[action])  # h2 after the page h1 (heading order)
    if not second_factor.is_fresh(portal, who):
        step_up_form(portal, who)
    else:
        {"codes": codes, "replace": replace, "device": device, "deactivate": deactivate}[action](
            portal, who
        )
    st.button("Back", key="mg_back", on_click=choose, args=(None,))


def step_up_form(portal: Portal, who: Identity) -> None:
    st.info(
        "Confirm it's you: enter a current code from your authenticator app (or a backup code)."
    )
    with st.form("step_up"):
        code = st.text_input("Authentication code", key="mg_code", max_chars=64)
        ok = st.form_submit_button("Confirm", type="primary")
    if ok:
        with errors_shown():
            verified = second_factor.step_up(portal, who, code, source())
            st.session_state[state.IDENTITY] = verified.identity
            st.rerun()


def codes(portal: Portal, who: Identity) -> None:
    # Kept until Back: copying or downloading reruns the page, and the new codes must stay.
    fresh = st.session_state.get(NEW_CODES)
    if fresh:
        st.success("New backup codes generated. The old ones no longer work.", icon="✅")
        show_codes(portal, who, fresh, "mg_keep_new")
        return
    with errors_shown():
        views = self_service.view_backup_codes(portal, who, source())
        left = sum(not v.used for v in views)
        st.markdown(f"**{left}** of {len(views)} backup codes unused.")
        show_codes(portal, who, [v.code for v in views], "mg_keep", [v.used for v in views])
    if st.button("Generate new backup codes", key="mg_regen_open"):
        st.session_state[state.DIALOG] = "regen"
    if st.session_state.get(state.DIALOG) == "regen":
        regen_dialog(portal, who)


@st.dialog(
    "Generate new backup codes?", on_dismiss=lambda: st.session_state.pop(state.DIALOG, None)
)
def regen_dialog(portal: Portal, who: Identity) -> None:
    close_if_done(state.DIALOG, "regen")
    st.write("Your current backup codes will **stop working** at once.")
    c1, c2 = st.columns(2)
    cancel(c2, "mg_regen_no")
    if c1.button("Replace my backup codes", key="mg_regen_yes", type="primary"):
        with errors_shown():
            st.session_state[NEW_CODES] = self_service.regenerate_backup_codes(
                portal, who, source()
            )
            st.session_state.pop(state.DIALOG, None)
            st.rerun()


def cancel(column: DeltaGenerator, key: str) -> None:
    """A dialog's Cancel: clears the flag; the dialog's close_if_done then closes it."""
    column.button("Cancel", key=key, on_click=lambda: st.session_state.pop(state.DIALOG, None))


def replace(portal: Portal, who: Identity) -> None:
    st.markdown(
        "You will scan a **new** key. Your current key and backup codes keep working until the "
        "new key is verified and you press Finish."
    )
    if st.button("Set up a new key", key="mg_replace_go", type="primary"):
        st.session_state[state.WIZARD] = state.WizardState(step="intro")
        choose(None)
        st.rerun()


def device(portal: Portal, who: Identity) -> None:
    st.markdown("Scan this code with the other device or app. It is the **same key**.")
    with errors_shown():
        key_panel(self_service.reveal_key(portal, who, source()), "mg_reveal_key")


def deactivate(portal: Portal, who: Identity) -> None:
    st.warning(
        "Without two-factor authentication, anyone who learns your password can sign in.",
        icon="⚠️",
    )
    if st.button("Deactivate two-factor authentication", key="mg_deactivate_open", type="primary"):
        st.session_state[state.DIALOG] = "deactivate"
    if st.session_state.get(state.DIALOG) == "deactivate":
        deactivate_dialog(portal, who)


@st.dialog(
    "Deactivate two-factor authentication?",
    on_dismiss=lambda: st.session_state.pop(state.DIALOG, None),
)
def deactivate_dialog(portal: Portal, who: Identity) -> None:
    close_if_done(state.DIALOG, "deactivate")
    st.write("Your key and backup codes will be deleted. You can set it up again later.")
    c1, c2 = st.columns(2)
    cancel(c2, "mg_deactivate_no")
    if c1.button("Deactivate 2FA", key="mg_deactivate_yes", type="primary"):
        with errors_shown():
            self_service.deactivate(portal, who, source(), st.session_state.get(state.SESSION_ID))
            choose(None)
            state.flash(st.session_state, "warning", "Two-factor authentication is now off.")
            st.rerun()
