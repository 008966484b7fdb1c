"""Notice e-mails carry no link or markup that came from a request, even from old audit rows."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re

from portal import events
from portal.access import accounts, notices
from portal.context import open_portal
from portal.twofactor import second_factor, self_service
from store import audit as audit_store
from tests.conftest import PASSWORD, enrol
from tests.hostile import IMAGE, LINK
from tests.unit.test_notices import smtp  # noqa: F401 - the aiosmtpd sink fixture

LINKISH = re.compile(r"(?i)https?|www|evil\.example|\]\(|!\[|[<>\[\]()@`*]")


def test_notice_mail_drops_links_and_markup_from_the_source(settings, clock, smtp):  # noqa: F811
    port, inbox = smtp
    p = open_portal(dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock)
    accounts.create_account(p, None, "alice", PASSWORD, email="alice@example.org")
    assert notices.send_pending(p) == 0  # starts from now
    who = accounts.sign_in_password(p, "alice", PASSWORD, "t").identity
    _, codes, who = enrol(p, clock, who)
    second_factor.verify_sign_in(p, who.user_id, clock.now(), codes[0], f"10.0.0.9 {LINK}")
    self_service.view_backup_codes(p, who, f"10.0.0.8 {IMAGE} www.evil.example evil.example/x")
    with p.db.write() as cur:  # a row written before sources were filtered at the request
        audit_store.insert_event(
            cur,
            p.now(),
            events.CODES_VIEWED,
            "alice",
            "alice",
            "2001:db8::7 <http://evil.example> :material/lock: mallory@evil.example",
            None,
        )
    assert notices.send_pending(p) == 4
    texts = [
        email.message_from_string(body, policy=email.policy.default).get_content()
        for _, body in inbox.messages
    ]
    for text in texts:
        assert "Hello alice," in text
        assert not LINKISH.search(text), text
    froms = [line for text in texts for line in text.splitlines() if line.startswith("From:")]
    assert froms == [
        "From: test",
        "From: 10.0.0.9 Unlock here",
        "From: 10.0.0.8",
        "From: 2001:db8::7 :material/lock: mallory",
    ]
    p.db.close()
