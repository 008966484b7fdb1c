"""`portal audit export`: the audit trail as CSV or JSON lines, streamed a batch at a time."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from portal.context import open_portal
from portal.errors import InvalidInput
from portal.manager import breakglass, reports
from portal.models import AUDIT_COLUMNS
from portal.settings import Settings

DB_HELP = "DuckDB database file or postgresql:// URL"


def add_parser(sub: Any) -> None:
    """Register `portal audit export` on the top-level subparsers."""
    audit = sub.add_parser("audit", help="read the audit trail").add_subparsers(
        dest="action", required=True
    )
    export = audit.add_parser("export", help="print the audit trail, oldest first")
    export.add_argument("--since", metavar="DAY", help="first UTC day included, YYYY-MM-DD")
    export.add_argument("--until", metavar="DAY", help="last UTC day included, YYYY-MM-DD")
    fmt = export.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV, spreadsheet-safe (the default)")
    fmt.add_argument("--json", action="store_true", help="JSON lines: one object per event")
    export.add_argument("--db", dest="sub_db", help=DB_HELP)


def _day(text: str | None, flag: str, shift: int = 0) -> dt.datetime | None:
    """Midnight UTC of the day given (plus `shift` days), or None."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{flag} takes a day as YYYY-MM-DD, not {text!r}.") from None
    return dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(), tzinfo=dt.UTC)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Export the trail between --since and --until (both days included) to standard output."""
    start = _day(args.since, "--since")
    end = _day(args.until, "--until", shift=1)
    portal = open_portal(settings)
    try:
        rows = breakglass.audit_rows(portal, start, end)
        if args.json:
            write_json_lines(sys.stdout, AUDIT_COLUMNS, rows)
        else:
            write_csv(sys.stdout, AUDIT_COLUMNS, rows)
    finally:
        portal.db.close()
    return 0


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV as the manager page writes it (every text cell quoted, formula starts guarded)."""
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(header)
    for row in rows:
        writer.writerow([reports._cell(v) for v in row])


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(sep=" ", timespec="seconds")
    return value


def write_json_lines(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """One JSON object per line (a million rows never sit in memory as one document)."""
    for row in rows:
        item = {k: _json_value(v) for k, v in zip(header, row, strict=True)}
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
