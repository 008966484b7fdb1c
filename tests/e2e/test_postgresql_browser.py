"""The browser journey once on PostgreSQL (issue 13): the same server, `--db postgresql://...`.

``test_journey_on_postgresql`` - a user added with the CLI (``portal user add --db <URL>``)
scans the QR code, finishes the wizard, signs in with a code; the same code again is refused; a
backup code works once; a reload keeps the session. Then the database itself is read: the rows
are in PostgreSQL (not in some DuckDB file), and it holds neither the key nor a backup code in
plaintext. The database is a fresh clone of the session's migrated template (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from harness import (
    Server,
    add_users,
    expect_signed_in,
    open_app,
    portal_enter_code,
    portal_env,
    portal_sign_in,
    portal_sign_out,
    start_portal,
    totp_after,
    totp_step,
    wizard_confirm_password,
    wizard_finish,
    wizard_scan,
    wizard_verify,
)
from playwright.sync_api import expect

from portal import events
from tests.conftest import PostgresTemplate

pytestmark = pytest.mark.e2e

ISSUER = "Postgres Journey Portal"
USER, USER_PW = "pat", "pat-pass-3390"


@pytest.fixture
def pg_server(postgres_template: PostgresTemplate, tmp_path: Path) -> Iterator[Server]:
    """``portal serve --db postgresql://...`` on a fresh database, its user added by the CLI."""
    url = postgres_template.fresh()
    env = portal_env(PORTAL_ISSUER=ISSUER)
    add_users(url, env, [(USER, USER_PW, "user")])
    try:
        with start_portal(url, env, tmp_path / "portal-server.log") as server:
            server.pg_url = url
            yield server
    finally:
        postgres_template.drop(url)


def _error(page: Any, text: str) -> Any:
    return page.get_by_test_id("stAlertContentError").filter(has_text=text)


def test_journey_on_postgresql(pg_server: Server, page: Any) -> None:
    open_app(page, pg_server.url, ready=page.get_by_role("heading", name="Sign in"))
    portal_sign_in(page, USER, USER_PW)
    expect_signed_in(page, USER)

    # Scan the QR code like a phone, verify, keep the backup codes.
    wizard_confirm_password(page, USER_PW)
    page.locator(".st-key-wz_next_intro").get_by_role("button").click()
    secret = wizard_scan(page, issuer=ISSUER, account=USER)["secret"]
    used = wizard_verify(page, secret)
    backup = wizard_finish(page)

    # A code of a later step signs in; the same code again is refused.
    portal_sign_out(page)
    portal_sign_in(page, USER, USER_PW)
    code, used = totp_after(secret, used)
    portal_enter_code(page, code)
    expect_signed_in(page, USER)
    portal_sign_out(page)
    portal_sign_in(page, USER, USER_PW)
    portal_enter_code(page, code)
    expect(_error(page, "Each code works once")).to_be_visible()
    assert totp_step() <= used + 1, "the code had expired: this would not prove replay refusal"
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    # A backup code signs in, once.
    page.get_by_role("button", name="Use a backup code instead").click()
    portal_enter_code(page, backup[0], label="Backup code")
    expect_signed_in(page, USER)

    # A reload is a new Streamlit session: still signed in, from the cookie.
    page.reload()
    expect_signed_in(page, USER)
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    portal_sign_out(page)
    portal_sign_in(page, USER, USER_PW)
    page.get_by_role("button", name="Use a backup code instead").click()
    portal_enter_code(page, backup[0], label="Backup code")
    expect(_error(page, "not valid")).to_be_visible()

    _check_the_postgresql_rows(pg_server.pg_url, secret, backup)


def _check_the_postgresql_rows(url: str, secret: str, backup: list[str]) -> None:
    """What the journey wrote is in this PostgreSQL database, encrypted where it must be."""
    with psycopg.connect(url) as conn:
        kinds = [
            r[0]
            for r in conn.execute(
                "SELECT event FROM audit WHERE subject = %s ORDER BY id", [USER]
            ).fetchall()
        ]
        status = conn.execute(
            "SELECT f.status FROM factors f JOIN users u ON u.id = f.user_id WHERE u.username = %s",
            [USER],
        ).fetchall()
        codes = conn.execute(
            "SELECT count(*), count(used_at) FROM backup_codes b JOIN users u ON u.id = b.user_id"
            " WHERE u.username = %s",
            [USER],
        ).fetchone()
        dump = "\n".join(
            str(row)
            for table in ("factors", "backup_codes", "audit", "meta")
            for row in conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
        )
    assert {events.ACCOUNT_CREATED, events.WIZARD_COMPLETED} <= set(kinds), kinds
    assert kinds.count(events.SIGN_IN_OK) >= 3, kinds  # after the wizard: code, backup code
    assert kinds.count(events.CODE_USED) == 1, kinds
    assert status == [("active",)], status
    assert codes == (10, 1), codes
    assert secret not in dump and not any(code in dump for code in backup)
