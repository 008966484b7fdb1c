"""Server-side browser sessions: a one-time ticket becomes an HttpOnly cookie token.

The script cannot set cookies, so after sign-in it issues a short-lived ticket bound to the
browser's own HttpOnly cookie; the page POSTs the ticket to /api/session/establish (portal/asgi.py),
which redeems it once and sets the session cookie. The database keeps only SHA-256 hashes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from portal import events
from portal.access.accounts import identity_for
from portal.context import Portal
from portal.errors import SessionRefused
from portal.models import BrowserSession, Identity
from store import Cursor
from store import audit as audit_store
from store import sessions as session_store
from store import users as user_store

SESSION_COOKIE = "portal_session"
BROWSER_COOKIE = "portal_browser"
TICKET_SECONDS = 60
TOUCH_SECONDS = 30  # write last_seen at most this often


@dataclasses.dataclass(frozen=True)
class Ticket:
    session_id: str
    ticket: str = dataclasses.field(repr=False)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_ticket(p: Portal, identity: Identity, browser_id: str, source: str) -> Ticket:
    """A one-time ticket for this browser; the session it names has no token until redeemed."""
    session_id = secrets.token_urlsafe(16)
    ticket = secrets.token_urlsafe(32)
    now = p.now()
    with p.db.write() as cur:
        session_store.insert_session(
            cur,
            session_id,
            identity.user_id,
            digest(ticket),
            digest(browser_id),
            now + dt.timedelta(seconds=TICKET_SECONDS),
            now,
            identity.second_factor_at,
            source,
        )
    return Ticket(session_id, ticket)


def redeem_ticket(p: Portal, ticket: str, browser_id: str, user_agent: str) -> str:
    """Swap the ticket for a fresh session token (once, in the browser it was issued to)."""
    if not ticket or not browser_id:
        raise SessionRefused()
    token = secrets.token_urlsafe(32)
    found = p.db.transact(
        lambda cur: session_store.update_redeem_ticket(
            cur, digest(ticket), digest(browser_id), digest(token), user_agent[:512], p.now()
        )
    )
    if found is None:
        raise SessionRefused()
    return token


@dataclasses.dataclass(frozen=True)
class Resumed:
    """What a live session cookie stands for: the person, and what forward auth needs of them."""

    identity: Identity
    session_id: str
    email: str | None
    enrolled: bool  # an active key now (it may have been turned off since the sign-in)


def resume(
    p: Portal,
    token: str,
    browser_id: str,
    user_agent: str,
    on_end: Callable[[str], None] | None = None,
) -> tuple[Identity, str] | None:
    """The identity behind a session cookie, or None (ending the session if it is misused).

    ``on_end`` hears why, when the cookie's session timed out just now (to tell the person).
    """
    found = resume_full(p, token, browser_id, user_agent, on_end)
    return (found.identity, found.session_id) if found is not None else None


def resume_full(
    p: Portal,
    token: str,
    browser_id: str,
    user_agent: str,
    on_end: Callable[[str], None] | None = None,
) -> Resumed | None:
    """resume(), from one indexed lookup (session, account, e-mail, active key)."""
    if not token:
        return None
    with p.db.read() as cur:
        row = session_store.get_session_for_gate(cur, digest(token))
    if row is None or row[0].ended_at is not None:
        return None
    found, user, email, enrolled = row
    if found.browser_hash != digest(browser_id) or found.user_agent != user_agent[:512]:
        end(p, found.id, "cookie presented by another browser", event=True)
        return None
    ended = _why_ended(p, found)
    if ended is not None:
        if on_end is not None:
            on_end(ended)
        return None
    if user.disabled:
        end(p, found.id, "account disabled")
        return None
    who = identity_for(user, found.created_at, found.second_factor_at)
    return Resumed(who, found.id, email, enrolled)


def check(p: Portal, session_id: str) -> str | None:
    """None while the session is alive (and marks it used); else why it ended."""
    with p.db.read() as cur:
        found = session_store.get_session(cur, session_id)
    if found is None:
        return "Your session has ended. Please sign in again."
    return _why_ended(p, found)


def _why_ended(p: Portal, found: BrowserSession) -> str | None:
    if found.ended_at is not None:
        return f"Your session has ended ({found.end_reason}). Please sign in again."
    now = p.now()
    s = p.settings
    if now - found.last_seen_at > dt.timedelta(minutes=s.session_idle_minutes):
        end(p, found.id, "idle timeout")
        return (
            f"You were signed out after {s.session_idle_minutes} minutes without activity. "
            "Please sign in again."
        )
    if now - found.created_at > dt.timedelta(hours=s.session_max_hours):
        end(p, found.id, "maximum lifetime")
        return f"Sessions last at most {s.session_max_hours} hours. Please sign in again."
    if (now - found.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        with p.db.write() as cur:
            session_store.update_last_seen(cur, found.id, now)
    return None


def recheck(p: Portal, identity: Identity) -> str | None:
    """Why this signed-in tab must stop (account gone, disabled, role changed), or None.

    Run on every signed-in rerun, whatever way the person signed in (a reset-grant sign-in has
    no server-side session to end): one primary-key lookup.
    """
    with p.db.read() as cur:
        user = user_store.get_user(cur, identity.user_id)
    if user is None or user.disabled:
        return f"Your account has been disabled. Ask {p.settings.help_contact}."
    if user.role is not identity.role or user.username != identity.username:
        return "Your account was changed by a security manager. Please sign in again."
    return None


def end(p: Portal, session_id: str, reason: str, event: bool = False) -> None:
    p.db.transact(lambda cur: _end(p, cur, session_id, reason, event))


def _end(p: Portal, cur: Cursor, session_id: str, reason: str, event: bool) -> None:
    ended = session_store.update_end(cur, session_id, p.now(), reason)
    found = session_store.get_session(cur, session_id)
    if ended and event and found is not None:
        user = user_store.get_user(cur, found.user_id)
        audit_store.insert_event(
            cur,
            p.now(),
            events.SESSION_ENDED,
            None,
            user.username if user else None,
            found.source,
            reason,
        )


def end_by_token(p: Portal, token: str) -> None:
    with p.db.read() as cur:
        found = session_store.get_session_by_token(cur, digest(token))
    if found is not None:
        end(p, found.id, "signed out")


def end_all(p: Portal, identity: Identity, reason: str, keep: str | None, source: str) -> int:
    """End a person's sessions (all, or all but `keep`); audited."""

    def end_them(cur: Cursor) -> int:
        count = session_store.update_end_all(cur, identity.user_id, p.now(), reason, keep)
        audit_store.insert_event(
            cur,
            p.now(),
            events.SESSION_ENDED,
            identity.username,
            identity.username,
            source,
            f"{count} session(s): {reason}",
        )
        return count

    return p.db.transact(end_them)


def active(p: Portal, user_id: int) -> list[BrowserSession]:
    with p.db.read() as cur:
        return session_store.list_sessions(cur, user_id)
