"""Actions on selected accounts, each behind a confirmation dialog that names the people and asks
for a reason. Dialogs open from a session-state flag (see STREAMLIT-NOTES.md); the confirm button's
callback calls the service. A button inside a dialog reruns only the dialog (a fragment) in the
browser, so once a callback has closed it (success, Cancel) the dialog calls st.rerun() itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from portal.access import passwords
from portal.errors import PortalError
from portal.manager import actions
from portal.models import Role, UserRow
from portal.ui import state
from portal.ui.manager import keys, overview, words
from portal.ui.plain import plain
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import close_if_done, source

Target = tuple[int, str, str]  # id, username, display name

# action -> (button label, dialog title, what happens, past tense for the message, confirm label)
ACTIONS = {
    "reset": (
        "🔄 Reset 2FA",
        "Reset two-factor authentication?",
        "Their authenticator app and backup codes **stop working at once**. At their next "
        "sign-in, after the password, they go straight into the set-up wizard. The reset works "
        "once and expires after {hours} hours if unused.",
        "Reset granted",
        "Reset 2FA",
    ),
    "deactivate": (
        "⛔ Deactivate 2FA",
        "Deactivate two-factor authentication?",
        "Their key and backup codes are **deleted**: they sign in with the password only until "
        "they set up two-factor authentication again.",
        "Two-factor authentication turned off",
        "Deactivate 2FA",
    ),
    "disable": (
        "🚫 Disable account",
        "Disable these accounts?",
        "They can no longer sign in until an account is enabled again.",
        "Disabled",
        "Disable",
    ),
    "enable": (
        "✅ Enable account",
        "Enable these accounts?",
        "They can sign in again.",
        "Enabled",
        "Enable",
    ),
    "unlock": (
        "🔓 Clear lockout",
        "Clear failed attempts?",
        "Their failed sign-in attempts are forgotten and any lockout ends now.",
        "Lockout cleared",
        "Clear lockout",
    ),
}


def _open(action: str, targets: list[Target]) -> None:
    st.session_state[keys.DIALOG] = action
    st.session_state[keys.TARGETS] = targets
    st.session_state.pop(keys.DIALOG_ERROR, None)
    st.session_state.pop(keys.REASON, None)


def _close() -> None:
    for key in (keys.DIALOG, keys.TARGETS, keys.DIALOG_ERROR, keys.REASON):
        st.session_state.pop(key, None)


# Two rows of three, so that every label fits at 1280 px (six in a row were cut short).
ROWS = (("reset", "deactivate", "unlock"), ("disable", "enable", "create"))


def buttons(chosen: list[UserRow]) -> None:
    """The action bar under the table; opens the dialog of the action clicked."""
    targets: list[Target] = [(r.id, r.username, r.display_name) for r in chosen]
    for row in ROWS:
        for column, action in zip(st.columns(len(row)), row, strict=True):
            if action == "create":
                column.button(
                    "➕ Create user",
                    key=keys.action_key("create"),
                    on_click=_open,
                    args=("create", []),
                    width="stretch",
                )
                continue
            column.button(
                ACTIONS[action][0],
                key=keys.action_key(action),
                on_click=_open,
                args=(action, targets),
                disabled=not targets,
                width="stretch",
            )
    if not targets:
        st.caption("Select one or more rows in the table to act on them.")
    open_dialog = st.session_state.get(keys.DIALOG)
    if open_dialog in ACTIONS:
        DIALOGS[open_dialog]()
    elif open_dialog == "create":
        create_dialog()


def _names(targets: list[Target]) -> str:
    lines = [f"- **{plain(name)}** ({plain(username)})" for _, username, name in targets[:10]]
    if len(targets) > 10:
        lines.append(f"- ... and {len(targets) - 10} more")
    return "\n".join(lines)


def _run(call: Callable[[], Any], message: str) -> None:
    """Call a service from a callback: on success flash and close, else keep the dialog open."""
    try:
        call()
    except PortalError as exc:
        st.session_state[keys.DIALOG_ERROR] = str(exc)
        return
    _close()
    st.session_state[keys.TABLE_GEN] = st.session_state.get(keys.TABLE_GEN, 0) + 1  # fresh rows
    overview.forget(portal_or_stop())
    state.flash(st.session_state, "success", message)


def _apply() -> None:
    portal = portal_or_stop()
    who = state.identity(st.session_state)
    action = st.session_state.get(keys.DIALOG)
    targets: list[Target] = st.session_state.get(keys.TARGETS, [])
    if who is None or action not in ACTIONS:
        return
    ids = [t[0] for t in targets]
    reason = st.session_state.get(keys.REASON, "")
    src = source()
    calls: dict[str, Callable[[], Any]] = {
        "reset": lambda: actions.grant_reset(portal, who, ids, reason, src),
        "deactivate": lambda: actions.deactivate_for(portal, who, ids, reason, src),
        "disable": lambda: actions.set_disabled(portal, who, ids, True, reason, src),
        "enable": lambda: actions.set_disabled(portal, who, ids, False, reason, src),
        "unlock": lambda: actions.clear_lockout(portal, who, ids, reason, src),
    }
    names = ", ".join(plain(t[1]) for t in targets)
    _run(calls[action], f"{ACTIONS[action][3]}: {names}.")


def _body(action: str) -> None:
    close_if_done(keys.DIALOG, action)
    _, _, effect, _, confirm = ACTIONS[action]
    targets: list[Target] = st.session_state.get(keys.TARGETS, [])
    hours = portal_or_stop().settings.reset_grant_hours
    st.markdown(f"This applies to {len(targets)} account(s):\n\n{_names(targets)}")
    st.markdown(effect.format(hours=hours))
    st.text_input(
        "Reason (goes into the audit trail)", key=keys.REASON, max_chars=500, required=True
    )
    who = state.identity(st.session_state)
    mine = who is not None and any(t[0] == who.user_id for t in targets)
    refusal = words.own_account(action, len(targets)) if mine else None
    if refusal:  # said before a reason is typed; the service refuses too
        st.warning(refusal, icon="🙅")
    if st.session_state.get(keys.DIALOG_ERROR):
        st.error(st.session_state[keys.DIALOG_ERROR])
    c1, c2 = st.columns(2)
    c1.button(
        confirm, key=keys.CONFIRM, type="primary", on_click=_apply, disabled=refusal is not None
    )
    c2.button("Cancel", key=keys.CANCEL, on_click=_close)


def _dialog(action: str) -> Callable[[], None]:
    def body() -> None:
        _body(action)

    body.__qualname__ = f"{action}_dialog"  # a distinct identity for each dialog
    return st.dialog(ACTIONS[action][1], on_dismiss=_close)(body)


DIALOGS = {action: _dialog(action) for action in ACTIONS}


def _create() -> None:
    portal = portal_or_stop()
    who = state.identity(st.session_state)
    if who is None:
        return
    ss = st.session_state
    username = ss.get(keys.NEW_USERNAME, "")

    def call() -> None:
        actions.create_account_for(
            portal,
            who,
            username,
            ss.get(keys.NEW_PASSWORD, ""),
            Role(ss.get(keys.NEW_ROLE, "user")),
            ss.get(keys.NEW_DISPLAY, ""),
            source(),
            confirm=ss.get(keys.NEW_CONFIRM, ""),
        )

    _run(
        call,
        f"Account **{plain(username.strip().lower())}** created. Two-factor authentication is off "
        "until they set it up.",
    )
    if keys.DIALOG not in ss:
        for key in (keys.NEW_USERNAME, keys.NEW_DISPLAY, keys.NEW_PASSWORD, keys.NEW_CONFIRM):
            ss.pop(key, None)


@st.dialog("Create user", on_dismiss=_close)
def create_dialog() -> None:
    close_if_done(keys.DIALOG, "create")
    st.text_input("Username", key=keys.NEW_USERNAME, max_chars=64, required=True)
    st.text_input("Display name", key=keys.NEW_DISPLAY, max_chars=100)
    st.selectbox("Role", [r.value for r in Role], format_func=words.role_label, key=keys.NEW_ROLE)
    for label, key in (
        ("First password", keys.NEW_PASSWORD),
        ("First password again", keys.NEW_CONFIRM),
    ):
        st.text_input(label, type="password", key=key, max_chars=passwords.MAX_CHARS, required=True)
    st.caption("Hand the password over in person; the account starts with 2FA off.")
    if st.session_state.get(keys.DIALOG_ERROR):
        st.error(st.session_state[keys.DIALOG_ERROR])
    c1, c2 = st.columns(2)
    c1.button("Create", key=keys.CONFIRM, type="primary", on_click=_create)
    c2.button("Cancel", key=keys.CANCEL, on_click=_close)
