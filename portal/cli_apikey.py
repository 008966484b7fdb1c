"""`portal apikey add|list|revoke`: keys of the code-check API (POST /api/validate)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from portal.context import open_portal
from portal.gateway import apikeys
from portal.settings import Settings

DB_HELP = "DuckDB database file or postgresql:// URL"


def add_parser(sub: Any) -> None:
    """Register `portal apikey ...` on the top-level subparsers."""
    keys = sub.add_parser("apikey", help="manage keys of the code-check API").add_subparsers(
        dest="action", required=True
    )
    add = keys.add_parser("add", help="create a key (printed once, stored as a hash)")
    add.add_argument("name", help="what the key is for, e.g. vpn (shown in the audit trail)")
    add.add_argument(
        "--source", default="", help="comma-separated IPs/networks allowed to use it (default any)"
    )
    add.add_argument("--db", dest="sub_db", help=DB_HELP)
    lst = keys.add_parser("list", help="list keys: sources, last use, who created or revoked")
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lst.add_argument("--db", dest="sub_db", help=DB_HELP)
    revoke = keys.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("name")
    revoke.add_argument("--db", dest="sub_db", help=DB_HELP)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one `portal apikey` action; PortalError (bad name, no such key) goes to the caller."""
    portal = open_portal(settings)
    try:
        if args.action == "add":
            made = apikeys.create(portal, None, args.name, args.source, "cli")
            print(f"created API key {made.name}; it is shown only now:")
            print(made.secret)
        elif args.action == "revoke":
            apikeys.revoke(portal, None, args.name, "cli")
            print(f"revoked API key {args.name}")
        else:
            _list(portal, args.json)
    finally:
        portal.db.close()
    return 0


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _list(portal: Any, as_json: bool) -> None:
    rows = [
        {
            "name": k.name,
            "sources": k.sources or "any",
            "created_at": _when(k.created_at),
            "created_by": k.created_by,
            "last_used_at": _when(k.last_used_at),
            "last_used_from": k.last_used_from,
            "revoked_at": _when(k.revoked_at),
            "revoked_by": k.revoked_by,
        }
        for k in apikeys.all_keys(portal, None)
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        state = f"revoked {r['revoked_at'][:16]}" if r["revoked_at"] else "live"
        used = (r["last_used_at"] or "never")[:16]
        print(f"{r['name']:<24} {state:<24} sources {r['sources']:<20} last used {used}")
