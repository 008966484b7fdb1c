"""Notices to a person about every change to their 2FA ("Was this you?"), from the audit trail.

The audit table is the outbox: a notice is an audited event of a notifying kind about the
person, newer than the last time they acknowledged their notices. No code, key or backup code is
ever part of an audit row, so none can appear in a notice or an email.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.message
import logging
import re
import smtplib
import threading
import time

from portal import events
from portal.context import Portal
from portal.models import AuditEvent, Identity
from store import audit as audit_store
from store import meta as meta_store
from store import users as user_store

TEXT = {
    events.WIZARD_COMPLETED: "Two-factor authentication was turned on.",
    events.KEY_REPLACED: "Your authenticator key was replaced by a new one.",
    events.KEY_REVEALED: "Your key was shown again to set up another device or app.",
    events.CODES_VIEWED: "Your backup codes were viewed.",
    events.CODES_REGENERATED: "New backup codes were generated; the old ones stopped working.",
    events.CODE_USED: "A backup code was used.",
    events.RESET_GRANTED: "A security manager reset your two-factor authentication.",
    events.DEACTIVATED: "Two-factor authentication was turned off.",
    events.LOCKOUT: "Your account was locked after too many failed attempts.",
}
MAILED_UP_TO = "notices_mailed_up_to"
LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Notice:
    at: dt.datetime
    text: str
    source: str | None
    by: str | None


@dataclasses.dataclass(frozen=True)
class NoticeGroup:
    """Identical notices (same change, same actor) shown once with how many there were."""

    text: str
    by: str | None
    count: int
    first: dt.datetime
    last: dt.datetime
    sources: tuple[str, ...]  # distinct, newest first


def grouped(found: list[Notice]) -> list[NoticeGroup]:
    """One line per kind of change and actor, newest first: 8 backup codes used is one line."""
    keys: dict[tuple[str, str | None], list[Notice]] = {}
    for n in sorted(found, key=lambda n: n.at, reverse=True):
        keys.setdefault((n.text, n.by), []).append(n)
    return [
        NoticeGroup(
            text,
            by,
            len(items),
            items[-1].at,
            items[0].at,
            tuple(dict.fromkeys(n.source or "unknown" for n in items)),
        )
        for (text, by), items in keys.items()
    ]


def dispute(p: Portal, identity: Identity, found: list[Notice], source: str) -> None:
    """Tell the security managers through the audit trail ("No, it wasn't me")."""
    summary = "; ".join(f"{g.count} x {g.text}" for g in grouped(found))
    with p.db.write() as cur:
        audit_store.insert_event(
            cur,
            p.now(),
            events.NOTICE_DISPUTED,
            identity.username,
            identity.username,
            source,
            summary[:1000] or None,
        )


def _notice(event: AuditEvent) -> Notice:
    return Notice(event.occurred_at, TEXT[event.event], event.source, event.actor)


def unseen(p: Portal, identity: Identity) -> list[Notice]:
    """Notices since the person last acknowledged them: one indexed query (none if renamed)."""
    with p.db.read() as cur:
        found = audit_store.list_unseen(cur, identity.user_id, identity.username, sorted(TEXT))
    return [_notice(e) for e in found]


def acknowledge(p: Portal, identity: Identity) -> None:
    with p.db.write() as cur:
        user_store.update_notices_seen_at(cur, identity.user_id, p.now())


def send_pending(p: Portal) -> int:
    """Email every notice not mailed yet to people with an address; returns how many were sent.

    Without SMTP settings nothing is sent and nothing fails. The position in the audit trail is
    saved after each message, so a crash re-sends at most one.
    """
    host = p.settings.smtp_host
    if not host:
        return 0
    with p.db.read() as cur:
        raw = meta_store.get_meta(cur, MAILED_UP_TO)
        after = int(raw.decode()) if raw else _latest_id(p)
        pending = audit_store.list_events_after(cur, after, sorted(TEXT))
    if raw is None:
        _save_position(p, after)
    sent = 0
    with smtplib.SMTP(host, p.settings.smtp_port, timeout=10) as smtp:
        for event in pending:
            address = _address_of(p, event.subject)
            if address:
                smtp.send_message(_message(p, address, event))
                sent += 1
            _save_position(p, event.id)
    return sent


def _latest_id(p: Portal) -> int:
    with p.db.read() as cur:
        return audit_store.latest_id(cur)


def _address_of(p: Portal, username: str | None) -> str | None:
    if not username:
        return None
    with p.db.read() as cur:
        user = user_store.get_user_by_username(cur, username)
        return user_store.get_email(cur, user.id) if user else None


def _save_position(p: Portal, event_id: int) -> None:
    with p.db.write() as cur:
        meta_store.upsert_meta(cur, MAILED_UP_TO, str(event_id).encode())


_UNSAFE = re.compile(r"[^A-Za-z0-9 .:/_-]+")
_LINK = re.compile(r"https?|www|//|ftp|mailto", re.IGNORECASE)
_DOMAIN = re.compile(r"[A-Za-z0-9-]\.[A-Za-z]{2,}")  # "evil.example/x": mail clients link it


def _mail_text(value: str | None, *, source: bool = False) -> str:
    """Request text for a plain-text e-mail: safe characters only, no word shaped like a link.

    Old audit rows may still hold raw User-Agent text (`[Unlock here](http://...)`). A source
    is an address and a browser name, so a host name in it is dropped too; usernames keep dots.
    """
    words = _UNSAFE.sub(" ", value or "").split()
    return " ".join(w for w in words if not _LINK.search(w) and not (source and _DOMAIN.search(w)))


def _message(p: Portal, address: str, event: AuditEvent) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = p.settings.smtp_sender
    msg["To"] = address
    msg["Subject"] = f"{p.settings.issuer}: a change to your two-factor authentication"
    actor = _mail_text(event.actor)
    by = f" by {actor}" if actor and event.actor != event.subject else ""
    msg.set_content(
        f"Hello {_mail_text(event.subject)},\n\n{TEXT[event.event]}\n\n"
        f"When: {event.occurred_at:%Y-%m-%d %H:%M} UTC{by}\n"
        f"From: {_mail_text(event.source, source=True) or 'unknown'}\n\n"
        "If this was not you, sign in and check your two-factor settings, and tell "
        f"{p.settings.help_contact} at once.\n"
    )
    return msg


def start_mailer(p: Portal, every_seconds: float = 15.0) -> threading.Thread | None:
    """A daemon thread that mails new notices; None when no SMTP server is configured."""
    if not p.settings.smtp_host:
        return None

    def loop() -> None:
        while True:
            try:
                send_pending(p)
            except (OSError, smtplib.SMTPException) as exc:
                LOG.warning("could not send notices: %s", exc)
            time.sleep(every_seconds)

    thread = threading.Thread(target=loop, name="notice-mailer", daemon=True)
    thread.start()
    return thread
