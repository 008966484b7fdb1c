"""The record of a finished sign-in, written in the caller's transaction."""

from __future__ import annotations

import datetime as dt

from portal import events
from portal.errors import InvalidCredentials
from portal.models import User
from store import Cursor
from store import audit as audit_store
from store import users as user_store


def record_sign_in(
    cur: Cursor, user_id: int, name: str, now: dt.datetime, source: str, second_factor: bool
) -> User:
    """Stamp the account's last sign-in and audit it; returns the account as stamped.

    InvalidCredentials, which rolls the caller's whole transaction back, if the account is gone,
    disabled or no longer called `name`: the code step reads the account no earlier than here.
    """
    stamped = user_store.update_last_sign_in(cur, user_id, now)
    if stamped is None or stamped.disabled or stamped.username != name:
        raise InvalidCredentials()
    how = "password and second factor" if second_factor else "password only"
    audit_store.insert_event(cur, now, events.SIGN_IN_OK, name, name, source, how)
    return stamped
