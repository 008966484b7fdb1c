"""The set-up wizard: password -> (resume?) -> intro -> QR -> verify -> backup codes -> done."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from portal.access import passwords
from portal.context import Portal
from portal.errors import AlreadyFinished
from portal.models import Identity
from portal.twofactor import enrolment, self_service
from portal.twofactor.enrolment import EnrolmentState, KeyView
from portal.ui import cookies, fields, state
from portal.ui.codes import show_codes
from portal.ui.widgets import close_if_done, errors_shown, key_panel, source

APPS = [
    ("Google Authenticator", "https://support.google.com/accounts/answer/1066447"),
    ("Twilio Authy", "https://authy.com/download/"),
    ("Microsoft Authenticator", "https://www.microsoft.com/security/mobile-authenticator-app"),
    (
        "LastPass Authenticator",
        "https://www.lastpass.com/solutions/authentication/lastpass-authenticator",
    ),
]
STEPS = ["intro", "qr", "verify", "codes", "done"]
REVEAL = "wizard_reveal_key"


def wiz() -> state.WizardState:
    return st.session_state[state.WIZARD]


def go(step: str) -> None:
    wiz().step = step


def progress(step: str) -> None:
    if step in STEPS:
        number = STEPS.index(step) + 1
        st.progress(number / len(STEPS), text=f"Step {number} of {len(STEPS)}")


def password_step(portal: Portal, who: Identity) -> None:
    st.markdown("For your security, please enter your password again to continue.")
    with st.form("wizard_password"):
        password = st.text_input(
            "Password",
            type="password",
            key="wz_password",
            max_chars=passwords.MAX_CHARS,
            autocomplete="current-password",
        )
        ok = st.form_submit_button("Continue", type="primary")
    fields.behave(focus="wz_password", step="wizard:password")
    if ok:
        with errors_shown():
            st.session_state[state.IDENTITY] = self_service.confirm_password(
                portal, who, password, source()
            )
            pending = enrolment.state(portal, who).pending
            st.session_state[state.WIZARD] = state.WizardState(
                step="resume" if pending else "intro"
            )
            st.rerun()


def resume_step(portal: Portal, who: Identity) -> None:
    st.warning(
        "**Set-up was not completed.** You started setting up two-factor authentication "
        "but did not finish, so it is still **off**. If your authenticator app already shows an "
        "entry for this portal, either resume with the same key, or start over with a new key "
        "and **remove the old entry from your app** first.",
        icon="⚠️",
    )
    if not st.session_state.get(state.ABANDON_SEEN):
        enrolment.report_abandoned(portal, who, source())
        st.session_state[state.ABANDON_SEEN] = True
    c1, c2 = st.columns(2)
    if c1.button("Resume with the same key", key="wz_resume", type="primary"):
        _show_key(lambda: enrolment.resume(portal, who))
    if c2.button("Start over with a new key", key="wz_restart"):
        _show_key(lambda: enrolment.start(portal, who, source()))


def _show_key(key: Callable[[], KeyView]) -> None:
    """On to the QR step with the key `key()` returns; the later steps act on that key only."""
    with errors_shown():
        wiz().factor_id = key().factor_id
        st.session_state[REVEAL] = False
        go("qr")
        st.rerun()


def intro_step(portal: Portal, who: Identity) -> None:
    st.markdown(
        "Two-factor authentication protects your account with something you **know** (your "
        "password) and something you **have** (your phone). After it is set up, signing in "
        "asks for a 6-digit code that your authenticator app shows and changes every 30 seconds."
    )
    st.markdown("**Install one of these apps on your phone** if you don't have one yet:")
    st.markdown("\n".join(f"- [{name}]({url})" for name, url in APPS))
    st.info(
        "The clocks of your phone and this computer must show the **correct time**: codes "
        "change every 30 seconds and will not match if either clock is wrong. Set both to use "
        "network time.",
        icon="🕒",
    )
    if st.button("Next", key="wz_next_intro", type="primary"):
        _show_key(lambda: enrolment.start(portal, who, source()))


def qr_step(portal: Portal, who: Identity) -> None:
    st.markdown(
        "In your authenticator app, add an account (usually **+**) and **scan this QR code**."
    )
    with errors_shown():
        key_panel(enrolment.resume(portal, who, wiz().factor_id), REVEAL)
    if st.button("Next", key="wz_next_qr", type="primary"):
        go("verify")
        st.rerun()


def verify_step(portal: Portal, who: Identity) -> None:
    st.markdown("Enter the **6-digit code** your app now shows for this portal.")
    with st.form("wizard_verify"):
        code = st.text_input(
            "Code from your app",
            key="wz_code",
            max_chars=64,
            placeholder="123456",
            autocomplete=fields.CODE_AUTOCOMPLETE,
        )
        checked = st.form_submit_button("Verify")
    fields.behave(focus="wz_code", step="wizard:verify", numeric=("wz_code",))
    if checked:
        with errors_shown():
            enrolment.verify(portal, who, code, source(), wiz().factor_id)
            wiz().verified = True
    if wiz().verified:
        st.success("The code is correct: your app is set up properly.", icon="✅")
    c1, c2 = st.columns(2)
    if c1.button("Back", key="wz_back_verify"):
        go("qr")
        st.rerun()
    if c2.button("Next", key="wz_next_verify", type="primary", disabled=not wiz().verified):
        go("codes")
        st.rerun()


def codes_step(portal: Portal, who: Identity) -> None:
    with errors_shown():
        codes = enrolment.issue_codes(portal, who, wiz().factor_id)
        st.markdown(
            "These **backup codes** let you sign in if you lose your phone. Each works **once**."
        )
        st.warning(
            "Store them somewhere safe now (a password manager, or printed in a drawer): "
            "this is the only time they are shown without asking for a code.",
            icon="🔐",
        )
        kept = show_codes(portal, who, codes, f"wz_keep_{wiz().factor_id}")
        if not kept:
            st.caption("Copy, download or print your backup codes to continue.")
        stored = st.checkbox(
            "I have stored my backup codes safely", key="wz_stored", disabled=not kept
        )
        ready = kept and stored
        if st.button("Finish", key="wz_finish", type="primary", disabled=not ready) and ready:
            _finish(portal, who)


def _finish(portal: Portal, who: Identity) -> None:
    try:
        finished = enrolment.finish(portal, who, source(), wiz().factor_id)
    except AlreadyFinished as exc:
        # Another tab finished this very key: say so, change nothing, show "done".
        state.flash(st.session_state, "info", str(exc))
        go("done")
        st.rerun()
    st.session_state[state.IDENTITY] = finished
    if st.session_state.pop(state.FORCED_WIZARD, None):
        cookies.start_session(portal, finished)  # a reset sign-in gets its cookie now
    go("done")
    st.rerun()


def done_step() -> None:
    st.success("**Two-factor authentication is on.** You'll be asked for a code at sign-in.")
    st.markdown("Keep your backup codes safe. You can view or replace them here at any time.")
    if st.button("Close", key="wz_close_done", type="primary"):
        st.session_state.pop(state.WIZARD, None)
        st.rerun()


STEP_VIEWS = {
    "resume": resume_step,
    "intro": intro_step,
    "qr": qr_step,
    "verify": verify_step,
    "codes": codes_step,
}


def render(portal: Portal, who: Identity, status: EnrolmentState, forced: bool) -> None:
    """The wizard's current step; it starts with the password, unless straight from a reset."""
    if state.WIZARD not in st.session_state:
        if not forced:
            password_step(portal, who)
            return
        # Straight from a reset grant: the password was just given at sign-in.
        st.session_state[state.WIZARD] = state.WizardState(
            step="resume" if status.pending else "intro"
        )
    step = wiz().step
    progress(step)
    STEP_VIEWS.get(step, lambda p, w: done_step())(portal, who)
    if step not in ("done",) and not forced:
        st.divider()
        if st.button("Close set-up", key="wz_close", type="tertiary"):
            st.session_state[state.DIALOG] = "close"
        if st.session_state.get(state.DIALOG) == "close":
            close_dialog()


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
    close_if_done(state.DIALOG, "close")
    st.write(
        "Set-up is **not finished**: two-factor authentication will stay off. If you already "
        "added this portal to your authenticator app, that entry will not work and may need "
        "removing before you try again."
    )
    c1, c2 = st.columns(2)
    c1.button("Close set-up", key="wz_close_yes", on_click=_close, type="primary")
    c2.button("Keep going", key="wz_close_no", on_click=_keep_going)


def _keep_going() -> None:
    st.session_state.pop(state.DIALOG, None)
