"""Generated databases of N accounts, built in bulk from Arrow tables and cached in bench/cache/.

The bulk rows look like a real organisation (see `describe()`); a few "bench_*" people are added
through the store functions with real bcrypt (cost 12) hashes and AES-GCM-encrypted TOTP secrets,
so the services can sign them in. Each run works on a fresh copy of the cached file, so runs do
not see each other's audit rows, used time steps or throttle counters.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import bcrypt
import duckdb
import numpy as np
import pyarrow as pa

from bench import pg
from portal import crypto
from portal.access import throttle
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.settings import Settings
from store import factors as factor_store
from store import meta as meta_store

GENERATOR_VERSION = 9  # bump when the generated mix changes: the cache key includes it
CACHE = Path(__file__).resolve().parent / "cache"
START = dt.datetime(2026, 6, 1, 9, 0, 0, tzinfo=dt.UTC)  # the bench clock's first instant
PASSWORD = "bench-password-correct-horse"  # noqa: S105 - a benchmark account's password
SOURCE = "127.0.0.1 bench"
BENCH_KEY = crypto.encode_key(hashlib.sha256(b"twofactor-portal bench key v1").digest())
PEOPLE_KEY = "bench:people"  # meta row (bench copies only) naming the people below
ThrottleKey = Callable[..., str]  # (scope, name[, source]) -> the portal's HMAC row key


@dataclasses.dataclass(frozen=True)
class People:
    """Ordinary generated people from the middle of the tables, given real credentials."""

    login: str  # the sign-in figures
    manager: str  # a security manager with 2FA on: the pages
    concurrent: tuple[str, ...]  # 8 people signing in at once
    same_user: tuple[str, ...]  # one per round of the same-person test


_people: dict[str, People] = {}


def people(p: Portal) -> People:
    if p.db.path not in _people:
        with p.db.read() as cur:
            raw = meta_store.get_meta(cur, PEOPLE_KEY)
        if raw is None:
            raise RuntimeError(f"{p.db.path} has no bench people: delete bench/cache and rerun")
        data = json.loads(raw)
        _people[p.db.path] = People(
            data["login"], data["manager"], tuple(data["concurrent"]), tuple(data["same_user"])
        )
    return _people[p.db.path]


FIRST = (  # noqa: SIM905 - a word list reads better as text
    "Ada Ben Chloe Dev Emma Finn Grace Hugo Ines Jonas Kai Lena Mia Noah Olga Pia Quinn Rosa Sam "
    "Tara Uma Vic Wen Xavi Yara Zoe Aaron Beth Carl Dana Eli Fay Gus Hana Ivo Jill Karl Lars"
).split()
LAST = (  # noqa: SIM905
    "Smith Jones Brown Garcia Miller Davis Lopez Wilson Anderson Thomas Moore Martin Lee Walker "
    "Hall Young King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter "
    "Phillips Evans Turner Torres Parker Collins Edwards Stewart Morris Murphy Cook Rogers Morgan "
    "Peterson Cooper Reed Bailey Bell Gomez Kelly Howard Ward Cox Diaz Richardson Wood Watson"
).split()


@dataclasses.dataclass(frozen=True)
class Dataset:
    accounts: int
    cached: Path  # the generated file (never written after generation)
    work: Path | str  # this run's copy: a DuckDB file or a postgresql:// URL
    generated_seconds: float | None  # None when the cache was used
    engine: str = "duckdb"  # or "postgresql" (bench/pg.py)

    def settings(self, rounds: int = 12) -> Settings:
        return Settings(db_path=str(self.work), secret_key=BENCH_KEY, bcrypt_rounds=rounds)

    def open(self, clock: FixedClock | None = None) -> Portal:
        return open_portal(self.settings(), clock or FixedClock(START))

    def restore_throttle(self, p: Portal) -> None:
        """Put this copy's throttle rows back as generated: lockouts running at START again.

        Sign-ins prune the rows whose window ended, so after the sign-in figures (whose clock
        runs on) the generated failures and lockouts are gone; the manager page is measured at
        the generated instant and should count them.
        """
        if self.engine == "postgresql":
            pg.restore_table(str(self.work), self.cached, "throttle")
            return
        with duckdb.connect(str(self.cached), read_only=True) as pristine:
            rows = pristine.sql("SELECT * FROM throttle").to_arrow_table()
        with p.db.write() as cur:
            cur.execute("DELETE FROM throttle")
            cur.register("bulk_frame", rows)
            cur.execute("INSERT INTO throttle BY NAME SELECT * FROM bulk_frame")
            cur.unregister("bulk_frame")


def secret_for(username: str) -> str:
    """The bench person's TOTP secret (160 bits, derived so the phone side needs no file)."""
    return base64.b32encode(hashlib.sha1(username.encode()).digest()).decode()  # noqa: S324


