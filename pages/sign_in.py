"""Sign in: username and password, then an imported account's own password, or a 2FA code."""

import streamlit as st

from portal.access import accounts, passwords
from portal.models import Identity
from portal.twofactor import backup_codes, second_factor
from portal.ui import cookies, fields, first_password, state
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import errors_shown, show_flashes, source

portal = portal_or_stop()
st.title("Sign in")
show_flashes()
waiting = state.pending(st.session_state)
choosing = first_password.pending()


def _toggle_backup() -> None:
    current = state.pending(st.session_state)
    st.session_state["si_code"] = ""  # a wrong code typed in one field is no start for the other
    if current is not None:
        st.session_state[state.PENDING] = state.PendingSignIn(
            current.user_id, current.username, current.password_at, not current.backup
        )


def _cancel() -> None:
    st.session_state.pop(state.PENDING, None)


def _signed_in(who: Identity | None, forced: bool = False) -> None:
    st.session_state.pop(state.PENDING, None)
    st.session_state[state.IDENTITY] = who
    if forced:
        st.session_state[state.FORCED_WIZARD] = True
    elif who is not None:
        cookies.start_session(portal, who)
    st.rerun()


def _go_on(result: accounts.PasswordOk) -> None:
    """After a correct password (or the new one): the next step, or signed in."""
    if result.next is accounts.Next.NEW_PASSWORD:
        first_password.start(result)
    if result.next is accounts.Next.CODE:
        st.session_state[state.PENDING] = state.PendingSignIn(
            result.user.id, result.user.username, result.password_at
        )
        st.rerun()
    if result.next is accounts.Next.WIZARD:
        state.flash(
            st.session_state,
            "info",
            "Your security manager reset your two-factor authentication. "
            "Set up your authenticator app again now.",
        )
    _signed_in(result.identity, forced=result.next is accounts.Next.WIZARD)


if choosing is not None:
    first_password.show(portal, choosing, _go_on)
elif waiting is None:
    with st.form("sign_in"):
        username = st.text_input(
            "Username",
            key="si_username",
            max_chars=256,
            value=st.session_state.get(state.LAST_USERNAME, ""),
            autocomplete="username",
        )
        password = st.text_input(
            "Password",
            type="password",
            key="si_password",
            max_chars=passwords.MAX_CHARS,
            autocomplete="current-password",
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    known = bool(st.session_state.get(state.LAST_USERNAME))
    fields.behave(focus="si_password" if known else "si_username", step="sign_in:password")
    if submitted:
        st.session_state[state.LAST_USERNAME] = username
        with errors_shown():
            _go_on(accounts.sign_in_password(portal, username, password, source()))
else:
    if waiting.backup:
        st.markdown("Enter one of your **backup codes** (each works once).")
        label, hint, filled = "Backup code", "xxxx-xxxx-xxxx", "off"
    else:
        st.markdown("Open your authenticator app and enter the **6-digit code** for this portal.")
        label, hint, filled = "Authentication code", "123456", fields.CODE_AUTOCOMPLETE
    with st.form("second_factor"):
        code = st.text_input(
            label, key="si_code", placeholder=hint, max_chars=64, autocomplete=filled
        )
        submitted = st.form_submit_button("Verify", type="primary")
    fields.behave(
        focus="si_code",
        step=f"sign_in:{'backup' if waiting.backup else 'code'}",
        numeric=() if waiting.backup else ("si_code",),
        text=("si_code",) if waiting.backup else (),
    )
    col1, col2 = st.columns(2)
    col1.button(
        "Use my authenticator app instead" if waiting.backup else "Use a backup code instead",
        key="toggle_backup",
        type="tertiary",
        on_click=_toggle_backup,
    )
    col2.button("Cancel", key="cancel_sign_in", type="tertiary", on_click=_cancel)
    if submitted:
        with errors_shown():
            verified = second_factor.verify_sign_in(
                portal, waiting.user_id, waiting.password_at, code, source(), waiting.username
            )
            left = verified.backup_codes_left
            if left is not None:
                kind = "warning" if backup_codes.running_low(portal, left) else "info"
                nudge = " Generate new ones soon." if kind == "warning" else ""
                state.flash(
                    st.session_state,
                    kind,
                    f"You signed in with a backup code. {left} backup code(s) left.{nudge}",
                )
            _signed_in(verified.identity)
