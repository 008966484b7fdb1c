"""Session-state keys (one place) and guards over a plain mapping, testable without Streamlit."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, MutableMapping
from typing import Any

from portal.models import Identity

IDENTITY = "identity"  # Identity of the signed-in person
PENDING = "pending_sign_in"  # PendingSignIn between the password and the code
NEW_PASSWORD = "pending_new_password"  # noqa: S105 - PendingSignIn until a first one is changed
FORCED_WIZARD = "forced_wizard"  # True after a reset grant: only the wizard until it is done
WIZARD = "wizard"  # WizardState while the set-up wizard is open
MANAGE = "manage_action"  # the manage option being worked on
FLASH = "flash"  # list of (kind, text) messages shown once on the next run
ABANDON_SEEN = "abandon_reported"  # the abandoned set-up was audited in this session
DIALOG = "dialog"  # which confirmation dialog is open
SESSION_ID = "session_id"  # the server-side session of this tab, when it has a cookie
COOKIE_OP = "cookie_op"  # a pending request to the cookie routes
COOKIE_CHECKED = "cookie_checked"  # the session cookie was read once for this session
LAST_USERNAME = "last_username"  # kept so Cancel or a wrong password does not lose it
SIGNED_OUT = "signed_out"  # signed out in this tab: the next sign-in lands on the landing page


@dataclasses.dataclass(frozen=True)
class PendingSignIn:
    """A correct password waiting for its second factor (never counts as signed in)."""

    user_id: int
    username: str
    password_at: dt.datetime
    backup: bool = False


@dataclasses.dataclass
class WizardState:
    step: str = "intro"  # intro -> qr -> verify -> codes -> done
    verified: bool = False
    factor_id: int | None = None  # the pending key this wizard shows; later steps act on it only


def identity(state: Mapping[Any, Any]) -> Identity | None:
    value = state.get(IDENTITY)
    return value if isinstance(value, Identity) else None


def pending(state: Mapping[Any, Any]) -> PendingSignIn | None:
    value = state.get(PENDING)
    return value if isinstance(value, PendingSignIn) else None


def is_manager(state: Mapping[Any, Any]) -> bool:
    who = identity(state)
    return who is not None and who.is_manager


def sign_out(state: MutableMapping[Any, Any]) -> None:
    """Forget everything about the person in this session."""
    for key in list(state.keys()):
        if key not in (FLASH, COOKIE_OP, COOKIE_CHECKED):
            del state[key]
    state[SIGNED_OUT] = True  # the next person does not start on the page this one left


def flash(state: MutableMapping[Any, Any], kind: str, text: str) -> None:
    state.setdefault(FLASH, []).append((kind, text))


def take_flashes(state: MutableMapping[Any, Any]) -> list[tuple[str, str]]:
    return list(state.pop(FLASH, []))