def schema_key() -> str:
    """Changes whenever a migration file is added or changed (part of the cache key)."""
    h = hashlib.sha256(f"generator {GENERATOR_VERSION}".encode())
    folder = resources.files("store").joinpath("migrations")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            h.update(entry.name.encode())
            h.update(entry.read_bytes())
    return h.hexdigest()[:12]


def prepare(
    accounts: int,
    log: Callable[[str], object] = print,
    server: str | None = None,
) -> Dataset:
    """The cached database of `accounts` generated people (generating it if needed) + a copy.

    With server (a PostgreSQL URL), the copy is a PostgreSQL database holding the same rows.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    key = schema_key()
    cached = CACHE / f"accounts-{accounts}-{key}.duckdb"
    seconds = None
    if not cached.exists():
        for stale in CACHE.glob(f"accounts-{accounts}-*.duckdb*"):
            stale.unlink()
        log(f"generating {accounts:,} accounts into {cached.name} ...")
        began = time.perf_counter()
        tmp = cached.with_suffix(".tmp")
        for leftover in (tmp, Path(str(tmp) + ".wal")):
            leftover.unlink(missing_ok=True)
        generate(tmp, accounts)
        tmp.rename(cached)
        seconds = time.perf_counter() - began
        log(f"generated in {seconds:.1f} s ({cached.stat().st_size / 1e6:,.0f} MB)")
    if server is not None:
        name, seconds = pg.cached(server, accounts, pg.pg_key(key), cached, log)
        url = pg.create(server, f"bench_work_{accounts}", template=name)
        return Dataset(accounts, cached, url, seconds, "postgresql")
    work = CACHE / f"work-{accounts}.duckdb"
    Path(str(work) + ".wal").unlink(missing_ok=True)
    shutil.copyfile(cached, work)
    return Dataset(accounts, cached, work, seconds)


def empty(name: str = "empty", server: str | None = None) -> Dataset:
    """A fresh, migrated database with no account (for the first-run page)."""
    if server is not None:
        url = pg.create(server, f"bench_work_{name}")
        return Dataset(0, Path(), url, None, "postgresql")
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / f"work-{name}.duckdb"
    for f in (work, Path(str(work) + ".wal")):
        f.unlink(missing_ok=True)
    return Dataset(0, work, work, None)


# --- generation ------------------------------------------------------------------------------


def generate(path: Path, n: int) -> None:
    settings = Settings(db_path=str(path), secret_key=BENCH_KEY, bcrypt_rounds=12)
    p = open_portal(settings, FixedClock(START))
    try:
        # The rows are keyed as the portal keys them (its HMAC key is made in meta here).
        key = functools.partial(throttle._key, p)
        tables = bulk_tables(n, np.random.default_rng(20260601), key, settings)
        with p.db.write() as cur:
            for name, table in tables.items():
                cur.register("bulk_frame", table)
                cur.execute(f"INSERT INTO {name} BY NAME SELECT * FROM bulk_frame")  # noqa: S608
                cur.unregister("bulk_frame")
            # Explicit ids were used: move each sequence past them so the services can insert.
            for seq, table in (
                ("users_id_seq", "users"),
                ("factors_id_seq", "factors"),
                ("backup_codes_id_seq", "backup_codes"),
                ("audit_id_seq", "audit"),
            ):
                count = tables[table].num_rows
                cur.execute(f"SELECT max(nextval('{seq}')) FROM range(?)", [count])
        add_bench_people(p, n)
        with p.db.write() as cur:
            cur.execute("CHECKPOINT")
    finally:
        p.db.close()


def _strings(data: np.ndarray) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII, without a Python loop."""
    n, width = data.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    )


