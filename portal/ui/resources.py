"""The process-wide Portal for the running app, opened once per settings (one DuckDB connection)."""

from __future__ import annotations

import streamlit as st

from portal.context import Portal, shared_portal
from portal.errors import PortalError
from portal.settings import load_settings

_override: Portal | None = None


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
