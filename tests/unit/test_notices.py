import dataclasses
import email
import socket

import pytest
from aiosmtpd.controller import Controller

from portal.access import accounts, notices
from portal.context import open_portal
from portal.twofactor import second_factor, self_service
from tests.conftest import PASSWORD, add_user, enrol


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_each_2fa_change_becomes_a_notice_until_acknowledged(portal, clock):
    secret, codes, who = enrol(portal, clock, add_user(portal, "alice"))
    second_factor.verify_sign_in(portal, who.user_id, clock.now(), codes[0], "10.0.0.9 Firefox")
    self_service.view_backup_codes(portal, who, "t")
    texts = [n.text for n in notices.unseen(portal, who)]
    assert texts == [
        "Your backup codes were viewed.",
        "A backup code was used.",
        "Two-factor authentication was turned on.",
    ]
    notices.acknowledge(portal, who)
    assert notices.unseen(portal, who) == []
    clock.advance(seconds=1)
    self_service.deactivate(portal, who, "t")
    assert [n.text for n in notices.unseen(portal, who)] == [
        "Two-factor authentication was turned off."
    ]


def test_no_smtp_settings_sends_nothing_and_fails_nothing(portal, clock):
    enrol(portal, clock, add_user(portal, "alice"))
    assert notices.send_pending(portal) == 0


def test_notices_are_mailed_once_without_any_secret(settings, clock, smtp):
    port, inbox = smtp
    p = open_portal(dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock)
    accounts.create_account(p, None, "alice", PASSWORD, email="alice@example.org")
    accounts.create_account(p, None, "bob", PASSWORD)  # no address: nothing sent, nothing fails
    assert notices.send_pending(p) == 0  # starts from now: history is not mailed
    who = accounts.sign_in_password(p, "alice", PASSWORD, "t").identity
    bob = accounts.sign_in_password(p, "bob", PASSWORD, "t").identity
    secret, codes, who = enrol(p, clock, who)
    enrol(p, clock, bob)
    second_factor.verify_sign_in(p, who.user_id, clock.now(), codes[0], "t")
    assert notices.send_pending(p) == 2
    assert notices.send_pending(p) == 0  # each notice is mailed once
    bodies = [body for rcpt, body in inbox.messages]
    assert [rcpt for rcpt, _ in inbox.messages] == [["alice@example.org"]] * 2
    assert "Two-factor authentication was turned on." in bodies[0]
    assert "A backup code was used." in bodies[1]
    for body in bodies:
        text = email.message_from_string(body).get_payload()
        assert secret not in text
        assert all(code not in text and code[:4] not in text.split() for code in codes)
    p.db.close()
