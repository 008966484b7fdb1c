"""Every signed-in rerun re-checks the account: disabled or changed accounts stop at once.

A reset-grant sign-in has no server-side session (it gets its cookie only after the wizard), so
"end the person's sessions" cannot reach it: the per-rerun check must.
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal.errors import PortalError
from portal.manager import actions
from portal.models import Role
from portal.twofactor import enrolment, totp
from store import factors as factor_store
from store import users as user_store
from tests.app.conftest import sign_in, texts
from tests.app.test_wizard_flow import read_key, verify
from tests.conftest import add_user, enrol


def grant_reset_directly(portal, clock, who) -> None:
    with portal.db.write() as cur:
        factor_store.delete_factors(cur, who.user_id)
        user_store.update_reset_grant(
            cur, who.user_id, clock.now(), clock.now() + dt.timedelta(hours=24), "boss"
        )


def test_disabling_stops_a_tab_that_signed_in_with_a_reset_grant(app, portal, clock):
    _, _, alice = enrol(portal, clock, add_user(portal, "alice"))
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    grant_reset_directly(portal, clock, alice)
    app.run()
    sign_in(app, "alice")
    app.button(key="wz_next_intro").click().run()
    secret = read_key(app)
    app.button(key="wz_next_qr").click().run()
    verify(app, totp.code_at(secret, clock.now()))
    app.button(key="wz_next_verify").click().run()
    assert app.button(key="wz_finish")  # at the backup codes, one click from 2FA on

    actions.set_disabled(portal, boss, [alice.user_id], True, "left the company", "test")
    app.run()  # the open tab's next click

    assert "Your account has been disabled" in texts(app)
    assert app.text_input(key="si_username")  # back at sign-in
    assert not [b for b in app.button if b.key == "wz_finish"]
    assert not enrolment.state(portal, alice).enabled


def test_a_role_change_signs_the_open_tab_out(app, portal, clock):
    add_user(portal, "boss", Role.SECURITY_MANAGER)
    bob = add_user(portal, "bob")
    app.run()
    sign_in(app, "bob")
    assert "Hello" in texts(app)
    with portal.db.write() as cur:
        cur.execute("UPDATE users SET role = 'security_manager' WHERE id = ?", [bob.user_id])
    app.run()
    assert "changed by a security manager" in texts(app)
    assert app.text_input(key="si_username")


def test_services_refuse_a_disabled_account_mid_wizard(portal, clock):
    alice = add_user(portal, "alice")
    view = enrolment.start(portal, alice, "test")
    enrolment.verify(portal, alice, totp.code_at(view.secret, clock.now()), "test")
    enrolment.issue_codes(portal, alice)
    with portal.db.write() as cur:
        user_store.update_disabled(cur, alice.user_id, True)
    with pytest.raises(PortalError, match="disabled"):
        enrolment.finish(portal, alice, "test", view.factor_id)
    assert not enrolment.state(portal, alice).enabled
