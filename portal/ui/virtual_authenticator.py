"""Demo mode's sidebar: the virtual authenticator (a phone app on screen) and Reset demo."""

from __future__ import annotations

import base64
import html
import math

import streamlit as st

from portal import demo, demo_codes
from portal.context import Portal
from portal.errors import PortalError
from portal.twofactor import totp
from portal.ui import cookies, state
from portal.ui.widgets import source

PHONE_OFF = "va_phone_off"  # session-state key of the "phone clock 2 minutes off" switch
PHONE_OFF_INLINE = "va_phone_off_inline"  # the same switch in the page's copy, kept in step
RESET = "va_reset"
PANEL = "virtual_authenticator"  # container key: the page shows it as .st-key-virtual_authenticator
INLINE = "virtual_authenticator_inline"  # the copy in the page, shown on narrow screens only
RING = 40  # pixels


def refuse_unless_demo(portal: Portal) -> None:
    """At start-up: PORTAL_DEMO on a database that is not a demo stops the app with a message."""
    try:
        demo.demo_mode(portal)
    except PortalError as exc:
        st.error(f"The portal cannot start: {exc}")
        st.stop()


def sidebar(portal: Portal) -> None:
    """The panel, in demo mode only: the current account's codes, the clock switch, Reset demo.

    Drawn first in the sidebar on every run, even one that stops early to wait for a cookie
    request: a one-second tick of the fragment then always finds its place in the page (a
    tick aimed at a place the last run left empty blanks the page: "Bad delta path index").
    """
    if not demo.demo_mode(portal):
        return
    with st.sidebar, st.container(key=f"{PANEL}_sidebar"):
        st.markdown("### 📱 Virtual authenticator")
        st.caption("**DEMO MODE** · this panel plays the phone for the class.")
        _panel(portal)
        if demo.may_reset(state.identity(st.session_state)):
            st.button(
                "Reset demo",
                key=RESET,
                on_click=_reset,
                args=(portal,),
                help="Every demo account back to its starting state; everyone is signed out.",
            )
        else:
            st.caption("Sign in as the trainer or the manager to reset the demo.")


def inline(portal: Portal) -> None:
    """The same panel first in the page: on a phone the sidebar hides behind an icon.

    The page's CSS shows it below Streamlit's sidebar breakpoint only (see nav.IN_PAGE).
    """
    if not demo.demo_mode(portal):
        return
    with st.container(key=INLINE), st.expander("📱 Virtual authenticator (demo)", expanded=True):
        _panel(portal, inline=True)


def _account_id() -> int | None:
    """The signed-in account, or the one at the code step of sign-in."""
    who = state.identity(st.session_state)
    if who is not None:
        return who.user_id
    waiting = state.pending(st.session_state)
    return waiting.user_id if waiting is not None else None


def _keep_in_step(changed: str, other: str) -> None:
    st.session_state[other] = st.session_state[changed]


@st.fragment(run_every=1)
def _panel(portal: Portal, inline: bool = False) -> None:
    # Only this fragment reruns every second; the page and its forms stay as they are.
    switch, other = (PHONE_OFF_INLINE, PHONE_OFF) if inline else (PHONE_OFF, PHONE_OFF_INLINE)
    with st.container(key=f"{PANEL}_panel" if inline else PANEL):
        user_id = _account_id()
        if user_id is None:
            st.caption("Sign in with a demo account: its codes appear here.")
            return
        if switch not in st.session_state:
            st.session_state[switch] = bool(st.session_state.get(other))
        phone_off = bool(st.session_state.get(switch))
        try:
            entries = demo_codes.authenticator(portal, user_id, phone_off)
        except PortalError as exc:
            st.error(str(exc))
            return
        if not entries:
            st.caption(
                "No key on this phone yet. Open *Two-factor set-up*: the key "
                "appears here as soon as the wizard shows its QR code."
            )
            return
        for entry in entries:
            st.markdown(entry_html(entry), unsafe_allow_html=True)
        st.toggle(
            "Simulate a phone clock 2 minutes off",
            key=switch,
            on_change=_keep_in_step,
            args=(switch, other),
        )
        if phone_off:
            st.caption(
                "This phone's clock runs 2 minutes fast: its codes fail, and the set-up "
                "wizard explains why."
            )


def ring_uri(seconds_left: float, period: int = totp.PERIOD) -> str:
    """The countdown ring to the next code, as an SVG data URI (st.html strips inline <svg>)."""
    whole = max(0, min(period, math.ceil(seconds_left)))
    radius = 16
    around = 2 * math.pi * radius
    colour = "#d1242f" if whole <= 5 else "#1f6feb"
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{RING}" height="{RING}" '
        'viewBox="0 0 40 40">'
        f'<circle cx="20" cy="20" r="{radius}" fill="none" stroke="#e3e6ea" stroke-width="5"/>'
        f'<circle cx="20" cy="20" r="{radius}" fill="none" stroke="{colour}" stroke-width="5" '
        f'stroke-dasharray="{around * whole / period:.2f} {around:.2f}" '
        'transform="rotate(-90 20 20)"/>'
        f'<text x="20" y="25" text-anchor="middle" font-family="sans-serif" font-size="13" '
        f'fill="#31333f">{whole}</text></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def entry_html(entry: demo_codes.AppEntry) -> str:
    """One app entry: label, the code in two groups of three, and the ring beside it."""
    seconds = math.ceil(entry.seconds_left)
    label = html.escape(entry.label + (" (new key)" if entry.pending else ""))
    return (
        '<div style="display:flex;align-items:center;gap:0.75rem;margin:0.25rem 0">'
        f'<img src="{ring_uri(entry.seconds_left)}" width="{RING}" height="{RING}" '
        f'alt="{seconds} seconds left"/>'
        f'<div><div style="font-size:0.8rem;opacity:0.75">{label}</div>'
        '<div style="font-size:1.9rem;font-weight:600;letter-spacing:0.06em;'
        f'font-family:monospace;line-height:1.1">{entry.shown}</div></div></div>'
    )


def _reset(portal: Portal) -> None:
    who = state.identity(st.session_state)
    try:
        demo.reset(portal, who, source())
    except PortalError as exc:
        state.flash(st.session_state, "error", str(exc))
        return
    cookies.sign_out(
        portal, "Demo reset: every demo account is back to its starting state.", "success"
    )
