"""A throw-away PostgreSQL cluster for the tests, or the server PORTAL_TEST_POSTGRES names.

initdb into a temporary folder, pg_ctl start on a free 127.0.0.1 port with the socket in that
folder too; as root, both run as the `postgres` user (initdb refuses root). Each test then
gets a database of its own, created from template0 and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _binary(name: str) -> str | None:
    for folder in BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return shutil.which(name)


def missing(reason: str) -> None:
    """Skip with the reason; under CI=true, fail instead (no PostgreSQL test may be skipped)."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL: {reason} (CI is set, so this is an error, not a skip)", False)
    pytest.skip(f"PostgreSQL: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclasses.dataclass(frozen=True)
class Server:
    """A running throw-away cluster: its superuser conninfo, and pg_ctl to stop or restart it."""

    conninfo: str
    data: Path
    log: Path
    options: str
    pg_ctl: str

    def start(self) -> None:
        _run(
            [
                self.pg_ctl,
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                self.options,
                "-w",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (rolling back open transactions), as a restart would."""
        _run([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster in a new temporary folder; yield a superuser conninfo; stop and remove it."""
    with own_cluster() as server:
        yield server.conninfo


@contextlib.contextmanager
def own_cluster() -> Iterator[Server]:
    """A cluster of this caller's own (to stop and restart), in a new temporary folder.

    The folder is made with tempfile (not pytest's tmp_path, whose parents are private to root),
    so the `postgres` user can reach it.
    """
    folder = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    try:
        with _started(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {done.stderr.strip() or done.stdout}")


@contextlib.contextmanager
def _started(folder: Path) -> Iterator[Server]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        missing("initdb/pg_ctl not found (apt-get install postgresql), nor PORTAL_TEST_POSTGRES")
    assert initdb and pg_ctl
    data, port = folder / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    user = "postgres" if os.geteuid() == 0 else None
    _run([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"])
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}"
    options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    conninfo = make_conninfo("", host="127.0.0.1", port=port, user=user or "postgres")
    server = Server(conninfo, data, folder / "server.log", options, pg_ctl)
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )


def as_url(conninfo: str, dbname: str) -> str:
    info = conninfo_to_dict(conninfo)
    user, host, port = info.get("user", ""), info.get("host", "127.0.0.1"), info.get("port", 5432)
    password = info.get("password")
    who = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgresql://{who}{host}:{port}/{dbname}"


def new_database(server: str) -> str:
    """A new, empty database on server (a conninfo or URL): its URL."""
    name = "portal_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return as_url(server, name)


def drop_database(server: str, url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
