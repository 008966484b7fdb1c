"""SQL for saved notebooks and their version history (cells and parameters as JSON text)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from store.database import Cursor

_COLUMNS = (
    "id, name, description, params, cells, builtin, created_by, created_at, updated_by,"
    " updated_at, version"
)
_VERSION_COLUMNS = "notebook_id, version, name, params, cells, saved_by, saved_at"


@dataclasses.dataclass(frozen=True)
class StoredNotebook:
    """One row of `notebooks`: the service decodes `params` and `cells` (JSON text)."""

    id: int
    name: str
    description: str
    params: str
    cells: str
    builtin: bool
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime
    version: int


@dataclasses.dataclass(frozen=True)
class StoredVersion:
    """One saved version of a notebook, as it was after that save."""

    notebook_id: int
    version: int
    name: str
    params: str
    cells: str
    saved_by: str
    saved_at: dt.datetime


def _notebook(row: tuple[Any, ...] | None) -> StoredNotebook | None:
    if row is None:
        return None
    nb_id, name, description, params, cells, builtin, c_by, c_at, u_by, u_at, version = row
    return StoredNotebook(
        int(nb_id),
        name,
        description,
        params,
        cells,
        bool(builtin),
        c_by,
        c_at,
        u_by,
        u_at,
        int(version),
    )


def get_notebook(cur: Cursor, notebook_id: int) -> StoredNotebook | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM notebooks WHERE id = ?", [notebook_id]).fetchone()
    return _notebook(row)


def get_notebook_by_name(cur: Cursor, name: str) -> StoredNotebook | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM notebooks WHERE name = ?", [name]).fetchone()
    return _notebook(row)


def list_notebooks(cur: Cursor) -> list[StoredNotebook]:
    """Every notebook: built-ins first, then by name."""
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM notebooks ORDER BY builtin DESC, lower(name), id"
    ).fetchall()
    return [n for n in map(_notebook, rows) if n is not None]


def list_builtin_names(cur: Cursor) -> set[str]:
    rows = cur.execute("SELECT name FROM notebooks WHERE builtin").fetchall()
    return {str(r[0]) for r in rows}


def insert_notebook(
    cur: Cursor,
    name: str,
    description: str,
    params: str,
    cells: str,
    by: str,
    now: dt.datetime,
    builtin: bool = False,
) -> int:
    """A new notebook at version 1 (and that version in its history); returns its id."""
    row = cur.execute(
        "INSERT INTO notebooks (name, description, params, cells, builtin, created_by,"
        " created_at, updated_by, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
        " RETURNING id",
        [name, description, params, cells, builtin, by, now, by, now],
    ).fetchone()
    assert row is not None
    notebook_id = int(row[0])
    insert_version(cur, notebook_id, 1, name, params, cells, by, now)
    return notebook_id


def update_notebook(
    cur: Cursor,
    notebook_id: int,
    loaded_version: int,
    name: str,
    description: str,
    params: str,
    cells: str,
    by: str,
    now: dt.datetime,
) -> int | None:
    """Save over the version the editor loaded; the new version, or None if it moved on."""
    row = cur.execute(
        "UPDATE notebooks SET name = ?, description = ?, params = ?, cells = ?, updated_by = ?,"
        " updated_at = ?, version = version + 1"
        " WHERE id = ? AND version = ? AND NOT builtin RETURNING version",
        [name, description, params, cells, by, now, notebook_id, loaded_version],
    ).fetchone()
    return None if row is None else int(row[0])


def insert_version(
    cur: Cursor,
    notebook_id: int,
    version: int,
    name: str,
    params: str,
    cells: str,
    by: str,
    now: dt.datetime,
) -> None:
    cur.execute(
        f"INSERT INTO notebook_versions ({_VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [notebook_id, version, name, params, cells, by, now],
    )


def delete_old_versions(cur: Cursor, notebook_id: int, newest: int, keep: int) -> None:
    """Keep only the `keep` newest versions of a notebook's history."""
    cur.execute(
        "DELETE FROM notebook_versions WHERE notebook_id = ? AND version <= ?",
        [notebook_id, newest - keep],
    )


def list_versions(cur: Cursor, notebook_id: int) -> list[StoredVersion]:
    """A notebook's kept versions, newest first."""
    rows = cur.execute(
        f"SELECT {_VERSION_COLUMNS} FROM notebook_versions WHERE notebook_id = ?"
        " ORDER BY version DESC",
        [notebook_id],
    ).fetchall()
    return [StoredVersion(int(r[0]), int(r[1]), *r[2:]) for r in rows]


def get_version(cur: Cursor, notebook_id: int, version: int) -> StoredVersion | None:
    row = cur.execute(
        f"SELECT {_VERSION_COLUMNS} FROM notebook_versions WHERE notebook_id = ? AND version = ?",
        [notebook_id, version],
    ).fetchone()
    return None if row is None else StoredVersion(int(row[0]), int(row[1]), *row[2:])


def delete_notebook(cur: Cursor, notebook_id: int) -> bool:
    """Delete a notebook that is not built-in, with its history; False if there was none."""
    row = cur.execute(
        "DELETE FROM notebooks WHERE id = ? AND NOT builtin RETURNING id", [notebook_id]
    ).fetchone()
    if row is None:
        return False
    cur.execute("DELETE FROM notebook_versions WHERE notebook_id = ?", [notebook_id])
    return True
