"""A class's database and server: N learners with 2FA on, a real key each, `portal serve` on it.

The learners are made through the portal's own services (account, wizard start, verify with a
code, backup codes, finish), so the server finds exactly what a class would leave behind. They
share one password, hashed once at the server's bcrypt cost (12 by default): a check costs the
same whoever's hash it is, and hashing 100 times would only slow the set-up down.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from pathlib import Path

import pyotp

from tests.e2e import harness

CACHE = Path(__file__).resolve().parent / "cache" / "class"
PASSWORD = "class-of-30-password"  # noqa: S105 - a throw-away bench database
TRAINER = "trainer"


@dataclasses.dataclass
class Person:
    """A learner as their phone knows them: name, password, the key the QR code carried."""

    username: str
    display_name: str
    secret: str = dataclasses.field(repr=False)
    last_step: int = 0  # the last time step this phone's code was accepted for (replay guard)

    def code(self, now: float) -> str | None:
        """A code the server will take now (a step +-1 not used yet), or None: wait a step."""
        step = int(now // 30)
        for candidate in (step, step + 1):
            if candidate > self.last_step:
                self.last_step = candidate
                return pyotp.TOTP(self.secret).at(candidate * 30)
        return None


@dataclasses.dataclass
class Classroom:
    db_path: Path
    env: dict[str, str]
    people: list[Person]


def prepare(n: int, rounds: int | None = None) -> Classroom:
    """A fresh database with a trainer (security manager) and n learners, 2FA on for all."""
    from portal.access import accounts, passwords
    from portal.clock import FixedClock
    from portal.context import open_portal
    from portal.models import Role
    from portal.settings import load_settings
    from portal.twofactor import enrolment, totp
    from store import users as user_store

    folder = CACHE / f"class-{n}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = harness.portal_env()
    env.pop("PORTAL_BCRYPT_ROUNDS")  # the server hashes at its default cost, as a class would
    if rounds is not None:
        env["PORTAL_BCRYPT_ROUNDS"] = str(rounds)
    db_path = folder / "class.duckdb"
    settings = load_settings(env={**env, "PORTAL_DB": str(db_path)}, secrets_file=folder / "none")
    real = passwords.hash_password(PASSWORD, settings.bcrypt_rounds)
    cheap = dataclasses.replace(settings, bcrypt_rounds=4)
    clock = FixedClock(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    p = open_portal(cheap, clock)
    people = []
    try:
        for i in range(n + 1):
            name, shown = (TRAINER, "Terry Trainer") if i == 0 else (f"learner{i:03d}", f"L {i}")
            role = Role.SECURITY_MANAGER if i == 0 else Role.USER
            user = accounts.create_account(p, None, name, PASSWORD, role, shown, "bench")
            who = accounts.identity_for(user, p.now(), None)
            view = enrolment.start(p, who, "bench")
            enrolment.verify(p, who, totp.code_at(view.secret, p.now()), "bench")
            enrolment.issue_codes(p, who)
            enrolment.finish(p, who, "bench")
            with p.db.write() as cur:
                user_store.update_password(cur, user.id, real)
            if i:
                people.append(Person(name, shown, view.secret))
    finally:
        p.db.close()
    return Classroom(db_path, env, people)


def start(
    room: Classroom, log_name: str = "class-server.log", sample_to: Path | None = None
) -> harness.Server:
    """`portal serve` on the class's database, on a free port; healthy when it returns.

    With `sample_to`, bench/sampler/sitecustomize.py samples the server's stacks into that file.
    """
    cmd = harness.portal_serve_cmd(room.db_path)
    env = harness.portal_process_env(room.env)
    if sample_to is not None:
        sampler = str(Path(__file__).resolve().parent / "sampler")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [sampler, env.get("PYTHONPATH")]))
        env["BENCH_SAMPLE_TO"] = str(sample_to)
    return harness.start_server(
        cmd,
        env,
        cwd=harness.REPO_ROOT,
        log_path=room.db_path.parent / log_name,
        inherit_env=False,
    )


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS in /proc/<pid>/status), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads so far (/proc/<pid>/stat), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cleanup(room: Classroom) -> None:
    shutil.rmtree(room.db_path.parent, ignore_errors=True)
