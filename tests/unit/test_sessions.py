import pytest

from portal import events
from portal.access import sessions
from portal.errors import PortalError, SessionRefused
from store import audit as audit_store
from tests.conftest import add_user

BROWSER = "browser-cookie-1"
AGENT = "Mozilla/5.0 Chrome/156"


def signed_in(portal, name="alice"):
    who = add_user(portal, name)
    ticket = sessions.issue_ticket(portal, who, BROWSER, "test")
    token = sessions.redeem_ticket(portal, ticket.ticket, BROWSER, AGENT)
    return who, ticket.session_id, token


def test_ticket_becomes_a_token_once(portal):
    who = add_user(portal, "alice")
    ticket = sessions.issue_ticket(portal, who, BROWSER, "test")
    token = sessions.redeem_ticket(portal, ticket.ticket, BROWSER, AGENT)
    with pytest.raises(SessionRefused):
        sessions.redeem_ticket(portal, ticket.ticket, BROWSER, AGENT)
    found = sessions.resume(portal, token, BROWSER, AGENT)
    assert found is not None and found[0].username == "alice" and found[1] == ticket.session_id


def test_database_stores_only_hashes(portal):
    who, session_id, token = signed_in(portal)
    with portal.db.read() as cur:
        row = cur.execute("SELECT * FROM sessions WHERE id = ?", [session_id]).fetchone()
    assert token not in [str(v) for v in row]
    assert sessions.digest(token) in row


def test_leaked_ticket_is_refused_in_another_browser(portal):
    who = add_user(portal, "alice")
    ticket = sessions.issue_ticket(portal, who, BROWSER, "test")
    with pytest.raises(SessionRefused):
        sessions.redeem_ticket(portal, ticket.ticket, "another-browser", AGENT)


def test_ticket_expires_after_a_minute(portal, clock):
    who = add_user(portal, "alice")
    ticket = sessions.issue_ticket(portal, who, BROWSER, "test")
    clock.advance(seconds=sessions.TICKET_SECONDS + 1)
    with pytest.raises(SessionRefused):
        sessions.redeem_ticket(portal, ticket.ticket, BROWSER, AGENT)


def test_idle_timeout_is_enforced_on_the_server(portal, clock):
    _, session_id, token = signed_in(portal)
    clock.advance(minutes=29)
    assert sessions.check(portal, session_id) is None  # use keeps it alive
    clock.advance(minutes=29)
    assert sessions.resume(portal, token, BROWSER, AGENT) is not None
    clock.advance(minutes=31)
    assert "without activity" in (sessions.check(portal, session_id) or "")
    assert sessions.resume(portal, token, BROWSER, AGENT) is None


def test_absolute_lifetime_ends_a_busy_session(portal, clock):
    _, session_id, token = signed_in(portal)
    for _ in range(12 * 4 - 1):  # busy every 15 minutes for just under 12 hours
        clock.advance(minutes=15)
        assert sessions.check(portal, session_id) is None
    clock.advance(minutes=15, seconds=1)
    assert "at most 12 hours" in (sessions.check(portal, session_id) or "")
    assert sessions.resume(portal, token, BROWSER, AGENT) is None
    with portal.db.read() as cur:
        reason = cur.execute("SELECT end_reason FROM sessions WHERE id = ?", [session_id])
        assert reason.fetchone()[0] == "maximum lifetime"


def test_stolen_cookie_with_another_user_agent_is_refused_and_ends_the_session(portal):
    _, session_id, token = signed_in(portal)
    assert sessions.resume(portal, token, BROWSER, "curl/8.0") is None
    assert sessions.resume(portal, token, BROWSER, AGENT) is None  # ended for good
    with portal.db.read() as cur:
        assert audit_store.list_events(cur, "alice")[0].event == events.SESSION_ENDED


def test_sign_out_revokes_server_side(portal):
    _, session_id, token = signed_in(portal)
    sessions.end_by_token(portal, token)
    assert sessions.resume(portal, token, BROWSER, AGENT) is None


def test_sign_out_everywhere_ends_all_but_kept(portal):
    who, first, token1 = signed_in(portal)
    second = sessions.issue_ticket(portal, who, BROWSER, "test")
    token2 = sessions.redeem_ticket(portal, second.ticket, BROWSER, AGENT)
    assert len(sessions.active(portal, who.user_id)) == 2
    assert sessions.end_all(portal, who, "password changed", keep=first, source="t") == 1
    assert sessions.resume(portal, token1, BROWSER, AGENT) is not None
    assert sessions.resume(portal, token2, BROWSER, AGENT) is None
    sessions.end_all(portal, who, "signed out everywhere", keep=None, source="t")
    assert sessions.resume(portal, token1, BROWSER, AGENT) is None


def test_disabled_account_loses_its_session(portal):
    who, _, token = signed_in(portal)
    with portal.db.write() as cur:
        cur.execute("UPDATE users SET disabled = TRUE WHERE id = ?", [who.user_id])
    assert sessions.resume(portal, token, BROWSER, AGENT) is None


@pytest.mark.parametrize("token", ["", "x", "' OR 1=1 --", "🙂" * 50])
def test_garbage_cookies_are_just_not_signed_in(portal, token):
    assert sessions.resume(portal, token, BROWSER, AGENT) is None


def test_session_refused_is_a_portal_error():
    assert issubclass(SessionRefused, PortalError)
