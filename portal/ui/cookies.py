"""The browser side of sessions: a tiny component that POSTs to our own cookie routes.

A script cannot set an HttpOnly cookie; only an HTTP response can. The component calls
/api/session/establish (or /logout) with fetch on the same origin and reports the status.
"""

from __future__ import annotations

import secrets
from typing import Any

import streamlit as st

from portal.access import accounts, sessions
from portal.context import Portal
from portal.models import Identity
from portal.ui import state
from portal.ui.widgets import source

_JS = """
export default function(component) {
  const { data, setTriggerValue } = component;
  if (!data || !data.url) return;
  window.__portalCookieOps = window.__portalCookieOps || {};
  if (window.__portalCookieOps[data.nonce]) return;  // a re-render must not send it twice
  window.__portalCookieOps[data.nonce] = true;
  fetch(data.url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-Portal-Request": "1"},
    body: JSON.stringify(data.body || {}),
  }).then(async (r) => {
    // After a forward-auth sign-in the server names the app to go back to (an allow-listed
    // URL it checked itself, portal/gateway/rules.py); nothing from this page chooses it.
    let next = null;
    try { next = (await r.clone().json()).next || null; } catch (e) {}
    setTriggerValue("status", r.status);
    if (r.status === 200 && next) window.location.assign(next);
  }).catch(() => setTriggerValue("status", 0));
}
"""

_component = st.components.v2.component("portal_cookie", js=_JS)


def _headers() -> dict[str, str]:
    return dict(st.context.headers) if st.context.headers else {}


def browser_id() -> str:
    cookies = st.context.cookies
    return str(cookies.get(sessions.BROWSER_COOKIE, "")) if cookies else ""


def user_agent() -> str:
    return _headers().get("User-Agent", "")


def start_session(portal: Portal, who: Identity) -> None:
    """After a complete sign-in: ask the browser to trade a ticket for the session cookie."""
    browser = browser_id()
    if not browser:
        return  # no middleware (AppTest, plain `streamlit run`): this tab only
    ticket = sessions.issue_ticket(portal, who, browser, source())
    st.session_state[state.SESSION_ID] = ticket.session_id
    st.session_state[state.COOKIE_OP] = {
        "url": "/api/session/establish",
        "body": {"ticket": ticket.ticket},
        "nonce": secrets.token_hex(8),
        "kind": "establish",
    }


def clear_cookie() -> None:
    if browser_id():
        st.session_state[state.COOKIE_OP] = {
            "url": "/api/session/logout",
            "body": {},
            "nonce": secrets.token_hex(8),
            "kind": "logout",
        }


def run_pending_op() -> bool:
    """Run the pending cookie request; True while the page must wait for it."""
    op: dict[str, Any] | None = st.session_state.get(state.COOKIE_OP)
    if not op:
        return False
    result = _component(
        data=op, key=f"cookie_{op['nonce']}", on_status_change=lambda: None, height=0
    )
    status = getattr(result, "status", None)
    if status is None:
        # Wait for the route: a reload before it answered would find the old cookie state.
        text = "Finishing sign-in..." if op["kind"] == "establish" else "Signing out..."
        st.info(text, icon="⏳")
        return True
    del st.session_state[state.COOKIE_OP]
    if status != 200 and op["kind"] == "establish":
        state.flash(
            st.session_state,
            "warning",
            "Your browser did not accept the session cookie: you are signed in in this tab "
            "only, and a reload will sign you out.",
        )
    return False


def restore(portal: Portal) -> None:
    """Once per browser session: sign in from the session cookie, if it is still good."""
    if st.session_state.get(state.COOKIE_CHECKED):
        return
    st.session_state[state.COOKIE_CHECKED] = True
    cookies = st.context.cookies
    token = str(cookies.get(sessions.SESSION_COOKIE, "")) if cookies else ""
    if not token or state.identity(st.session_state) is not None:
        return
    found = sessions.resume(
        portal,
        token,
        browser_id(),
        user_agent(),
        on_end=lambda why: state.flash(st.session_state, "warning", why),
    )
    if found is not None:
        st.session_state[state.IDENTITY], st.session_state[state.SESSION_ID] = found


def sign_out(portal: Portal, message: str, kind: str) -> None:
    """End this tab's session on the server, clear the cookie, forget the person."""
    who = state.identity(st.session_state)
    session_id = st.session_state.get(state.SESSION_ID)
    if session_id:
        sessions.end(portal, session_id, "signed out")
    if who is not None:
        accounts.record_sign_out(portal, who, source())
    clear_cookie()
    state.sign_out(st.session_state)
    state.flash(st.session_state, kind, message)
