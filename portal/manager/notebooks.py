"""Saved notebooks: markdown and SQL cells with typed parameters, run over Explore's sandbox.

Every function acts for a security manager and checks the role itself. Saves are conditional on
the version the editor loaded, so a second manager's stale save is refused, not written over.
Every run, export, save, copy and delete is an audit event naming the notebook (and the values).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from portal import events
from portal.context import Portal
from portal.errors import (
    ConstraintViolation,
    InvalidInput,
    InvalidState,
    NotFound,
    PermissionDenied,
)
from portal.manager import explore, notebook_export
from portal.manager.guard import require_manager
from portal.manager.notebook_builtins import builtins
from portal.manager.notebook_model import (
    CellResult,
    Notebook,
    NotebookCell,
    NotebookVersion,
    cells_json,
    check,
    decode_cells,
    from_row,
    notebook_from_dict,
    params_json,
)
from portal.manager.notebook_params import bind, coerce, default_value, param_from_dict
from portal.models import Identity
from store import Cursor
from store import audit as audit_store
from store import notebooks as nb_store

__all__ = ["CellResult", "Notebook", "NotebookCell", "NotebookVersion", "notebook_from_dict"]

KEEP_VERSIONS = 20  # saves kept in a notebook's history
BUILTIN_BY = "portal"  # created_by of the shipped notebooks
BUILTIN_REFUSED = "Built-in notebooks cannot be changed or deleted: make a copy to edit it."


# -- reading and saving --------------------------------------------------------------------


def _manager(p: Portal, cur: Cursor, actor: Identity | None) -> str:
    return require_manager(p, cur, actor).username


def _audit(p: Portal, cur: Cursor, event: str, by: str, detail: Mapping[str, Any]) -> None:
    audit_store.insert_event(cur, p.now(), event, by, None, "notebooks", json.dumps(dict(detail)))


def _insert(p: Portal, cur: Cursor, nb: Notebook, name: str, by: str, builtin: bool = False) -> int:
    params, cells = params_json(nb.params), cells_json(nb.cells)
    return nb_store.insert_notebook(cur, name, nb.description, params, cells, by, p.now(), builtin)


def _seed(p: Portal) -> None:
    """Store the shipped notebooks that are not in the database yet (once per database)."""
    shipped = builtins(p.settings.require_2fa_grace_days)
    with p.db.read() as cur:
        present = nb_store.list_builtin_names(cur)
    missing = [d for d in shipped if d["name"] not in present]
    for d in missing:
        nb = notebook_from_dict(d)
        try:
            with p.db.write() as cur:
                if nb_store.get_notebook_by_name(cur, nb.name) is None:
                    _insert(p, cur, nb, nb.name, BUILTIN_BY, builtin=True)
        except ConstraintViolation:
            pass  # another session seeded it at the same moment


def list_notebooks(p: Portal, actor: Identity | None) -> list[Notebook]:
    """Every notebook (the built-ins first), for every security manager."""
    with p.db.read() as cur:
        _manager(p, cur, actor)
    _seed(p)
    with p.db.read() as cur:
        return [from_row(r) for r in nb_store.list_notebooks(cur)]


def get_notebook(p: Portal, actor: Identity | None, notebook_id: int) -> Notebook:
    with p.db.read() as cur:
        _manager(p, cur, actor)
        row = nb_store.get_notebook(cur, notebook_id)
    if row is None:
        raise NotFound("That notebook no longer exists: it was deleted.")
    return from_row(row)


def _taken(name: str) -> InvalidInput:
    return InvalidInput(f"There is already a notebook named {name}: choose another name.")


def create(p: Portal, actor: Identity | None, nb: Notebook, copied_from: str = "") -> Notebook:
    """Store a new notebook (version 1); InvalidInput for a bad or taken name."""
    check(nb)
    name = nb.name.strip()
    event = events.NOTEBOOK_COPIED if copied_from else events.NOTEBOOK_SAVED
    try:
        with p.db.write() as cur:
            by = _manager(p, cur, actor)
            if nb_store.get_notebook_by_name(cur, name) is not None:
                raise _taken(name)
            new_id = _insert(p, cur, nb, name, by)
            detail = {"notebook": name, "id": new_id, "version": 1}
            _audit(p, cur, event, by, detail | ({"from": copied_from} if copied_from else {}))
    except ConstraintViolation:
        raise _taken(name) from None
    return get_notebook(p, actor, new_id)


def save(p: Portal, actor: Identity | None, nb: Notebook) -> Notebook:
    """Save over the version the editor loaded; refused if someone saved since (reload)."""
    if nb.id is None:
        return create(p, actor, nb)
    check(nb)
    name = nb.name.strip()
    try:
        with p.db.write() as cur:
            by = _manager(p, cur, actor)
            _check_save(cur, nb, name)
            version = _update(p, cur, nb, name, by)
            nb_store.delete_old_versions(cur, nb.id, version, KEEP_VERSIONS)
            detail = {"notebook": name, "id": nb.id, "version": version}
            _audit(p, cur, events.NOTEBOOK_SAVED, by, detail)
    except ConstraintViolation:
        raise _taken(name) from None
    return get_notebook(p, actor, nb.id)


def _update(p: Portal, cur: Cursor, nb: Notebook, name: str, by: str) -> int:
    """The conditional UPDATE and the new version's history row; the new version number."""
    assert nb.id is not None
    params, cells = params_json(nb.params), cells_json(nb.cells)
    version = nb_store.update_notebook(
        cur, nb.id, nb.version, name, nb.description, params, cells, by, p.now()
    )
    if version is None:
        raise _changed(cur, nb)
    nb_store.insert_version(cur, nb.id, version, name, params, cells, by, p.now())
    return version


