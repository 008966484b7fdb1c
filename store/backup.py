"""SQL for DuckDB backups: copy a whole database file through DuckDB itself, in one snapshot.

`COPY FROM DATABASE` recreates every table, index, constraint and sequence (with its current
value) in a freshly attached file. Run inside one transaction it reads one snapshot, so a copy
taken while the portal writes holds exactly what was committed when it began.
"""

from __future__ import annotations

import secrets

from store.database import Cursor

KEY_CHECK = "key_check"  # the meta row holding the encryption key's check (portal.context)


def _alias(kind: str) -> str:
    return f"portal_{kind}_{secrets.token_hex(6)}"  # ours, never text from a request


def current_name(cur: Cursor) -> str:
    """The catalog name of the connection's own database (what COPY FROM DATABASE reads)."""
    row = cur.execute("SELECT current_database()").fetchone()
    return str(row[0]) if row else "memory"


def attach(cur: Cursor, path: str, read_only: bool = False) -> str:
    """Attach a database file under a fresh alias; returns the alias."""
    alias = _alias("ro" if read_only else "rw")
    mode = " (READ_ONLY)" if read_only else ""
    cur.execute(f'ATTACH ? AS "{alias}"{mode}', [path])
    return alias


def detach(cur: Cursor, alias: str) -> None:
    cur.execute(f'DETACH "{alias}"')


def copy_into_new_file(cur: Cursor, source: str, dest_path: str) -> None:
    """Copy the attached catalog `source` into a new DuckDB file at dest_path, then close it."""
    alias = attach(cur, dest_path)
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(f'COPY FROM DATABASE "{source}" TO "{alias}"')
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
        cur.execute(f'CHECKPOINT "{alias}"')  # everything in the file itself, no WAL beside it
    finally:
        detach(cur, alias)


def get_key_check(cur: Cursor, alias: str) -> bytes | None:
    """The key check stored in an attached database's meta table; None if it has none."""
    has_meta = cur.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_catalog = ? AND table_name = 'meta'",
        [alias],
    ).fetchone()
    if not has_meta or not has_meta[0]:
        return None
    row = cur.execute(f'SELECT value FROM "{alias}".meta WHERE key = ?', [KEY_CHECK]).fetchone()
    return bytes(row[0]) if row else None
