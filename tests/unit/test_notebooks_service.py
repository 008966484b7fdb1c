"""The notebook service: built-ins, runs with bound parameters, audit events, saves and refusals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import zipfile

import pytest

from portal import events
from portal.clock import FixedClock
from portal.context import Portal
from portal.errors import InvalidInput, InvalidState, NotFound, PermissionDenied
from portal.manager import notebooks
from portal.manager.notebook_params import Param
from portal.models import Identity
from store import audit as audit_store
from tests.conftest import START, add_user

CELL = notebooks.NotebookCell
RANGE = (Param("start", "date", default="-7d"), Param("end", "date", default="today"))
BY_DAY = (
    "SELECT event, count(*) AS n FROM audit"
    " WHERE CAST(occurred_at AS DATE) BETWEEN :start AND :end GROUP BY event ORDER BY event"
)


def _events(p: Portal, kind: str) -> list[dict[str, object]]:
    with p.db.read() as cur:
        found = [e for e in audit_store.list_events(cur, limit=500) if e.event == kind]
    return [json.loads(e.detail or "{}") | {"actor": e.actor} for e in found]


def _mine(p: Portal, boss: Identity, name: str = "Mine", **more: object) -> notebooks.Notebook:
    cells = (CELL("markdown", "# Why"), CELL("sql", BY_DAY))
    draft = notebooks.Notebook(name, "", RANGE, cells)
    return notebooks.create(p, boss, dataclasses.replace(draft, **more))  # type: ignore[arg-type]


def test_the_builtins_are_listed_once_and_every_cell_runs(p: Portal, boss: Identity) -> None:
    listed = notebooks.list_notebooks(p, boss)
    assert notebooks.list_notebooks(p, boss) == listed  # seeded once
    assert len(listed) == 3 and all(nb.builtin for nb in listed)
    for nb in listed:
        assert nb.cells[0].kind == "markdown" and "Why this matters" in nb.cells[0].source
        assert {"start", "end"} <= {q.name for q in nb.params}
        results = notebooks.run_notebook(p, boss, nb, {})
        assert [r.error for r in results] == [None] * len(results), nb.name
        shown = [r.frame is not None for r in results]
        assert shown == [c.kind == "sql" for c in nb.cells], nb.name


def test_a_date_range_is_bound_as_a_parameter(p: Portal, boss: Identity, clock: FixedClock) -> None:
    nb = _mine(p, boss)  # writes a notebook_saved event today
    today = clock.now().date()
    inside = notebooks.run_notebook(p, boss, nb, {"start": today, "end": today})
    before = notebooks.run_notebook(
        p, boss, nb, {"start": dt.date(2020, 1, 1), "end": dt.date(2020, 1, 2)}
    )
    assert inside[0].kind == "markdown" and inside[0].frame is None
    frame = inside[1].frame
    assert frame is not None and events.NOTEBOOK_SAVED in set(frame["event"])
    assert inside[1].rows == len(frame) > 0 and inside[1].seconds > 0
    assert before[1].frame is not None and before[1].rows == 0


def test_a_bad_cell_shows_its_error_and_the_others_run(p: Portal, boss: Identity) -> None:
    cells = (
        CELL("sql", "SELECT nope FROM audit"),
        CELL("sql", "SELECT :missing AS x"),
        CELL("sql", "SELECT 7 AS n"),
    )
    results = notebooks.run_notebook(p, boss, notebooks.Notebook("t", cells=cells), {})
    assert results[0].error and "nope" in results[0].error
    assert results[1].error and ":missing" in results[1].error
    assert results[2].error is None and results[2].frame is not None
    assert list(results[2].frame["n"]) == [7]


def test_a_text_value_cannot_inject_sql(p: Portal, boss: Identity) -> None:
    nb = notebooks.Notebook(
        "t",
        params=(Param("who", "text"),),
        cells=(CELL("sql", "SELECT count(*) AS n FROM user_status WHERE username = :who"),),
    )
    [result] = notebooks.run_notebook(p, boss, nb, {"who": "x' OR 1=1 --"})
    assert result.frame is not None and list(result.frame["n"]) == [0]


def test_every_run_is_audited_with_its_values(p: Portal, boss: Identity) -> None:
    nb = _mine(p, boss)
    notebooks.run_notebook(p, boss, nb, {"start": "2026-03-01", "end": "2026-03-02"})
    notebooks.run_cell(p, boss, nb, 1, {})
    runs = _events(p, events.NOTEBOOK_RUN)
    assert len(runs) == 2
    one, allcells = runs  # newest first
    assert allcells["params"] == {"start": "2026-03-01", "end": "2026-03-02"}
    assert allcells["notebook"] == "Mine" and allcells["actor"] == "boss"
    assert allcells["cells"] == "all" and one["cells"] == 2
    assert one["params"] == {"start": "2026-02-23", "end": "2026-03-02"}  # the defaults


def test_an_export_is_a_zip_and_is_audited_with_its_values(p: Portal, boss: Identity) -> None:
    nb = _mine(p, boss)
    data = notebooks.export(p, boss, nb, {"start": "2026-03-01", "end": "2026-03-02"})
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        names = zipped.namelist()
        html = zipped.read(next(n for n in names if n.endswith(".html"))).decode()
    assert any(n.endswith(".csv") for n in names)
    assert "Mine" in html and events.NOTEBOOK_SAVED in html
    [exported] = _events(p, events.NOTEBOOK_EXPORTED)
    assert exported["params"] == {"start": "2026-03-01", "end": "2026-03-02"}
    assert exported["actor"] == "boss" and exported["notebook"] == "Mine"


def test_a_bad_parameter_value_is_one_clear_error(p: Portal, boss: Identity) -> None:
    nb = _mine(p, boss)
    with pytest.raises(InvalidInput, match="date"):
        notebooks.run_notebook(p, boss, nb, {"start": "last tuesday"})
    assert _events(p, events.NOTEBOOK_RUN) == []


def test_someone_who_is_not_a_manager_is_refused(p: Portal, boss: Identity) -> None:
    nb = _mine(p, boss)
    alice = add_user(p, "alice")
    for attempt in (
        lambda: notebooks.list_notebooks(p, alice),
        lambda: notebooks.get_notebook(p, alice, nb.id or 0),
        lambda: notebooks.run_notebook(p, alice, nb, {}),
        lambda: notebooks.run_cell(p, alice, nb, 1, {}),
        lambda: notebooks.export(p, alice, nb, {}),
        lambda: notebooks.save(p, alice, nb),
        lambda: notebooks.copy(p, alice, nb.id or 0, "Other"),
        lambda: notebooks.delete(p, alice, nb.id or 0),
        lambda: notebooks.history(p, alice, nb.id or 0),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert _events(p, events.NOTEBOOK_RUN) == [] and _events(p, events.NOTEBOOK_EXPORTED) == []


def test_a_stale_save_is_refused_naming_who_changed_it(
    p: Portal, boss: Identity, clock: FixedClock
) -> None:
    ann = add_user(p, "ann", boss.role)
    opened_by_boss = _mine(p, boss)
    opened_by_ann = notebooks.get_notebook(p, ann, opened_by_boss.id or 0)
    clock.advance(minutes=3)
    saved = notebooks.save(p, ann, dataclasses.replace(opened_by_ann, description="ann's"))
    assert (saved.version, saved.updated_by) == (2, "ann")
    with pytest.raises(InvalidState) as refused:
        notebooks.save(p, boss, dataclasses.replace(opened_by_boss, description="boss's"))
    when = (START + dt.timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M")
    assert str(refused.value).startswith(f"Mine was changed by ann at {when} UTC")
    assert "reload" in str(refused.value)
    assert notebooks.get_notebook(p, boss, saved.id or 0).description == "ann's"


def test_a_name_is_unique(p: Portal, boss: Identity) -> None:
    _mine(p, boss)
    with pytest.raises(InvalidInput, match="already a notebook named Mine"):
        _mine(p, boss)
    other = _mine(p, boss, "Other")
    with pytest.raises(InvalidInput, match="already a notebook named Mine"):
        notebooks.save(p, boss, dataclasses.replace(other, name="Mine"))


def test_history_keeps_twenty_saves_and_a_restore_is_a_new_save(p: Portal, boss: Identity) -> None:
    nb = _mine(p, boss)
    for n in range(24):
        nb = notebooks.save(p, boss, dataclasses.replace(nb, cells=(CELL("sql", f"SELECT {n}"),)))
    kept = notebooks.history(p, boss, nb.id or 0)
    assert [v.version for v in kept] == list(range(25, 5, -1))
    assert kept[1].notebook.cells == (CELL("sql", "SELECT 22"),)
    restored = notebooks.restore(p, boss, nb, 10)
    assert restored.version == 26 and restored.cells == (CELL("sql", "SELECT 8"),)
    with pytest.raises(NotFound):
        notebooks.restore(p, boss, restored, 2)
    assert len(_events(p, events.NOTEBOOK_SAVED)) == 26


def test_a_builtin_cannot_be_changed_or_deleted_but_can_be_copied(
    p: Portal, boss: Identity
) -> None:
    builtin = notebooks.list_notebooks(p, boss)[0]
    with pytest.raises(PermissionDenied, match="make a copy"):
        notebooks.save(p, boss, dataclasses.replace(builtin, description="mine now"))
    with pytest.raises(PermissionDenied, match="make a copy"):
        notebooks.delete(p, boss, builtin.id or 0)
    copied = notebooks.copy(p, boss, builtin.id or 0, "My coverage")
    assert not copied.builtin and copied.cells == builtin.cells and copied.params == builtin.params
    [event] = _events(p, events.NOTEBOOK_COPIED)
    assert event["from"] == builtin.name and event["notebook"] == "My coverage"
    notebooks.delete(p, boss, copied.id or 0)
    assert [e["notebook"] for e in _events(p, events.NOTEBOOK_DELETED)] == ["My coverage"]
    with pytest.raises(NotFound):
        notebooks.get_notebook(p, boss, copied.id or 0)
