"""Break-glass from the shell: `portal user reset|unlock|disable|enable|role|deactivate-2fa|show`.

Each runs the real `portal.cli.main([...])` on a DuckDB file and on PostgreSQL, with no security
manager able to sign in, and checks the change, its audit row (actor os:<login>, the reason) and
the refusals.
"""

from __future__ import annotations

import getpass
import json

import pytest

from portal import events
from portal.access import sessions, throttle
from portal.clock import FixedClock
from portal.models import FactorStatus, Role
from store import factors as factor_store
from store import users as user_store
from tests.conftest import START, add_user, enrol
from tests.unit import cli_helpers
from tests.unit.cli_helpers import Target, Tty, held, run

ME = f"os:{getpass.getuser()}"
target = cli_helpers.target  # the fixture: a DuckDB file and a PostgreSQL database


def _user(t: Target, name: str):
    with t.portal() as p, p.db.read() as cur:
        return user_store.get_user_by_username(cur, name)


def _factors(t: Target, name: str) -> list:
    with t.portal() as p, p.db.read() as cur:
        uid = user_store.get_user_by_username(cur, name).id
        return [f for s in FactorStatus if (f := factor_store.get_factor(cur, uid, s))]


def _enrolled(t: Target, name: str = "alice") -> str:
    """An account with 2FA on and one open session; its TOTP secret."""
    clock = FixedClock(START)
    with t.portal(clock) as p:
        who = add_user(p, name)
        secret, _codes, who = enrol(p, clock, who)
        ticket = sessions.issue_ticket(p, who, "browser", "test")
        sessions.redeem_ticket(p, ticket.ticket, "browser", "Firefox")
    return secret


def _locked(t: Target, name: str) -> None:
    with t.portal() as p:  # the system clock: the lock is still running when the command runs
        user = _user(t, name)
        p.db.transact(lambda cur: throttle.lock_out(p, cur, user.id, name, "test"))


def test_reset_deletes_the_key_grants_set_up_and_audits_the_os_user(target, capsys):
    _enrolled(target)
    code, out, err = run(
        target, capsys, "user", "reset", "alice", "--reason", "lost phone", "--yes"
    )
    assert (code, err) == (0, "")
    assert "alice: reset granted until" in out and "1 session(s) ended" in out
    assert _factors(target, "alice") == []
    alice = _user(target, "alice")
    assert alice.reset_expires_at is not None and alice.reset_granted_by == ME
    [row] = target.events(events.RESET_GRANTED)
    assert (row.actor, row.subject, row.source) == (ME, "alice", "cli")
    assert row.detail.startswith("lost phone (valid until")
    [ended] = target.events(events.SESSION_ENDED)
    assert ended.actor == ME and "administrator (command line)" in ended.detail


def test_unlock_ends_a_lockout_once_then_says_nothing_to_do(target, capsys):
    with target.portal() as p:
        add_user(p, "alice")
    _locked(target, "alice")
    code, out, _ = run(target, capsys, "user", "unlock", "alice", "--reason", "called in", "--yes")
    assert code == 0 and "failed attempts cleared" in out
    [row] = target.events(events.LOCKOUT_CLEARED)
    assert (row.actor, row.detail, row.source) == (ME, "called in", "cli")
    code, out, _ = run(target, capsys, "user", "unlock", "alice", "--reason", "again", "--yes")
    assert code == 0 and "nothing to do" in out
    assert len(target.events(events.LOCKOUT_CLEARED)) == 1  # no row for a no-op


def test_disable_and_enable_switch_the_account_and_a_repeat_writes_nothing(target, capsys):
    with target.portal() as p:
        add_user(p, "alice")
    assert run(target, capsys, "user", "disable", "alice", "--reason", "left", "--yes")[0] == 0
    assert _user(target, "alice").disabled
    code, out, _ = run(target, capsys, "user", "disable", "alice", "--reason", "left", "--yes")
    assert code == 0 and "already disabled: nothing to do" in out
    assert [e.detail for e in target.events(events.ACCOUNT_DISABLED)] == ["left"]
    assert run(target, capsys, "user", "enable", "alice", "--reason", "back", "--yes")[0] == 0
    assert not _user(target, "alice").disabled
    [row] = target.events(events.ACCOUNT_ENABLED)
    assert (row.actor, row.detail) == (ME, "back")


def test_role_brings_back_a_manager_when_none_can_sign_in(target, capsys):
    with target.portal() as p:
        add_user(p, "boss", Role.SECURITY_MANAGER)
        add_user(p, "alice")
        boss = _user(target, "boss")
        p.db.transact(lambda cur: user_store.update_disabled(cur, boss.id, True))
    argv = ("user", "role", "alice", "security_manager", "--reason", "boss away", "--yes")
    code, out, _ = run(target, capsys, *argv)
    assert code == 0 and "role user -> security_manager" in out
    assert _user(target, "alice").role is Role.SECURITY_MANAGER
    [row] = target.events(events.ROLE_CHANGED)
    assert (row.actor, row.subject) == (ME, "alice")
    assert row.detail == "user -> security_manager: boss away"