def _blobs(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    data = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _ts(seconds_before_start: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Timestamps START - seconds (None where mask is True)."""
    start_us = int(START.timestamp() * 1_000_000)
    values = start_us - (seconds_before_start * 1_000_000).astype(np.int64)
    arr = pa.array(values, type=pa.int64(), mask=mask).cast(pa.timestamp("us", tz="UTC"))
    return arr


SUFFIXES = ("", "son", "er", "ley", "ford", "ton", "berg", "ski", "ez", "ini")


def display_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Names like "Ada K. Smithson" from about 570,000 combinations: most are their own."""
    lasts = [last + suffix for last in LAST for suffix in SUFFIXES]
    initials = [f"{chr(c)}." for c in range(ord("A"), ord("Z") + 1)]
    parts = [_pick(values, rng.integers(0, len(values), n)) for values in (FIRST, initials, lasts)]
    return pa.compute.binary_join_element_wise(*parts, " ")


def _pick(values: list[str | None], codes: np.ndarray) -> pa.Array:
    """values[codes] as an Arrow string array (None in values gives nulls), without objects."""
    return pa.array(values, pa.string()).take(pa.array(np.asarray(codes, dtype=np.int32)))


def _username_array(numbers: np.ndarray) -> pa.Array:
    """user0000042 ... for each number, built digit by digit into one buffer."""
    n = len(numbers)
    digits = 7 if n <= 10_000_000 else len(str(n))
    i = numbers.astype(np.int64)
    data = np.empty((n, 4 + digits), dtype=np.uint8)
    data[:, :4] = np.frombuffer(b"user", dtype=np.uint8)
    for d in range(digits):
        data[:, 4 + digits - 1 - d] = ord("0") + (i // 10**d) % 10
    return _strings(data)


def bulk_tables(
    n: int, rng: np.random.Generator, key: ThrottleKey, settings: Settings
) -> dict[str, pa.Table]:
    """The generated organisation (fractions are of accounts):

    - 0.2% security managers, 1% disabled, created over the last 3 years;
    - 75% signed in within 90 days; 60% have an email address;
    - 0.3% have a manager's reset grant (a quarter of them expired) and no key;
    - otherwise 60% have an active key (10 backup codes each, some used; 1% of them also
      a pending replacement) and 8% a pending, unfinished set-up;
    - 2% have failed attempts, 0.2% are locked out (see `_throttle`);
    - audit: account_created for all, wizard_completed per active key, sign_in_ok per last
      sign-in, sign_in_failed per failing account, backup_code_used, reset_granted;
    - sessions: 40% of those who signed in have a browser session row, 80% of them ended.
    """
    i = np.arange(n, dtype=np.int64)
    ids = i + 1
    # Usernames in no particular order against ids (people join in any order), so that sorting
    # or filtering by username gets no help from DuckDB's zone maps.
    usernames = _username_array(rng.permutation(n))
    display = display_names(rng, n)
    role = _pick(["user", "security_manager"], rng.random(n) < 0.002)
    disabled = rng.random(n) < 0.01
    # Seconds before START that each account was created: ids follow creation time.
    age = np.sort(rng.uniform(3600, 3 * 365 * 86400, n))[::-1].copy()
    signed = rng.random(n) < 0.75
    last_sign_in = rng.uniform(1, np.minimum(90 * 86400, age - 1))
    reset = rng.random(n) < 0.003
    reset_age = rng.uniform(60, 32 * 3600, n)  # grants last 24 h: a quarter are expired
    hashes = rng.integers(0, 64, size=(n, 60), dtype=np.uint8)
    alphabet = np.frombuffer(
        b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8
    )
    hashes = alphabet[hashes]
    hashes[:, :7] = np.frombuffer(b"$2b$12$", dtype=np.uint8)
    email_mask = rng.random(n) >= 0.6
    users = pa.table(
        {
            "id": ids,
            "username": usernames,
            "display_name": display,
            "role": role,
            "password_hash": _strings(hashes),
            "disabled": disabled,
            "created_at": _ts(age),
            "last_sign_in_at": _ts(last_sign_in, ~signed),
            "reset_granted_at": _ts(reset_age, ~reset),
            "reset_expires_at": _ts(reset_age - 24 * 3600, ~reset),
            "reset_granted_by": _pick([None, "admin0"], reset),
            "email": pa.compute.binary_join_element_wise(
                usernames, _pick(["example.org", None], email_mask), "@"
            ),
        }
    )

    # Factors: active / pending / both, appended in the order people enrolled (as in real
    # life, so a person's rows sit anywhere in the table and zone maps cannot find them).
    r = rng.random(n)
    active = (r < 0.60) & ~reset
    pending = (((r >= 0.60) & (r < 0.68)) | (active & (rng.random(n) < 0.01))) & ~reset
    enrol_age = rng.uniform(1, np.minimum(2 * 365 * 86400, age - 1))
    owners = np.concatenate([ids[active], ids[pending]])
    is_active = np.arange(len(owners)) < int(active.sum())
    f_age = np.concatenate([enrol_age[active], rng.uniform(60, 30 * 86400, int(pending.sum()))])
    order = np.argsort(-f_age, kind="stable")
    owners, is_active, f_age = owners[order], is_active[order], f_age[order]
    nf = len(owners)
    factor_ids = np.arange(1, nf + 1, dtype=np.int64)
    factors = pa.table(
        {
            "id": factor_ids,
            "user_id": owners,
            "status": _pick(["pending", "active"], is_active),
            "secret_enc": _blobs(rng, nf, 12 + 32 + 16),  # nonce + base32 secret + GCM tag
            "created_at": _ts(f_age + 120),
            "verified_at": _ts(f_age + 60),
            "activated_at": _ts(f_age, ~is_active),
            "last_step": pa.array(
                (int(START.timestamp()) - f_age.astype(np.int64)) // 30,
                mask=~is_active,
                type=pa.int64(),
            ),
        }
    )

    # Backup codes: 10 per active key, issued with it; the first `used` of them used.
    active_owners = owners[is_active]
    used = np.minimum(rng.poisson(1.2, len(active_owners)), 10)
    nc = len(active_owners) * 10
    slot = np.tile(np.arange(10), len(active_owners))
    code_used = slot < np.repeat(used, 10)
    code_age = np.repeat(f_age[is_active], 10)
    one_code = hashlib.sha256(b"code").digest() + b"\x00" * 8  # 40 bytes
    backup = pa.table(
        {
            "id": np.arange(1, nc + 1, dtype=np.int64),
            "user_id": np.repeat(active_owners, 10),
            "factor_id": np.repeat(factor_ids[is_active], 10),
            # one dummy ciphertext for every code (12 nonce + 12 code + 16 tag bytes)
            "code_enc": pa.repeat(pa.scalar(one_code, pa.binary()), nc),
            "created_at": _ts(code_age),
            "used_at": _ts(code_age / 2, ~code_used),
        }
    )
    used_by_user = np.zeros(n, dtype=np.int64)
    used_by_user[active_owners - 1] = used
    # Each key's count of unused codes, as the store keeps it (migration 0008); after the draws
    # above, so the generated rows stay what they were.
    codes_left = np.zeros(nf, dtype=np.int32)
    codes_left[is_active] = 10 - used
    factors = factors.append_column("codes_left", pa.array(codes_left))

    # Throttle: 2% with some failures, 0.2% locked out right now.
    t = rng.random(n)
    failing = t < 0.02
    counters = _throttle(rng, ids, usernames, failing, t < 0.002, key, settings)

    audit = _audit(
        rng,
        n,
        usernames,
        age,
        signed,
        last_sign_in,
        active,
        enrol_age,
        failing,
        used_by_user,
        reset,
        reset_age,
    )
    sessions = _sessions(rng, ids, signed, last_sign_in)
    return {
        "users": users,
        "factors": factors,
        "backup_codes": backup,
        "throttle": counters,
        "audit": audit,
        "sessions": sessions,
    }


ADDRESSES = ("10.0.0.12", "10.0.3.40", "192.168.1.7", "10.1.0.9")


def _throttle(
    rng: np.random.Generator,
    ids: np.ndarray,
    usernames: pa.Array,
    failing: np.ndarray,
    locked: np.ndarray,
    key: ThrottleKey,
    settings: Settings,
) -> pa.Table:
    """Each failing person failed from one client address within the last 10 minutes.

    That is two rows, as the portal writes them: (name, address) and the name from anywhere,
    with the same count, keyed by the portal's HMAC. The locked-out reached `lockout_after` at
    their address (locked to the end of its window); their account row counts the same failures,
    below the account-wide limit, so each locked-out person is one locked address row.
    """
    names = usernames.filter(pa.array(failing)).to_pylist()
    nt = len(names)
    locked = locked[failing]
    failures = np.where(locked, settings.lockout_after, rng.integers(1, 5, nt)).astype(np.int32)
    ago = rng.uniform(1, 600, nt)  # seconds before START of the last failure
    ends = ago - settings.lockout_minutes * 60  # the window's end (negative: after START)
    address = [ADDRESSES[a] for a in rng.integers(0, len(ADDRESSES), nt)]
    keys = [key(throttle.ADDRESS, name, a) for name, a in zip(names, address, strict=True)]
    keys += [key(throttle.ACCOUNT, name) for name in names]
    return pa.table(  # the address rows, then the account rows
        {
            "key": pa.array(keys, pa.string()),
            "scope": _pick([throttle.ADDRESS, throttle.ACCOUNT], np.repeat([0, 1], nt)),
            "user_id": np.tile(ids[failing], 2),
            "failures": np.tile(failures, 2),
            "last_failure_at": _ts(np.tile(ago, 2)),
            "expires_at": _ts(np.tile(ends, 2)),
            "locked_until": _ts(np.tile(ends, 2), np.concatenate([~locked, np.ones(nt, bool)])),
        }
    )


def _hex(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    return _strings(digits[rng.integers(0, 16, size=(n, width), dtype=np.uint8)])


def _sessions(
    rng: np.random.Generator, ids: np.ndarray, signed: np.ndarray, last_sign_in: np.ndarray
) -> pa.Table:
    """Browser sessions of 40% of the people who signed in (80% of them ended), in time order."""
    has = signed & (rng.random(len(ids)) < 0.4)
    when = last_sign_in[has]
    order = np.argsort(-when, kind="stable")
    owners, when = ids[has][order], when[order]
    n = len(owners)
    ended = rng.random(n) < 0.8
    return pa.table(
        {
            "id": _hex(rng, n, 22),
            "user_id": owners,
            "token_hash": _hex(rng, n, 64),
            "ticket_hash": pa.nulls(n, pa.string()),
            "browser_hash": _hex(rng, n, 64),
            "ticket_expires_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
            "created_at": _ts(when),
            "last_seen_at": _ts(np.maximum(when - rng.uniform(0, 3600, n), 1)),
            "second_factor_at": _ts(when),
            "user_agent": _pick(["Mozilla/5.0 (X11; Linux x86_64) Chrome/150.0"], np.zeros(n)),
            "source": _pick(["10.0.0.12 Chrome", "10.0.3.40 Firefox"], rng.integers(0, 2, n)),
            "ended_at": _ts(np.maximum(when - 7200, 1), ~ended),
            "end_reason": _pick([None, "signed out"], ended),
        }
    )


SELF = "$self"  # the audit row's actor is its subject


def _audit(
    rng: np.random.Generator,
    n: int,
    usernames: pa.Array,
    age: np.ndarray,
    signed: np.ndarray,
    last_sign_in: np.ndarray,
    active: np.ndarray,
    enrol_age: np.ndarray,
    failing: np.ndarray,
    used_full: np.ndarray,
    reset: np.ndarray,
    reset_age: np.ndarray,
) -> pa.Table:
    i = np.arange(n, dtype=np.int64)
    parts = [
        ("account_created", i, age, "admin0", "role user"),
        ("wizard_completed", i[active], enrol_age[active], SELF, None),
        ("sign_in_ok", i[signed], last_sign_in[signed], SELF, "password and second factor"),
        (
            "sign_in_failed",
            i[failing],
            rng.uniform(1, 600, int(failing.sum())),
            None,
            "wrong username or password",
        ),
        (
            "backup_code_used",
            i[used_full > 0],
            last_sign_in[used_full > 0] + 30,
            SELF,
            "sign-in; 9 left",
        ),
        ("reset_granted", i[reset], reset_age[reset], "admin0", "lost phone"),
    ]
    kind = np.concatenate([np.full(len(p[1]), k, dtype=np.int32) for k, p in enumerate(parts)])
    who = np.concatenate([p[1] for p in parts])
    when = np.concatenate([p[2] for p in parts])
    order = np.argsort(-when, kind="stable")  # oldest first, so ids follow time
    kind, who, when = kind[order], who[order], when[order]
    subject = usernames.take(pa.array(who))
    actor = _pick([p[3] for p in parts], kind)
    is_self = pa.compute.fill_null(pa.compute.equal(actor, SELF), False)
    sources = [
        "10.0.0.12 Chrome",
        "10.0.3.40 Firefox",
        "192.168.1.7 Safari",
        "10.1.0.9 Edge",
        "cli",
    ]
    return pa.table(
        {
            "id": np.arange(1, len(order) + 1, dtype=np.int64),
            "occurred_at": _ts(when),
            "event": _pick([p[0] for p in parts], kind),
            "actor": pa.compute.if_else(is_self, subject, actor),
            "subject": subject,
            "source": _pick(sources, rng.integers(0, len(sources), len(order))),
            "detail": _pick([p[4] for p in parts], kind),
        }
    )


def add_bench_people(p: Portal, n: int) -> None:
    """Give 18 ordinary people from the middle of the tables real credentials.

    They keep their place in every table (their factor, codes, audit rows and sessions sit
    among everybody else's), so their lookups cost what anybody's would: people appended at the
    end would be found for free by DuckDB's zone maps. Each gets a real bcrypt hash (cost 12), an
    AES-GCM-encrypted TOTP secret and 10 encrypted, unused backup codes.
    """
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(12)).decode()
    chosen: dict[str, list[tuple[int, str, int]]] = {}
    with p.db.write() as cur:
        for role, count in (("user", 17), ("security_manager", 1)):
            chosen[role] = cur.execute(
                "SELECT u.id, u.username, f.id FROM users u"
                " JOIN factors f ON f.user_id = u.id AND f.status = 'active'"
                " WHERE u.role = ? AND NOT u.disabled AND u.reset_expires_at IS NULL"
                " AND u.id >= ?"
                " AND u.id NOT IN (SELECT user_id FROM factors WHERE status = 'pending')"
                " AND u.id NOT IN (SELECT user_id FROM throttle WHERE user_id IS NOT NULL)"
                " ORDER BY u.id LIMIT ?",
                [role, n // 2, count],
            ).fetchall()
        for uid, name, fid in chosen["user"] + chosen["security_manager"]:
            secret = secret_for(name)
            cur.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hashed, uid])
            cur.execute(
                "UPDATE factors SET secret_enc = ?, last_step = NULL WHERE id = ?",
                [p.cipher.encrypt(secret.encode(), f"totp:{uid}"), fid],
            )
            codes = [p.cipher.encrypt(f"code{k:08d}".encode(), f"backup:{uid}") for k in range(10)]
            factor_store.insert_backup_codes(cur, uid, fid, codes, START - dt.timedelta(days=30))
        names = [c[1] for c in chosen["user"]]
        record = {
            "login": names[0],
            "concurrent": names[1:9],
            "same_user": names[9:17],
            "manager": chosen["security_manager"][0][1],
        }
        meta_store.insert_meta(cur, PEOPLE_KEY, json.dumps(record).encode())
