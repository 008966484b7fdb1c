"""Shared widgets: error display, the QR/key panel, code input, source of a request."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from portal.errors import PortalError
from portal.http_guard import PEER_HEADER
from portal.twofactor import qr
from portal.twofactor.enrolment import KeyView
from portal.ui import state
from portal.ui.app_link import open_in_app_link
from portal.ui.copy_key import copy_key_button


@contextlib.contextmanager
def errors_shown() -> Iterator[None]:
    """Turn a PortalError raised inside the block into a red message; nothing else changes."""
    try:
        yield
    except PortalError as exc:
        st.error(str(exc))


def close_if_done(flag_key: str, value: str) -> None:
    """First line of a dialog: once a button's callback cleared its flag, rerun the whole page.

    In the browser a button inside a dialog reruns only the dialog (a fragment), so without a
    full rerun the dialog stays on screen after its flag is gone and its buttons act on nothing.
    """
    if st.session_state.get(flag_key) != value:
        st.rerun()


def source() -> str:
    """Who is asking, for the audit trail: client address and browser."""
    # The peer portal/http_guard.py saw: the TCP peer, or what a trusted proxy forwarded.
    # (st.context.ip_address hides 127.0.0.1 and ::1.)
    ip = st.context.headers.get(PEER_HEADER, "") if st.context.headers else ""
    agent = st.context.headers.get("User-Agent", "") if st.context.headers else ""
    where = ip if isinstance(ip, str) and ip else "unknown address"
    return f"{where} {_browser(agent)}".strip()


def _browser(agent: str) -> str:
    """A browser name we know, a short plain token (curl/8.5.0) or "other browser", never raw UA."""
    for name in ("Edg", "Firefox", "Chrome", "Safari"):
        if name + "/" in agent:
            return {"Edg": "Edge"}.get(name, name)
    token = agent.strip()
    if not token:
        return ""
    # The token lands in notices and e-mails: nothing that markdown or a mail client would
    # turn into markup or a link (brackets, "http", "www.", "host.example").
    simple = len(token) <= 40 and token.isascii() and all(c.isalnum() or c in " ./" for c in token)
    linkish = any(word in token.lower() for word in ("http", "www", "//")) or any(
        len(part) >= 2 and part[:2].isalpha() for part in token.split(".")[1:]
    )
    return token if simple and not linkish else "other browser"


def show_flashes() -> None:
    # A pending cookie request reruns the page when it answers: keep the messages for that run.
    if state.COOKIE_OP in st.session_state:
        shown = list(st.session_state.get(state.FLASH, []))
    else:
        shown = state.take_flashes(st.session_state)
    for kind, text in shown:
        {"success": st.success, "warning": st.warning, "info": st.info}.get(kind, st.error)(text)


QR_ALT = "QR code that adds this portal to your authenticator app. If you cannot scan it, {where}"
KEY_BELOW = "the same key is shown below as text, to type into the app."
KEY_BEHIND = 'the "I can\'t scan this code" button below shows the same key as text.'
# The image's hover toolbar (fullscreen) covers the instruction above it, and a bigger QR code
# scans no better.
_NO_TOOLBAR = "<style>.st-key-qr_panel [data-testid='stElementToolbar'] {display: none;}</style>"


def key_panel(view: KeyView, reveal_key_flag: str) -> None:
    """The QR code, and the key in groups of four behind "I can't scan this code"."""
    revealed = bool(st.session_state.get(reveal_key_flag))
    st.html(_NO_TOOLBAR)
    with st.container(key="qr_panel"):
        # Inline (a data: URI): a /media/ URL would serve the key to anyone who had the URL.
        st.image(
            qr.data_uri(view.uri),
            caption="Scan with your authenticator app",
            alt=QR_ALT.format(where=KEY_BELOW if revealed else KEY_BEHIND),
        )
    open_in_app_link(view.uri, f"{reveal_key_flag}_open")
    if revealed:
        st.markdown("Type this key into your app (choose *Enter a setup key*, time-based):")
        st.code(view.grouped, language=None)
        copy_key_button(view.secret, f"{reveal_key_flag}_copy")
        st.caption("Spaces don't matter. **Copy key** puts it on your clipboard without them.")
    else:
        st.button(
            "I can't scan this code",
            key="reveal_key",
            on_click=lambda: st.session_state.update({reveal_key_flag: True}),
        )