def _check_save(cur: Cursor, nb: Notebook, name: str) -> None:
    same_name = nb_store.get_notebook_by_name(cur, name)
    if same_name is not None and same_name.id != nb.id:
        raise _taken(name)


def _changed(cur: Cursor, nb: Notebook) -> Exception:
    """Why a conditional save matched no row: deleted, built-in, or saved by someone since."""
    now = nb_store.get_notebook(cur, nb.id or 0)
    if now is None:
        return NotFound("That notebook was deleted since you opened it.")
    if now.builtin:
        return PermissionDenied(BUILTIN_REFUSED)
    return InvalidState(
        f"{now.name} was changed by {now.updated_by} at {now.updated_at:%Y-%m-%d %H:%M} UTC "
        "since you opened it: reload it (copy your edits out first), then save again."
    )


def copy(p: Portal, actor: Identity | None, notebook_id: int, name: str) -> Notebook:
    """A new notebook with the cells and parameters of another (built-ins too)."""
    source = get_notebook(p, actor, notebook_id)
    fresh = dataclasses.replace(source, name=name, id=None, version=0, builtin=False)
    return create(p, actor, fresh, copied_from=source.name)


def delete(p: Portal, actor: Identity | None, notebook_id: int) -> None:
    """Delete a notebook and its history; built-ins are refused."""
    with p.db.write() as cur:
        by = _manager(p, cur, actor)
        row = nb_store.get_notebook(cur, notebook_id)
        if row is None:
            raise NotFound("That notebook was deleted already.")
        if row.builtin or not nb_store.delete_notebook(cur, notebook_id):
            raise PermissionDenied(BUILTIN_REFUSED)
        _audit(p, cur, events.NOTEBOOK_DELETED, by, {"notebook": row.name, "id": row.id})


def history(p: Portal, actor: Identity | None, notebook_id: int) -> list[NotebookVersion]:
    """The kept saves of a notebook, newest first."""
    with p.db.read() as cur:
        _manager(p, cur, actor)
        rows = nb_store.list_versions(cur, notebook_id)
    return [
        NotebookVersion(
            r.version,
            r.saved_by,
            r.saved_at,
            Notebook(
                r.name,
                "",
                tuple(map(param_from_dict, json.loads(r.params))),
                decode_cells(r.cells),
            ),
        )
        for r in rows
    ]


def restore(p: Portal, actor: Identity | None, loaded: Notebook, version: int) -> Notebook:
    """Save an old version's content as the newest version (over the version loaded)."""
    old = next((v for v in history(p, actor, loaded.id or 0) if v.version == version), None)
    if old is None:
        raise NotFound("That version is no longer kept.")
    content = old.notebook
    again = dataclasses.replace(loaded, name=content.name, params=content.params)
    return save(p, actor, dataclasses.replace(again, cells=content.cells))


# -- running and exporting -------------------------------------------------------------------


def values_for(p: Portal, nb: Notebook, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The typed value of every parameter (the default where none was given)."""
    today = p.now().date()
    try:
        return {
            q.name: coerce(q, raw[q.name], today) if q.name in raw else default_value(q, today)
            for q in nb.params
        }
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _shown(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in values.items()}


def _record(p: Portal, actor: Identity, event: str, nb: Notebook, **more: Any) -> str:
    with p.db.write() as cur:
        by = _manager(p, cur, actor)
        _audit(p, cur, event, by, {"notebook": nb.name, "id": nb.id, **more})
    return by


def _run(
    box: explore.Sandbox, nb: Notebook, cell: NotebookCell, values: dict[str, Any]
) -> CellResult:
    if cell.kind != "sql":
        return CellResult(cell.kind)
    try:
        sql, used = bind(cell.source, nb.params, values)
    except ValueError as exc:
        return CellResult("sql", error=str(exc))
    result = box.run(sql, params=used)
    return CellResult("sql", result.frame, result.error, result.truncated, result.seconds)


def run_notebook(
    p: Portal, actor: Identity, nb: Notebook, raw: Mapping[str, Any]
) -> list[CellResult]:
    """Run every cell, top to bottom, against one fresh copy; a bad cell keeps its error."""
    values = values_for(p, nb, raw)
    _record(p, actor, events.NOTEBOOK_RUN, nb, params=_shown(values), cells="all")
    with explore.open_sandbox(p, actor) as box:
        return [_run(box, nb, cell, values) for cell in nb.cells]


def run_cell(
    p: Portal, actor: Identity, nb: Notebook, index: int, raw: Mapping[str, Any]
) -> CellResult:
    """Run one cell (index from 0) against a fresh copy."""
    values = values_for(p, nb, raw)
    _record(p, actor, events.NOTEBOOK_RUN, nb, params=_shown(values), cells=index + 1)
    with explore.open_sandbox(p, actor) as box:
        return _run(box, nb, nb.cells[index], values)


def export(p: Portal, actor: Identity, nb: Notebook, raw: Mapping[str, Any]) -> bytes:
    """The notebook run now, as a zip of one self-contained HTML report and a CSV per table."""
    values = values_for(p, nb, raw)
    by = _record(p, actor, events.NOTEBOOK_EXPORTED, nb, params=_shown(values))
    with explore.open_sandbox(p, actor) as box:
        results = [_run(box, nb, cell, values) for cell in nb.cells]
    cells = [
        notebook_export.ExportCell(
            c.kind, c.source, r.frame, r.error, c.chart, r.seconds, r.truncated
        )
        for c, r in zip(nb.cells, results, strict=True)
    ]
    meta = notebook_export.ExportMeta(nb.name, by, p.now(), _shown(values), p.settings.issuer)
    return notebook_export.export_zip(meta, cells)
