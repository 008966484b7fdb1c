"""`portal user reset|unlock|disable|enable|role|deactivate-2fa|show`, `user list --csv`.

The break-glass commands (portal.manager.breakglass): each needs --reason, says what it will
do and asks for the username to be typed back unless --yes; without a terminal, --yes is needed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any

from portal import cli_audit
from portal.context import Portal, open_portal
from portal.manager import breakglass
from portal.models import USER_COLUMNS, Role, User
from portal.settings import Settings

DB_HELP = "DuckDB database file or postgresql:// URL"
CHANGES = {
    "reset": "grant a 2FA reset: key and backup codes deleted, set-up at the next sign-in",
    "unlock": "clear the failed attempts of an account, ending a lockout",
    "disable": "disable an account: it cannot sign in, its open sessions end",
    "enable": "enable a disabled account again",
    "role": "change an account's role",
    "deactivate-2fa": "turn an account's 2FA off: key, backup codes and any open reset deleted",
}
ACTIONS = frozenset({*CHANGES, "show"})


def add_parsers(user: Any, lst: argparse.ArgumentParser) -> None:
    """Register the break-glass actions and `show` on `portal user`, and --csv on `user list`."""
    lst.add_argument("--csv", action="store_true", help="print CSV (spreadsheet-safe) instead")
    for action, text in CHANGES.items():
        cmd = user.add_parser(action, help=text + " (break-glass; audited)")
        cmd.add_argument("name", help="username")
        if action == "role":
            cmd.add_argument("role", choices=[r.value for r in Role], help="the new role")
        cmd.add_argument(
            "--reason", metavar="TEXT", help="why (required; written to the audit trail)"
        )
        cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        if action in {"role", "disable"}:
            cmd.add_argument(
                "--force",
                action="store_true",
                help="even if this leaves no enabled security manager",
            )
        cmd.add_argument("--db", dest="sub_db", help=DB_HELP)
    show = user.add_parser("show", help="one account: 2FA, factors, codes left, lockout, sessions")
    show.add_argument("name", help="username")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.add_argument("--db", dest="sub_db", help=DB_HELP)


def handles(args: argparse.Namespace) -> bool:
    """True for the `portal user` actions this module runs."""
    return args.action in ACTIONS or (args.action == "list" and args.csv)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one action; PortalError (unknown name, refusal, held database) goes to the caller."""
    if args.action in CHANGES:
        refusal = _refusal(args)
        if refusal:
            print(f"portal: {refusal}", file=sys.stderr)
            return 2
    portal = open_portal(settings)
    try:
        if args.action == "list":
            cli_audit.write_csv(sys.stdout, USER_COLUMNS, breakglass.user_rows(portal))
            return 0
        if args.action == "show":
            return _show(portal, args)
        return _change(portal, args)
    finally:
        portal.db.close()


def _refusal(args: argparse.Namespace) -> str:
    """Why the command cannot start: no reason given, or nobody to confirm."""
    if not (args.reason or "").strip():
        return "give --reason TEXT: it is written to the audit trail with the change"
    if not args.yes and not sys.stdin.isatty():
        return "no terminal to confirm on: add --yes to run without asking"
    return ""


def _plan(p: Portal, person: User, args: argparse.Namespace) -> str:
    who = person.username
    hours = p.settings.reset_grant_hours
    return {
        "reset": f"Reset two-factor authentication of {who}: delete their key and backup codes "
        f"and end their sessions; their next sign-in opens the set-up wizard (within {hours} h).",
        "unlock": f"Clear the failed sign-in attempts of {who}, ending any lockout.",
        "disable": f"Disable {who}: they cannot sign in and their open sessions end.",
        "enable": f"Enable {who} again: they can sign in.",
        "role": f"Change the role of {who} from {person.role} to {getattr(args, 'role', '')}.",
        "deactivate-2fa": f"Turn two-factor authentication off for {who}: delete their key and "
        "backup codes, cancel any open reset and end their sessions.",
    }[args.action]


def _confirmed(username: str) -> bool:
    try:
        typed = input(f"Type the username ({username}) to confirm, anything else cancels: ")
    except EOFError:
        return False
    return typed.strip().lower() == username


def _change(p: Portal, args: argparse.Namespace) -> int:
    person = breakglass.find(p, args.name)
    print(_plan(p, person, args))
    print(f"Reason: {' '.join(args.reason.split())}")
    if not args.yes and not _confirmed(person.username):
        print("Cancelled: nothing changed.")
        return 1
    outcome = _service(args)(p, breakglass.operator(), person.username, args.reason)
    print(f"{outcome.username}: {outcome.note}")
    return 0


def _service(args: argparse.Namespace) -> Callable[[Portal, str, str, str], breakglass.Outcome]:
    force = bool(getattr(args, "force", False))
    if args.action == "disable":
        return lambda p, a, n, r: breakglass.set_disabled(p, a, n, True, r, force)
    if args.action == "enable":
        return lambda p, a, n, r: breakglass.set_disabled(p, a, n, False, r)
    if args.action == "role":
        return lambda p, a, n, r: breakglass.set_role(p, a, n, Role(args.role), r, force)
    return {
        "reset": breakglass.reset,
        "unlock": breakglass.unlock,
        "deactivate-2fa": breakglass.deactivate,
    }[args.action]


def _when(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(sep=" ", timespec="seconds") if value else None


def _show(p: Portal, args: argparse.Namespace) -> int:
    report = breakglass.describe(p, args.name)
    if args.json:
        print(json.dumps(dataclasses.asdict(report), default=_when, indent=2))
        return 0
    for label, value in _lines(report):
        print(f"{label:<18} {value}")
    return 0


def _lines(r: breakglass.PersonReport) -> list[tuple[str, str]]:
    never = "never"
    lock = f"until {_when(r.locked_until)}" if r.locked_until else "no"
    lines = [
        ("username", r.username),
        ("display name", r.display_name),
        ("role", r.role),
        ("disabled", "yes" if r.disabled else "no"),
        ("two-factor", r.two_factor),
    ]
    for f in r.factors:
        used = _when(f.last_used_at) or never
        lines.append((f"factor ({f.status})", f"created {_when(f.created_at)}, last used {used}"))
    codes = "-" if r.backup_codes_left is None else str(r.backup_codes_left)
    newest = f", newest {_when(r.newest_session_at)}" if r.newest_session_at else ""
    reset = f"until {_when(r.reset_until)} (by {r.reset_by})" if r.reset_until else "none"
    return [
        *lines,
        ("backup codes left", codes),
        ("locked out", f"{lock} ({r.failed_attempts} failed attempt(s) counted)"),
        ("last sign-in", _when(r.last_sign_in_at) or never),
        ("open sessions", f"{r.open_sessions}{newest}"),
        ("reset grant", reset),
    ]
