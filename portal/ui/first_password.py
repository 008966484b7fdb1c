"""The "Choose your password" step of sign-in, after an imported account's first password."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from portal.access import accounts, first_sign_in, passwords
from portal.context import Portal
from portal.errors import InvalidCredentials, PortalError
from portal.ui import fields, state
from portal.ui.widgets import errors_shown, source

INTRO = (
    "**Choose your password.** The password you were given works only once: choose your own "
    "to finish signing in."
)


def pending() -> state.PendingSignIn | None:
    value = st.session_state.get(state.NEW_PASSWORD)
    return value if isinstance(value, state.PendingSignIn) else None


def start(result: accounts.PasswordOk) -> None:
    """Hold the correct first password (never signed in) and show this step."""
    user = result.user
    st.session_state[state.NEW_PASSWORD] = state.PendingSignIn(
        user.id, user.username, result.password_at
    )
    st.rerun()


def _cancel() -> None:
    st.session_state.pop(state.NEW_PASSWORD, None)


def show(
    portal: Portal, waiting: state.PendingSignIn, go_on: Callable[[accounts.PasswordOk], None]
) -> None:
    """The form; a good new password hands the rest of the sign-in to `go_on`."""
    st.markdown(INTRO)
    with st.form("first_password"):
        new = st.text_input(
            "New password",
            type="password",
            key="fp_new",
            max_chars=passwords.MAX_CHARS,
            help=f"At least {passwords.MIN_LENGTH} characters; not the password you were given.",
            autocomplete="new-password",
        )
        again = st.text_input(
            "New password again",
            type="password",
            key="fp_again",
            max_chars=passwords.MAX_CHARS,
            autocomplete="new-password",
        )
        submitted = st.form_submit_button("Set password and continue", type="primary")
    fields.behave(focus="fp_new", step="sign_in:new_password")
    st.button("Cancel", key="cancel_first_password", type="tertiary", on_click=_cancel)
    if not submitted:
        return
    try:
        result = first_sign_in.set_first_password(
            portal, waiting.user_id, waiting.password_at, new, again, source()
        )
    except InvalidCredentials as exc:  # too late, changed in another tab, disabled: start over
        _cancel()
        state.flash(st.session_state, "error", str(exc))
        st.rerun()
    except PortalError as exc:  # weak, mismatched, reused: fix it here
        st.error(str(exc))
        return
    _cancel()
    with errors_shown():
        go_on(result)
