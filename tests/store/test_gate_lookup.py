"""The forward-auth lookup: a session by token, its account, e-mail and active key, one query."""

from __future__ import annotations

import datetime as dt

from portal.models import Role
from store import Database
from store import factors as factor_store
from store import sessions as session_store
from store import users as user_store

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _signed_in(db: Database, name: str, token: str) -> int:
    with db.write() as cur:
        user_id = user_store.insert_user(cur, name, name.title(), Role.USER, "x", NOW)
        session_store.insert_session(
            cur, f"s-{name}", user_id, f"t-{name}", "b", NOW + dt.timedelta(minutes=1), NOW,
            None, "test",
        )  # fmt: skip
        assert session_store.update_redeem_ticket(cur, f"t-{name}", "b", token, "agent", NOW)
    return user_id


def test_one_row_says_who_with_what_mail_and_whether_a_key_is_on(db: Database) -> None:
    alice = _signed_in(db, "alice", "tok-a")
    _signed_in(db, "bob", "tok-b")
    with db.write() as cur:
        user_store.update_email(cur, alice, "alice@example.org")
        pending = factor_store.insert_factor(cur, alice, b"key", NOW)
    with db.read() as cur:
        before = session_store.get_session_for_gate(cur, "tok-a")
        bob = session_store.get_session_for_gate(cur, "tok-b")
        nobody = session_store.get_session_for_gate(cur, "tok-none")
    assert before is not None and bob is not None and nobody is None
    session, user, email, enrolled = before
    assert (session.id, session.user_id, session.user_agent) == ("s-alice", alice, "agent")
    assert (user.username, user.display_name, email, enrolled) == (
        "alice",
        "Alice",
        "alice@example.org",
        False,
    )  # fmt: skip  (a pending key is not on)
    assert (bob[1].username, bob[2], bob[3]) == ("bob", None, False)
    with db.write() as cur:
        assert factor_store.update_factor_verified(cur, pending, 1, NOW)
        assert factor_store.update_factor_active(cur, pending, NOW)
    with db.read() as cur:
        after = session_store.get_session_for_gate(cur, "tok-a")
    assert after is not None and after[3] is True
