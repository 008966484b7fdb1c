"""`portal user import people.csv`: many accounts at once, all checked first, then all or none."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any, TextIO

from portal.context import open_portal
from portal.errors import InvalidInput
from portal.manager import importer
from portal.models import Role
from portal.settings import Settings

DB_HELP = "DuckDB database file or postgresql:// URL"
BAR = 30  # characters of the progress bar


def add_parser(user: Any) -> None:
    """Register `portal user import` on the `user` subparsers."""
    imp = user.add_parser(
        "import",
        help="create accounts from a CSV file (username,display_name,email[,role]); "
        "first passwords go to standard output",
    )
    imp.add_argument("file", help="CSV file, UTF-8, with a header line")
    imp.add_argument(
        "--dry-run", action="store_true", help="check every row and say what would happen"
    )
    imp.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.USER.value,
        help="role of rows without a role column/value (default user)",
    )
    imp.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    imp.add_argument("--db", dest="sub_db", help=DB_HELP)


def os_actor() -> str:
    """The audit actor for the shell: os:<login name>."""
    try:
        return f"os:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without USER)
        return "os:unknown"


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def _report(plan: importer.Plan) -> None:
    for problem in plan.problems:
        who = f"{problem.username}: " if problem.username else ""
        print(f"line {problem.line}: {who}{problem.reason}", file=sys.stderr)
    print(
        f"portal: {len(plan.problems)} row(s) with problems, {len(plan.rows)} fine: "
        "nothing was imported. Fix the file and run the import again.",
        file=sys.stderr,
    )


def _summary(plan: importer.Plan) -> str:
    managers = sum(1 for r in plan.rows if r.role is Role.SECURITY_MANAGER)
    return f"{len(plan.rows)} account(s) ({len(plan.rows) - managers} user, {managers} manager)"


def _confirmed(plan: importer.Plan) -> bool:
    sys.stderr.write(f"Create {_summary(plan)}? [y/N] ")  # stdout is for the passwords
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


def progress_bar(stream: TextIO) -> importer.Progress | None:
    """A one-line bar on a terminal (stderr); None when stderr is a file or a pipe."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = BAR * done // max(total, 1)
        bar = "#" * filled + "." * (BAR - filled)
        end = "\n" if done >= total else ""
        stream.write(f"\rpreparing accounts [{bar}] {done:,}/{total:,}{end}")
        stream.flush()

    return show


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Check the whole file, then (confirmed) import it; PortalError goes to the caller."""
    data = _read(args.file)
    portal = open_portal(settings)
    try:
        plan = importer.plan_import(portal, None, data, Role(args.role))
        if plan.problems:
            _report(plan)
            return 2
        if args.dry_run:
            print(f"would create {_summary(plan)}; nothing was written (--dry-run)")
            return 0
        if not args.yes and not sys.stdin.isatty():
            print("portal: standard input is not a terminal: add --yes to import", file=sys.stderr)
            return 2
        if not args.yes and not _confirmed(plan):
            print("portal: nothing was imported", file=sys.stderr)
            return 1
        made = importer.run_import(portal, None, os_actor(), plan, "cli", progress_bar(sys.stderr))
    finally:
        portal.db.close()
    sys.stdout.write(importer.passwords_csv(made))
    print(
        f"created {len(made)} account(s). Their first passwords are on standard output, "
        "shown only now: hand each one over in person (2FA starts off).",
        file=sys.stderr,
    )
    return 0
