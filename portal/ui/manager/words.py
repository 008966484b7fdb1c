"""Words the manager's page shows for stored values (roles, refusals about one's own account)."""

from __future__ import annotations

from portal.ui.nav import TITLES

_SET_UP = TITLES["two_factor"][0]  # the sidebar's name for a person's own 2FA page

# A manager who selected their own row: what they cannot do here, and where they can.
OWN_ACCOUNT = {
    "reset": (
        "You cannot reset your own two-factor authentication here. Still have your phone? "
        f"Open *{_SET_UP}* in the sidebar and choose *Move to a new phone*. Lost it? Another "
        "security manager can reset it for you."
    ),
    "deactivate": (
        "You cannot deactivate your own two-factor authentication here: open "
        f"*{_SET_UP}* in the sidebar and choose *Deactivate two-factor authentication*."
    ),
    "disable": (
        "You cannot disable your own account: another security manager can do that for you."
    ),
}


def role_label(role: str) -> str:
    """'security manager' for security_manager: no underscores on the page."""
    return str(role).replace("_", " ")


def own_account(action: str, selected: int) -> str | None:
    """Why `action` cannot include the acting manager's own row (None if it can)."""
    text = OWN_ACCOUNT.get(action)
    if text is None:
        return None
    return text + (" Unselect your own row to act on the others." if selected > 1 else "")
