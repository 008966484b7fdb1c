"""The `portal` command: serve the app, manage accounts from the shell."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from pathlib import Path

from portal import cli_apikey, cli_audit, cli_backup, cli_import, cli_user
from portal.access import accounts
from portal.context import open_portal
from portal.errors import PortalError
from portal.models import Role
from portal.settings import Settings, load_settings
from store import is_url

ROOT = Path(__file__).resolve().parent.parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal",
        description="Two-factor authentication portal (Streamlit; DuckDB or PostgreSQL).",
    )
    parser.add_argument(
        "--db",
        help="DuckDB database file or postgresql:// URL (default: $PORTAL_DB or "
        "data/portal.duckdb)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web portal (headless Streamlit server)")
    serve.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    serve.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--db", dest="sub_db", help="DuckDB database file or postgresql:// URL")

    demo_cmd = sub.add_parser("demo", help="run the portal on a fresh, seeded throw-away database")
    demo_cmd.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")

    _add_user_parsers(sub)
    for module in (cli_apikey, cli_audit, cli_backup):
        module.add_parser(sub)
    return parser


def _add_user_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`portal user ...`: add and list here, the rest in cli_user and cli_import."""
    user = sub.add_parser("user", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="create an account")
    add.add_argument("name", help="username (2-64 of a-z 0-9 . _ -)")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.USER.value)
    add.add_argument("--display-name", default="", help="name shown in the portal")
    add.add_argument("--email", default="", help="address for notices about their 2FA")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--db", dest="sub_db", help="DuckDB database file or postgresql:// URL")
    lst = user.add_parser("list", help="list accounts")
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lst.add_argument("--db", dest="sub_db", help="DuckDB database file or postgresql:// URL")
    cli_user.add_parsers(user, lst)
    cli_import.add_parser(user)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    db = getattr(args, "sub_db", None) or args.db
    try:
        if args.command == "demo":
            return demo_server(args.port)
        settings = load_settings(db_path=db)
        if args.command == "serve":
            return serve(settings.db_path, args.port, args.address)
        if args.command == "apikey":
            return cli_apikey.run(settings, args)
        if args.command in ("backup", "restore"):
            return cli_backup.run(settings, args)
        if args.command == "audit":
            return cli_audit.run(settings, args)
        if args.command == "user" and args.action == "import":
            return cli_import.run(settings, args)
        if cli_user.handles(args):
            return cli_user.run(settings, args)
        if args.action == "add":
            return user_add(settings, args)
        return user_list(settings, args.json)
    except PortalError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def serve(db_path: str, port: int, address: str) -> int:
    """Check the database and key first (clear message), then run Streamlit from the project."""
    settings = load_settings(db_path=db_path)
    from portal import demo

    portal = open_portal(settings)
    try:
        demo.demo_mode(portal)  # PORTAL_DEMO on a database that is not a demo: refused here
    finally:
        portal.db.close()
    try:  # a wrong proxy list, public URL, cookie domain or rules file: one clear line
        env = _server_env(settings)
    except ValueError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 2
    # Streamlit reads .streamlit/config.toml from the working directory: run from the project.
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "portal" / "asgi.py"),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    print(f"Portal on http://{address}:{port}  (database {_shown(db_path)})", flush=True)
    os.chdir(ROOT)
    os.execve(sys.executable, cmd, env)  # noqa: S606 - fixed argv, no shell
    return 0  # pragma: no cover


def _shown(db_path: str) -> str:
    """The database as it may be printed: a URL without its password."""
    if not is_url(db_path):
        return db_path
    from store.backends.postgresql import redacted

    return redacted(db_path)


def _server_env(settings: Settings) -> dict[str, str]:
    """The server's environment: its database, and uvicorn trusting only our proxies."""
    from portal import http_guard
    from portal.gateway import rules

    http_guard.public_origin(settings.public_url)  # ValueError unless an origin
    # The server would stop on these with a traceback in its log: say it here in one line.
    http_guard.check_cookie_domain(settings.session_cookie_domain, settings.public_url)
    rules.load_rules(settings.authz_hosts, settings.authz_rules_file)
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 unless told otherwise (FORWARDED_ALLOW_IPS).
    trusted = http_guard.forwarded_allow_ips(settings.trusted_proxies)
    # A file path is made absolute (the server runs from the project folder); a URL stays as is.
    db = settings.db_path if is_url(settings.db_path) else str(Path(settings.db_path).resolve())
    env = dict(os.environ, PORTAL_DB=db, FORWARDED_ALLOW_IPS=trusted)
    if settings.secret_key_file:  # a relative key file too
        env["PORTAL_SECRET_KEY_FILE"] = str(Path(settings.secret_key_file).resolve())
    if settings.backup_dir:  # and where the server writes its scheduled backups
        env["PORTAL_BACKUP_DIR"] = str(Path(settings.backup_dir).resolve())
    if settings.authz_rules_file:  # and the rules file
        env["PORTAL_AUTHZ_RULES_FILE"] = str(Path(settings.authz_rules_file).resolve())
    return env


def demo_server(port: int) -> int:
    """A fresh database in a temporary folder, seeded, then served with PORTAL_DEMO=1."""
    from portal import demo

    db_path = str(Path(tempfile.mkdtemp(prefix="portal-demo-")) / "demo.duckdb")
    os.environ["PORTAL_DEMO"] = "1"  # serve() hands the environment to the server
    portal = open_portal(load_settings(db_path=db_path))
    try:
        print("\n".join(demo.describe(demo.seed(portal))), flush=True)
    finally:
        portal.db.close()
    return serve(db_path, port, "127.0.0.1")


def user_add(settings: Settings, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        confirm = password
    else:
        password = getpass.getpass("Password: ")
        confirm = getpass.getpass("Password again: ")
    if password != confirm:
        print("portal: the two passwords do not match", file=sys.stderr)
        return 2
    portal = open_portal(settings)
    try:
        user = accounts.create_account(
            portal,
            None,
            args.name,
            password,
            Role(args.role),
            args.display_name,
            "cli",
            args.email,
        )
    finally:
        portal.db.close()
    print(f"created {user.username} ({user.role})")
    return 0


def user_list(settings: Settings, as_json: bool) -> int:
    portal = open_portal(settings)
    try:
        users = accounts.all_accounts(portal)
    finally:
        portal.db.close()
    rows = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": str(u.role),
            "disabled": u.disabled,
            "created_at": u.created_at.isoformat(),
            "last_sign_in_at": u.last_sign_in_at.isoformat() if u.last_sign_in_at else None,
        }
        for u in users
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['username']:<24} {r['role']:<17} {'disabled' if r['disabled'] else ''}")
    return 0