def test_the_last_enabled_manager_is_kept_unless_forced(target, capsys):
    with target.portal() as p:
        add_user(p, "boss", Role.SECURITY_MANAGER)
    for argv in (("role", "boss", "user"), ("disable", "boss")):
        code, _, err = run(target, capsys, "user", *argv, "--reason", "oops", "--yes")
        assert code == 2 and "last enabled security manager" in err and "--force" in err
        assert len(err.strip().splitlines()) == 1
    boss = _user(target, "boss")
    assert boss.role is Role.SECURITY_MANAGER and not boss.disabled
    assert target.events(events.ROLE_CHANGED) == target.events(events.ACCOUNT_DISABLED) == []
    argv = ("user", "role", "boss", "user", "--reason", "meant it", "--yes", "--force")
    assert run(target, capsys, *argv)[0] == 0
    assert _user(target, "boss").role is Role.USER
    [row] = target.events(events.ROLE_CHANGED)
    assert "--force" in row.detail


def test_deactivate_2fa_turns_it_off_then_says_it_is_off(target, capsys):
    _enrolled(target)
    argv = ("user", "deactivate-2fa", "alice", "--reason", "no phone", "--yes")
    code, out, _ = run(target, capsys, *argv)
    assert code == 0 and "two-factor turned off" in out
    assert _factors(target, "alice") == []
    [row] = target.events(events.DEACTIVATED)
    assert row.actor == ME and "no phone" in row.detail
    code, out, _ = run(target, capsys, *argv)
    assert code == 0 and "already off: nothing to do" in out
    assert len(target.events(events.DEACTIVATED)) == 1


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("unlock", "alice", "--yes"), "give --reason TEXT"),
        (("unlock", "alice", "--reason", "   ", "--yes"), "give --reason TEXT"),
        (("disable", "alice", "--reason", "x"), "add --yes to run without asking"),
        (("disable", "nobody", "--reason", "x", "--yes"), "There is no account named nobody."),
    ],
)
def test_refusals_are_one_line_and_change_nothing(target, capsys, argv, said):
    with target.portal() as p:
        add_user(p, "alice")
    _locked(target, "alice")
    code, out, err = run(target, capsys, "user", *argv)
    assert code == 2 and said in err and err.startswith("portal: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not _user(target, "alice").disabled
    assert target.events(events.LOCKOUT_CLEARED) == target.events(events.ACCOUNT_DISABLED) == []


def test_confirmation_needs_the_username_typed_back(target, capsys, monkeypatch):
    with target.portal() as p:
        add_user(p, "alice")
    monkeypatch.setattr("sys.stdin", Tty("yes\n"))
    code, out, _ = run(target, capsys, "user", "disable", "alice", "--reason", "left")
    assert code == 1 and "Disable alice" in out and "Cancelled: nothing changed." in out
    assert not _user(target, "alice").disabled and target.events(events.ACCOUNT_DISABLED) == []
    monkeypatch.setattr("sys.stdin", Tty("alice\n"))
    code, out, _ = run(target, capsys, "user", "disable", "alice", "--reason", "left")
    assert code == 0 and "Type the username (alice) to confirm" in out
    assert _user(target, "alice").disabled


def test_show_prints_the_state_but_never_a_secret(target, capsys):
    secret = _enrolled(target)
    _locked(target, "alice")
    code, out, _ = run(target, capsys, "user", "show", "alice")
    assert code == 0
    lines = {line[:18].strip(): line[19:] for line in out.splitlines()}  # label, value
    assert lines["two-factor"] == "on" and lines["backup codes left"] == "10"
    assert lines["locked out"].startswith("until ") and lines["role"] == "user"
    assert lines["open sessions"].startswith("1, newest 2026-03-02 09:00:")
    assert lines["factor (active)"].startswith("created 2026-03-02 09:00:00+00:00, last used")
    assert secret not in out
    code, out, _ = run(target, capsys, "user", "show", "alice", "--json")
    shown = json.loads(out)
    assert (shown["two_factor"], shown["backup_codes_left"], shown["open_sessions"]) == (
        "on",
        10,
        1,
    )
    assert shown["locked_until"] is not None and secret not in out
    assert run(target, capsys, "user", "show", "nobody")[0] == 2


@pytest.mark.parametrize(
    "argv",
    [
        ("user", "unlock", "alice", "--reason", "x", "--yes"),
        ("user", "show", "alice"),
        ("audit", "export"),
        ("user", "list", "--csv"),
    ],
)
def test_a_held_duckdb_file_is_one_line_saying_what_to_do(tmp_path, capsys, monkeypatch, argv):
    from portal import crypto
    from portal.settings import Settings

    db = str(tmp_path / "held.duckdb")
    key = crypto.encode_key(crypto.new_key())
    monkeypatch.setenv("PORTAL_SECRET_KEY", key)
    t = Target(db, Settings(db_path=db, secret_key=key, bcrypt_rounds=4))
    with t.portal() as p:
        add_user(p, "alice")
    with held(db):
        code, out, err = run(t, capsys, *argv)
    assert code == 2 and out == "" and "in use by another running portal" in err
    assert "Stop that server first, or run the portal on PostgreSQL" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
