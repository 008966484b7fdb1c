"""Forward-auth decisions: may the holder of this portal session open this URL of another app?

One decision per request the proxy forwards, so it stays cheap: one query, the session cookie's
token by its UNIQUE index joined to the account and whether it has an active key
(sessions.resume_full, which also checks the browser binding, the idle and lifetime limits and
a disabled account); only a password-only session under a 2FA policy reads more. Allowed
requests are not written anywhere; each denial is counted per day, host and reason, and a
signed-in person refused by a rule gets one audit row per minute at most (see README,
"Protecting other apps").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import weakref

from portal import events
from portal.access import sessions
from portal.context import Portal
from portal.gateway.rules import MANAGERS, TWO_FACTOR, Rule, Rules, Target
from portal.models import Identity
from portal.twofactor import policy
from store import Database
from store import apikeys as apikey_store
from store import audit as audit_store

OTHER_HOST = "(other)"
NO_SESSION, UNKNOWN_APP = "no session", "unknown app"
NEEDS_TWO_FACTOR, MANAGERS_ONLY, NOT_FRESH = "needs 2FA", "managers only", "step-up"
POLICY = "2FA required by policy"
MESSAGES = {
    UNKNOWN_APP: "The portal does not sign people in for this address.",
    NEEDS_TWO_FACTOR: (
        "This app is open only to people who signed in with two-factor authentication. Set it "
        "up in the portal (Configure two-factor authentication), then sign out and sign in "
        "again with your code."
    ),
    MANAGERS_ONLY: "This app is open to security managers only.",
    POLICY: "Your organisation requires two-factor authentication: set it up in the portal first.",
}
AUDIT_EVERY = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Decision:
    status: int  # 200 allowed, 401 sign in first, 403 refused (a clear page, never a loop)
    reason: str
    identity: Identity | None = None
    email: str | None = None
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 200


def _fresh_message(minutes: int) -> str:
    return (
        f"This app asks for a code from your authenticator given in the last {minutes} "
        "minute(s). Sign out of the portal and sign in again with your code, then reload the app."
    )


def decide(
    p: Portal, rules: Rules, target: Target | None, token: str, browser_id: str, agent: str
) -> Decision:
    """The decision, without side effects beyond those of sessions.resume."""
    rule = rules.rule_for(target) if target is not None else None
    if rule is None:
        return Decision(403, UNKNOWN_APP, message=MESSAGES[UNKNOWN_APP])
    # Without the browser cookie there is nothing to check the session against; resume()
    # would end the session as misused, which a host-only browser cookie must not cause.
    found = sessions.resume_full(p, token, browser_id, agent) if token and browser_id else None
    if found is None:
        return Decision(401, NO_SESSION)
    identity = found.identity
    refusal = _refusal(p, rule, identity, found.enrolled)
    if refusal is not None:
        message = _fresh_message(rule.fresh_minutes) if refusal == NOT_FRESH else MESSAGES[refusal]
        return Decision(403, refusal, identity, message=message)
    return Decision(200, "ok", identity, found.email)


def _refusal(p: Portal, rule: Rule, who: Identity, enrolled: bool) -> str | None:
    """Why the rule (or the 2FA policy) refuses this signed-in person, or None."""
    if who.second_factor_at is None:
        # Signed in with the password alone: fine only while the policy lets them go without.
        if rule.allow == TWO_FACTOR or rule.fresh_minutes:
            return NEEDS_TWO_FACTOR
        if enrolled:
            return NEEDS_TWO_FACTOR  # enrolled since this sign-in: sign in again with the code
        if policy.applies_to(p.settings, who.role) and policy.requirement(p, who).blocked:
            return POLICY  # (the policy's own reads only where it covers this person)
    elif (rule.allow == TWO_FACTOR or rule.fresh_minutes) and not enrolled:
        return NEEDS_TWO_FACTOR  # 2FA was turned off (reset, deactivated) since sign-in
    if rule.allow == MANAGERS and not who.is_manager:
        return MANAGERS_ONLY
    if rule.fresh_minutes:
        at = who.second_factor_at
        if at is None or p.now() - at > dt.timedelta(minutes=rule.fresh_minutes):
            return NOT_FRESH
    return None


_Seen = dict[tuple[int, str, str], dt.datetime]
_audited: weakref.WeakKeyDictionary[Database, _Seen] = weakref.WeakKeyDictionary()
_audited_lock = threading.Lock()


def record_denial(p: Portal, rules: Rules, target: Target | None, decision: Decision) -> None:
    """Count a denial; audit a rule's refusal of a signed-in person (at most once a minute)."""
    host = target.host if target is not None and target.host in rules.hosts else OTHER_HOST
    now, who = p.now(), decision.identity
    audit = who is not None and _first_in_a_while(p, (who.user_id, host, decision.reason), now)
    with p.db.write() as cur:
        apikey_store.upsert_denial(cur, now, host, decision.reason)
        if audit and who is not None and target is not None:
            detail = f"{decision.reason}: {target.host}{target.path}"[:300]
            audit_store.insert_event(
                cur, now, events.AUTHZ_REFUSED, who.username, who.username, "forward auth", detail
            )


def _first_in_a_while(p: Portal, key: tuple[int, str, str], now: dt.datetime) -> bool:
    with _audited_lock:
        seen = _audited.setdefault(p.db, {})
        last = seen.get(key)
        if last is not None and now - last < AUDIT_EVERY:
            return False
        if len(seen) > 10_000:  # bounded: at worst a few extra audit rows
            seen.clear()
        seen[key] = now
        return True


def denials(p: Portal, days: int = 7) -> list[apikey_store.DenialCount]:
    """The counted denials of the last ``days`` days (for the manager's page and the CLI)."""
    with p.db.read() as cur:
        return apikey_store.list_denials(cur, (p.now() - dt.timedelta(days=days)).date())
