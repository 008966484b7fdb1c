"""PostgreSQL copies of the generated databases: the cached DuckDB file, row for row, on a server.

`python -m bench --db postgresql://user@host/db` names a server on which the bench may create
databases (CREATEDB). The generated DuckDB file stays the source (same people, same keys, same
HMAC-keyed throttle rows), so both engines are measured on identical data: each table goes over
with DuckDB's CSV writer and psycopg's COPY (no row-by-row insert), the sequences are moved past
the ids, then VACUUM ANALYZE, without which the planner has no row counts (a manager page query
took 82 s before ANALYZE and 0.9 s after). That database, `bench_<N>_<key>`, is the cache; each
run works on `bench_work_<N>`, a CREATE DATABASE ... TEMPLATE clone of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import duckdb
import psycopg
from psycopg.conninfo import conninfo_to_dict

from store import open_database

CHUNK = 1 << 20  # bytes per COPY write
FIRST = ("meta", "users", "factors")  # copied before the tables whose foreign keys name them


def is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def url_for(server: str, dbname: str) -> str:
    """The server's URL (or conninfo) with another database name, as a postgresql:// URL."""
    info = conninfo_to_dict(server)
    user, password = info.get("user") or "", info.get("password")
    who = (
        f"{quote(str(user))}:{quote(str(password))}@"
        if password
        else (f"{quote(str(user))}@" if user else "")
    )
    port = f":{info['port']}" if info.get("port") else ""
    query = {
        k: v for k, v in info.items() if k not in ("user", "password", "host", "port", "dbname")
    }
    tail = "?" + urlencode(query) if query else ""
    return f"postgresql://{who}{info.get('host') or 'localhost'}{port}/{dbname}{tail}"


def pg_key(schema_key: str) -> str:
    """The DuckDB cache key plus the PostgreSQL migrations (they may differ per dialect)."""
    h = hashlib.sha256(schema_key.encode())
    folder = resources.files("store").joinpath("migrations").joinpath("postgresql")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name) if folder.is_dir() else ():
        if entry.name.endswith(".sql"):
            h.update(entry.name.encode() + entry.read_bytes())
    return h.hexdigest()[:12]


@contextlib.contextmanager
def admin(server: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(server, autocommit=True) as conn:
        yield conn


def exists(server: str, name: str) -> bool:
    with admin(server) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def drop(server: str, name: str) -> None:
    with admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create(server: str, name: str, template: str | None = None) -> str:
    """A new database (dropped first if it exists), cloned from template when given: its URL."""
    drop(server, name)
    with admin(server) as conn:
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:  # FILE_COPY: a file-level copy, not the whole database again through the WAL
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return url_for(server, name)


def cached(
    server: str, accounts: int, key: str, source: Path, log: Callable[[str], Any]
) -> tuple[str, float | None]:
    """The cached copy of `source` and the seconds its load took (None: it was there already).

    Made now if missing; stale copies (another key) are dropped.
    """
    name = f"bench_{accounts}_{key}"
    if exists(server, name):
        return name, None
    with admin(server) as conn:
        stale = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            [f"bench\\_{accounts}\\_%", name],
        ).fetchall()
    for (old,) in stale:
        drop(server, old)
    log(f"loading {source.name} into PostgreSQL database {name} ...")
    began = time.perf_counter()
    tmp = f"{name}_loading"
    load(create(server, tmp), source)
    with admin(server) as conn:
        conn.execute(f'ALTER DATABASE "{tmp}" RENAME TO "{name}"')
    seconds = time.perf_counter() - began
    log(f"loaded and analysed in {seconds:.1f} s")
    return name, seconds


def load(url: str, source: Path) -> None:
    """Migrate the database at url, then copy every table of the DuckDB file into it."""
    open_database(url).close()
    with duckdb.connect(str(source), read_only=True) as duck, psycopg.connect(url) as conn:
        found = duck.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_name <> 'schema_version'"
        ).fetchall()
        names = {r[0] for r in found}
        tables = [t for t in FIRST if t in names] + sorted(names - set(FIRST))
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        for table in tables:
            copy_table(duck, conn, table)
        move_sequences(conn)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # row counts for the planner, visibility map


def copy_table(duck: duckdb.DuckDBPyConnection, conn: psycopg.Connection[Any], table: str) -> None:
    """Append DuckDB's rows of table to PostgreSQL's, as CSV through COPY FROM STDIN."""
    columns = duck.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    names = ", ".join(f'"{c}"' for c, _ in columns)
    # bytea's hex input format; every other type's text form PostgreSQL reads as it is.
    select = ", ".join(
        f"'\\x' || hex(\"{c}\")" if kind == "BLOB" else f'"{c}"' for c, kind in columns
    )
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as folder:
        csv = Path(folder) / f"{table}.csv"
        duck.execute(
            f"COPY (SELECT {select} FROM \"{table}\") TO '{csv}'"  # noqa: S608 - our names
            " (FORMAT csv, HEADER false, NULLSTR '\\N')"
        )
        with (
            conn.cursor().copy(
                f"COPY \"{table}\" ({names}) FROM STDIN (FORMAT csv, NULL '\\N')"
            ) as copy,
            csv.open("rb") as f,
        ):
            while chunk := f.read(CHUNK):
                copy.write(chunk)


def move_sequences(conn: psycopg.Connection[Any]) -> None:
    """Explicit ids were copied: move each <table>_id_seq past its table's largest id."""
    for (seq,) in conn.execute("SELECT sequencename FROM pg_sequences").fetchall():
        table = seq.removesuffix("_id_seq")
        conn.execute(
            f'SELECT setval(\'"{seq}"\', coalesce((SELECT max(id) FROM "{table}"), 0) + 1, false)'
        )


def restore_table(url: str, source: Path, table: str) -> None:
    """Put one table back as the DuckDB file has it (the generated throttle rows)."""
    with duckdb.connect(str(source), read_only=True) as duck, psycopg.connect(url) as conn:
        conn.execute(f'DELETE FROM "{table}"')  # noqa: S608 - our own name
        copy_table(duck, conn, table)
        conn.commit()
