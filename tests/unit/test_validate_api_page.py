"""The manager page's API-keys section, through AppTest: create (shown once), list, revoke."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from portal import events
from portal.gateway import apikeys
from portal.models import Role
from portal.ui.manager import apikeys as page
from portal.ui.resources import use_portal
from store import audit as audit_store
from tests.app.manager_helpers import open_manager, sign_in, start_app
from tests.conftest import add_user


def manager(p) -> AppTest:
    add_user(p, "boss", Role.SECURITY_MANAGER)
    at = start_app(p)
    sign_in(at, "boss")
    return open_manager(at)


def create(at: AppTest, name: str, sources: str = "") -> AppTest:
    at.text_input(key=page.NAME).input(name)
    at.text_input(key=page.SOURCES).input(sources)
    return at.button(key="FormSubmitter:ak_form-Create key").click().run()


def test_a_key_is_shown_once_listed_and_revoked_after_confirming(p):
    at = manager(p)
    try:
        create(at, "vpn", "10.0.0.0/8")
        assert not at.exception
        [secret] = [c.value for c in at.code]
        assert secret.startswith("p2fa_")
        assert apikeys.authenticate(p, f"Bearer {secret}", "10.1.1.1") is not None
        at.button(key="ak_copied").click().run()
        assert not at.code  # gone: never shown again
        [table] = [d.value for d in at.dataframe if "Last used from" in d.value.columns]
        assert "vpn" in list(table["Name"]) and "p2fa_" not in table.to_string()

        at.selectbox(key=page.PICK).select("vpn").run()
        at.button(key="ak_revoke").click().run()
        at.button(key="ak_cancel").click().run()
        assert apikeys.authenticate(p, f"Bearer {secret}", "10.1.1.1") is not None
        at.button(key="ak_revoke").click().run()
        at.button(key="ak_confirm").click().run()
        assert not at.exception
        assert apikeys.authenticate(p, f"Bearer {secret}", "10.1.1.1") is None
        with p.db.read() as cur:
            kinds = [e.event for e in audit_store.list_events(cur, limit=50)]
        assert events.API_KEY_CREATED in kinds and events.API_KEY_REVOKED in kinds
    finally:
        use_portal(None)


def test_bad_input_is_a_clear_message(p):
    at = manager(p)
    try:
        create(at, "vpn", "not-an-address")
        assert not at.exception and not at.code
        assert any("Not an IP address" in e.value for e in at.error)
        create(at, "<b>x</b>", "")
        assert any("key name" in e.value for e in at.error)
    finally:
        use_portal(None)
