"""`portal backup DEST` and `portal restore SRC [--force]`: copies of the database, and back."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict

from portal.clock import SystemClock
from portal.ops import backup, pg_dump, restore
from portal.settings import Settings
from store import is_url

DB_HELP = "DuckDB database file or postgresql:// URL"
KEEP_APART = "keep it apart from the key ({key}): the backup alone cannot decrypt the TOTP keys"


def add_parser(sub: Any) -> None:
    """Register `portal backup` and `portal restore` on the top-level subparsers."""
    make = sub.add_parser(
        "backup", help="write a consistent copy of the database (DuckDB; pg_dump on PostgreSQL)"
    )
    make.add_argument("dest", type=Path, help="a new file, or a folder (a UTC-stamped name)")
    make.add_argument("--db", dest="sub_db", help=DB_HELP)
    back = sub.add_parser("restore", help="put a DuckDB backup in place of the database")
    back.add_argument("src", type=Path, help="a file `portal backup` wrote")
    back.add_argument("--force", action="store_true", help="replace an existing database")
    back.add_argument("--db", dest="sub_db", help=DB_HELP)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one of the two; PortalError (held file, wrong key, ...) goes to the caller."""
    if args.command == "restore":
        done = restore.restore(settings, args.src, args.force)
        print(f"restored {done} from {args.src}; the portal opens it with its key as before")
        return 0
    now = SystemClock().now()
    if is_url(settings.db_path):
        return _pg_backup(settings, args.dest, now)
    dest = backup.target(args.dest, settings.db_path, now)
    made = backup.write_from_file(settings.db_path, dest)
    print(f"backup written to {made}; " + KEEP_APART.format(key=_key_place(settings)))
    return 0


def _key_place(settings: Settings) -> str:
    return "PORTAL_SECRET_KEY" if settings.secret_key else str(settings.key_file)


def _pg_backup(settings: Settings, dest: Path, now: dt.datetime) -> int:
    name = str(conninfo_to_dict(settings.db_path).get("dbname") or "portal")
    if dest.is_dir():
        dest = dest / f"{name}-{now:{backup.STAMP}}.dump"
    dest = backup.target(dest, settings.db_path, now)
    tool = pg_dump.find_pg_dump()
    if tool is None:
        print("pg_dump is not installed here; on a machine with PostgreSQL's client tools run:")
        print(pg_dump.shown_command(dest))
        return 2
    made = pg_dump.dump(settings.db_path, dest, tool)
    print(f"pg_dump written to {made}; " + KEEP_APART.format(key=_key_place(settings)))
    return 0
