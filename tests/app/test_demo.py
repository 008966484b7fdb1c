"""Demo mode in the app: the virtual authenticator's codes work, Reset demo, the start-up guard,
and `portal demo` as a real server process."""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import demo, demo_codes
from portal.access import accounts
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.settings import Settings
from portal.twofactor import enrolment
from portal.ui import virtual_authenticator
from portal.ui.resources import use_portal
from store import users as user_store
from tests.app.conftest import ENTRY, enter_code, page_path, sign_in, texts
from tests.conftest import ROOT, add_user
from tests.e2e.harness import start_server

CODE = re.compile(r"(?<!\d)(\d{3} \d{3})(?!\d)")


def run_app(p: Portal) -> AppTest:
    use_portal(p)
    return AppTest.from_file(ENTRY, default_timeout=30).run()


@pytest.fixture
def demo_app(settings: Settings, clock: FixedClock) -> Iterator[tuple[AppTest, Portal]]:
    p = open_portal(dataclasses.replace(settings, demo=True), clock)
    demo.seed(p)
    try:
        yield run_app(p), p
    finally:
        use_portal(None)
        p.db.close()


def shown_code(at: AppTest) -> str:
    """The code the virtual authenticator shows in the sidebar, as the class reads it."""
    panel = " ".join(str(m.value) for m in at.sidebar.markdown)
    found = CODE.findall(panel)
    assert len(found) == 1, panel
    return found[0]


def user_id(p: Portal, name: str) -> int:
    with p.db.read() as cur:
        found = user_store.get_user_by_username(cur, name)
    assert found is not None
    return found.id


def test_the_virtual_authenticators_code_is_accepted_at_sign_in(demo_app):
    at, p = demo_app
    assert "Virtual authenticator" in " ".join(m.value for m in at.sidebar.markdown)
    assert not CODE.search(" ".join(m.value for m in at.sidebar.markdown))  # nobody signed in
    sign_in(at, "ada", demo.PASSWORD)
    code = shown_code(at)
    [entry] = demo_codes.authenticator(p, user_id(p, "ada"))
    assert code == entry.shown  # the same function, the same stored key
    assert virtual_authenticator.ring_uri(entry.seconds_left) in at.sidebar.markdown[1].value
    enter_code(at, code)
    assert "Hello, Ada Okafor" in texts(at)
    assert shown_code(at) == code  # still the same 30-second step on the frozen clock


def test_the_phone_clock_switch_shows_the_wizards_clock_warning(demo_app, clock):
    at, p = demo_app
    sign_in(at, "trainer", demo.PASSWORD)
    assert "No key on this phone yet" in " ".join(c.value for c in at.sidebar.caption)
    at.switch_page(page_path("two_factor")).run()
    at.text_input(key="wz_password").input(demo.PASSWORD)
    at.button(key="FormSubmitter:wizard_password-Continue").click().run()
    at.button(key="wz_next_intro").click().run()
    at.button(key="wz_next_qr").click().run()
    right = shown_code(at)  # the wizard's new key, already on the virtual phone
    at.toggle(key=virtual_authenticator.PHONE_OFF).set_value(True).run()
    off = shown_code(at)
    assert off != right
    at.text_input(key="wz_code").input(off)
    at.button(key="FormSubmitter:wizard_verify-Verify").click().run()
    assert "about 2 minute(s) ahead" in texts(at)
    at.toggle(key=virtual_authenticator.PHONE_OFF).set_value(False).run()
    assert shown_code(at) == right
    at.text_input(key="wz_code").input(right)
    at.button(key="FormSubmitter:wizard_verify-Verify").click().run()
    assert "The code is correct" in texts(at)


def test_reset_demo_signs_out_and_restores_the_seeded_state(demo_app, clock):
    at, p = demo_app
    sign_in(at, "eve", demo.PASSWORD)  # uses eve's reset grant: straight into the wizard
    assert "reset your two-factor authentication" in texts(at)
    eve = user_id(p, "eve")
    with p.db.read() as cur:
        assert user_store.get_user(cur, eve).reset_expires_at is None  # type: ignore[union-attr]
    # A learner (and a visitor who is not signed in) has no Reset demo button.
    assert not [b for b in at.sidebar.button if b.key == virtual_authenticator.RESET]
    assert "Sign in as the trainer or the manager to reset" in " ".join(
        str(c.value) for c in at.sidebar.caption
    )
    visitor = run_app(p)
    assert not [b for b in visitor.sidebar.button if b.key == virtual_authenticator.RESET]
    trainer = sign_in(run_app(p), "trainer", demo.PASSWORD)
    trainer.button(key=virtual_authenticator.RESET).click().run()
    assert "Demo reset" in texts(trainer)
    assert trainer.text_input(key="si_username")  # signed out
    with p.db.read() as cur:
        person = user_store.get_user(cur, eve)
    assert person is not None and person.reset_open(p.now())
    result = accounts.sign_in_password(p, "ben", demo.PASSWORD, "test")
    assert result.identity is not None
    assert enrolment.state(p, result.identity).pending


def test_demo_flag_on_a_real_database_stops_the_app(portal, settings, clock):
    add_user(portal, "alice")
    portal.db.close()
    p = open_portal(dataclasses.replace(settings, demo=True), clock)
    try:
        at = run_app(p)
        assert "The portal cannot start" in texts(at)
        assert "not a demo database" in texts(at)
        assert not at.text_input  # no sign-in form
        assert "Virtual authenticator" not in texts(at)
    finally:
        use_portal(None)
        p.db.close()


def test_no_virtual_authenticator_without_the_demo_flag(demo_app, settings, clock):
    _at, seeded = demo_app
    seeded.db.close()
    p = open_portal(settings, clock)  # the demo database, PORTAL_DEMO not set
    try:
        at = run_app(p)
        sign_in(at, "trainer", demo.PASSWORD)
        assert "Hello, Terry Trainer" in texts(at)
        assert "Virtual authenticator" not in " ".join(m.value for m in at.sidebar.markdown)
        assert virtual_authenticator.RESET not in [b.key for b in at.button]
    finally:
        use_portal(None)
        p.db.close()


def test_portal_demo_prints_the_accounts_and_serves(tmp_path: Path):
    # TMPDIR keeps the throw-away folder inside tmp_path; `portal demo` ends in the server.
    env = {"TMPDIR": str(tmp_path), "PORTAL_DB": str(tmp_path / "never-used.duckdb")}
    cmd = [sys.executable, "-m", "portal", "demo", "--port", "{port}"]
    server = start_server(cmd, env, cwd=ROOT, log_path=tmp_path / "demo.log", timeout=60)
    try:
        assert server.health() == "ok"
        printed = server.log_text()
    finally:
        server.stop()
    assert f"password for all: {demo.PASSWORD}" in printed
    for account in demo.ACCOUNTS:
        assert re.search(
            rf"^\s+{account.username}\s+{account.kind}\s+{account.state}", printed, re.M
        )
    assert re.search(r"Seeded in \d+\.\d s\.", printed)
    assert "demo.duckdb" in printed and str(tmp_path) in printed
    assert not (tmp_path / "never-used.duckdb").exists()
