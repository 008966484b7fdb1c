"""The process-wide Portal for the running app, opened once per settings (one DuckDB connection)."""

from __future__ import annotations

import streamlit as st

from portal.access import accounts
from portal.context import Portal, shared_portal
from portal.errors import PortalError
from portal.settings import load_settings

_override: Portal | None = None
HAS_ACCOUNTS = "has_accounts"  # Portal.memo: needs_first_run() was False once in this process


def use_portal(portal: Portal | None) -> None:
    """Tests hand the app a Portal built on their own database and clock."""
    global _override
    _override = portal


def portal_or_stop() -> Portal:
    """The Portal, or a clear one-line error page (locked database, wrong key) and stop."""
    if _override is not None:
        return _override
    try:
        return shared_portal(load_settings())
    except PortalError as exc:
        st.error(f"The portal cannot start: {exc}")
        st.stop()
        raise  # unreachable: st.stop() raises


def needs_first_run(portal: Portal) -> bool:
    """accounts.needs_first_run(), asked on every run until it is False once, then remembered.

    It cannot become True again: accounts are never deleted (managers disable them; no store
    statement removes an account row, as tests/app/test_rerun_statements.py checks), and a
    restore swaps a DuckDB file only while no portal holds it (on PostgreSQL it goes to a new
    database), so no running process sees the count fall back to 0.
    """
    if portal.memo.get(HAS_ACCOUNTS):
        return False
    if accounts.needs_first_run(portal):
        return True
    portal.memo[HAS_ACCOUNTS] = True
    return False
