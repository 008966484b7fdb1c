"""The manager page's API-keys section: create (shown once), list, revoke (confirmed), denials.

Keys are for the code-check API (POST /api/validate) that VPNs, SSH/PAM bridges and scripts
call; the services check the manager's role again (portal/gateway/apikeys.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import streamlit as st

from portal.context import Portal
from portal.errors import PortalError
from portal.gateway import apikeys, authz
from portal.manager import guard, reports
from portal.models import Identity
from portal.ui import state
from portal.ui.plain import plain
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import close_if_done, source

NAME, SOURCES, NEW_SECRET = "ak_name", "ak_sources", "ak_new_secret"
PICK, DIALOG, ERROR = "ak_pick", "ak_dialog", "ak_error"
REVOKE = "revoke"
CACHE = "ak_cache"  # this session's keys and denials, read at most SNAPSHOT_SECONDS ago


@dataclasses.dataclass(frozen=True)
class _Read:
    keys: list[apikeys.ApiKey]
    denials: list[Any]
    as_of: dt.datetime
    user_id: int  # whose read: a session signed in as someone else reads afresh


def forget() -> None:
    """After this session created or revoked a key: the next run reads the list again."""
    st.session_state.pop(CACHE, None)


def _read(p: Portal, who: Identity, checked: guard.Checked | None) -> _Read:
    """The keys and denials, reread when older than the page's cache rule (5 s).

    The page checks the role on every run (``checked``); without that check, every run reads.
    """
    now = p.now()
    cached = st.session_state.get(CACHE)
    checked_now = checked is not None and checked.actor == who
    if checked_now and isinstance(cached, _Read) and _reusable(cached, who, now):
        return cached
    read = _Read(apikeys.all_keys(p, who), authz.denials(p), now, who.user_id)
    st.session_state[CACHE] = read
    return read


def _reusable(cached: _Read, who: Identity, now: dt.datetime) -> bool:
    age = (now - cached.as_of).total_seconds()
    return cached.user_id == who.user_id and 0 <= age < reports.SNAPSHOT_SECONDS


def render(p: Portal, who: Identity, checked: guard.Checked | None = None) -> None:
    with st.expander("🔑 API keys (code-check API for VPN, SSH and scripts)"):
        _new_key_form()
        _shown_once()
        read = _read(p, who, checked)
        _table(read.keys)
        st.caption(
            f"Keys and denials as of {read.as_of.astimezone(dt.UTC):%H:%M:%S} UTC, "
            f"{max(0, int((p.now() - read.as_of).total_seconds()))} s ago "
            "(your own changes show at once)"
        )
        _revoke_picker([k.name for k in read.keys if k.revoked_at is None])
        _denials(read.denials)


def _table(keys: list[apikeys.ApiKey]) -> None:
    if not keys:
        st.caption("No API keys yet.")
        return
    st.dataframe(
        [
            {
                "Name": k.name,
                "State": "revoked" if k.revoked_at else "live",
                "Sources": k.sources or "any",
                "Created": k.created_at,
                "Created by": k.created_by,
                "Last used": k.last_used_at,
                "Last used from": k.last_used_from,
                "Revoked by": k.revoked_by,
            }
            for k in keys
        ],
        hide_index=True,
        key="ak_table",
    )


def _new_key_form() -> None:
    with st.form("ak_form", clear_on_submit=True):
        st.text_input("Key name (e.g. vpn)", key=NAME, max_chars=64)
        st.text_input(
            "Allowed source addresses (IPs or networks, comma-separated; empty: any)",
            key=SOURCES,
            max_chars=500,
        )
        st.form_submit_button("Create key", on_click=_create)
    if st.session_state.get(ERROR):
        st.error(st.session_state.pop(ERROR))


def _create() -> None:
    who = state.identity(st.session_state)
    name, sources = st.session_state.get(NAME, ""), st.session_state.get(SOURCES, "")
    try:
        made = apikeys.create(portal_or_stop(), who, name, sources, source())
    except PortalError as exc:
        st.session_state[ERROR] = str(exc)
        return
    finally:
        forget()
    st.session_state[NEW_SECRET] = (made.name, made.secret)


def _shown_once() -> None:
    made = st.session_state.get(NEW_SECRET)
    if not made:
        return
    name, secret = made
    st.success(f"Key {plain(name)} created. Copy it now: it is shown only this once.")
    st.code(secret, language=None)
    st.button(
        "I have copied the key", key="ak_copied", on_click=st.session_state.pop, args=(NEW_SECRET,)
    )


def _revoke_picker(live: list[str]) -> None:
    if not live:
        return
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.selectbox("Key to revoke", live, key=PICK)
    c2.button("⛔ Revoke key", key="ak_revoke", on_click=_open)
    if st.session_state.get(DIALOG) == REVOKE:
        _revoke_dialog()


def _open() -> None:
    st.session_state[DIALOG] = REVOKE
    st.session_state.pop(ERROR, None)


def _close() -> None:
    st.session_state.pop(DIALOG, None)


def _revoke() -> None:
    who = state.identity(st.session_state)
    name = str(st.session_state.get(PICK, ""))
    try:
        apikeys.revoke(portal_or_stop(), who, name, source())
    except PortalError as exc:  # e.g. revoked meanwhile elsewhere: the list is reread below too
        st.session_state[ERROR] = str(exc)
    else:
        state.flash(st.session_state, "success", f"API key {plain(name)} revoked.")
    forget()  # the revoked key leaves this manager's list at once
    _close()


@st.dialog("Revoke this API key?", on_dismiss=_close)
def _revoke_dialog() -> None:
    close_if_done(DIALOG, REVOKE)
    name = str(st.session_state.get(PICK, ""))
    st.markdown(
        f"Key **{plain(name)}** stops working at once: every system that uses it can no longer "
        "check codes until it gets a new key. This cannot be undone."
    )
    c1, c2 = st.columns(2)
    c1.button("Revoke", key="ak_confirm", type="primary", on_click=_revoke)
    c2.button("Cancel", key="ak_cancel", on_click=_close)


def _denials(counted: list[Any]) -> None:
    total = sum(d.count for d in counted)
    st.caption(f"Forward-auth denials in the last 7 days: {total}")
    if counted:
        st.dataframe(
            [{"Day": d.day, "Host": d.host, "Reason": d.reason, "Count": d.count} for d in counted],
            hide_index=True,
            key="ak_denials",
        )
