"""The process-wide Portal for the running app, opened once per settings (one DuckDB connection)."""

from __future__ import annotations

import streamlit as st

from portal.core import Portal, open_portal
from portal.errors import PortalError
from portal.settings import Settings, load_settings

_override: Portal | None = None


def use_portal(portal: Portal | None) -> None:
    """Tests hand the app a Portal built on their own database and clock."""
    global _override
    _override = portal


@st.cache_resource(show_spinner=False)
def _open(key: str, _settings: Settings) -> Portal:
    return open_portal(_settings)


def portal_or_stop() -> Portal:
    """The Portal, or a clear one-line error page (locked database, wrong key) and stop."""
    if _override is not None:
        return _override
    try:
        settings = load_settings()
        return _open(repr(settings), settings)
    except PortalError as exc:
        st.error(f"The portal cannot start: {exc}")
        st.stop()
        raise  # unreachable: st.stop() raises
