"""A real database (DuckDB file or PostgreSQL) for in-process `portal.cli.main([...])` runs."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from portal import cli, crypto
from portal.clock import Clock
from portal.context import Portal, open_portal
from portal.models import AuditEvent
from portal.settings import Settings
from store import audit as audit_store
from tests.conftest import ROOT


@dataclasses.dataclass
class Target:
    """Where the commands run: the --db value, and settings to open it for set-up and checks."""

    db: str
    settings: Settings

    @contextlib.contextmanager
    def portal(self, clock: Clock | None = None) -> Iterator[Portal]:
        p = open_portal(self.settings, clock)
        try:
            yield p
        finally:
            p.db.close()

    def events(self, event: str) -> list[AuditEvent]:
        with self.portal() as p, p.db.read() as cur:
            return [e for e in audit_store.list_events(cur, limit=10_000) if e.event == event]


@pytest.fixture(params=["duckdb", "postgresql"])
def target(request, tmp_path, monkeypatch) -> Iterator[Target]:
    """A migrated database on each engine; the environment the command reads, set to match."""
    key = crypto.encode_key(crypto.new_key())
    for name in [k for k in os.environ if k.startswith("PORTAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PORTAL_SECRET_KEY", key)
    monkeypatch.setenv("PORTAL_BCRYPT_ROUNDS", "4")
    if request.param == "duckdb":
        db = str(tmp_path / "cli.duckdb")
        yield Target(db, Settings(db_path=db, secret_key=key, bcrypt_rounds=4))
        return
    pg = request.getfixturevalue("postgres_template")
    url = pg.fresh()
    try:
        yield Target(url, Settings(db_path=url, secret_key=key, bcrypt_rounds=4))
    finally:
        pg.drop(url)


class Tty(io.StringIO):
    """Standard input typed at a terminal (what the confirmation prompt reads)."""

    def isatty(self) -> bool:
        return True


def run(target: Target, capsys, *argv: str) -> tuple[int, str, str]:
    """portal.cli.main(argv + --db), in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = cli.main([*argv, "--db", target.db])
    out = capsys.readouterr()
    return code, out.out, out.err


@contextlib.contextmanager
def held(db: str) -> Iterator[None]:
    """Another process holding the DuckDB file open, as a running server does."""
    script = (
        "import sys; from store import open_database; db = open_database(sys.argv[1]);"
        " print('ready', flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, db],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
