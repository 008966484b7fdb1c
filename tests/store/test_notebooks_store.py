"""Saved notebooks in SQL, on every backend: versions, the history cap, stale saves, restarts."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from portal.clock import FixedClock
from portal.context import open_portal
from portal.errors import ConstraintViolation
from portal.manager import notebooks
from portal.manager.notebook_model import Notebook, NotebookCell
from portal.manager.notebook_params import Param
from portal.models import Role
from portal.settings import Settings
from store import Database
from store import notebooks as nb_store
from tests.conftest import START, add_user

LATER = START + dt.timedelta(minutes=5)


def _new(db: Database, name: str = "Checks", builtin: bool = False) -> int:
    with db.write() as cur:
        return nb_store.insert_notebook(cur, name, "why", "[]", '["c1"]', "boss", START, builtin)


def _save(db: Database, nb_id: int, loaded: int, cells: str, by: str = "boss") -> int | None:
    with db.write() as cur:
        version = nb_store.update_notebook(cur, nb_id, loaded, "Checks", "", "[]", cells, by, LATER)
        if version is not None:
            nb_store.insert_version(cur, nb_id, version, "Checks", "[]", cells, by, LATER)
            nb_store.delete_old_versions(cur, nb_id, version, keep=3)
        return version


def test_a_notebook_is_stored_listed_and_its_first_version_kept(db: Database) -> None:
    nb_id = _new(db)
    with db.read() as cur:
        stored = nb_store.get_notebook(cur, nb_id)
        assert nb_store.get_notebook_by_name(cur, "Checks") == stored
        assert nb_store.list_notebooks(cur) == [stored]
        [first] = nb_store.list_versions(cur, nb_id)
        assert nb_store.get_notebook(cur, nb_id + 99) is None
    assert stored is not None
    assert (stored.name, stored.cells, stored.version, stored.builtin) == (
        "Checks",
        '["c1"]',
        1,
        False,
    )
    assert stored.created_at == START and stored.updated_by == "boss"
    assert (first.version, first.cells, first.saved_by) == (1, '["c1"]', "boss")


def test_names_are_unique(db: Database) -> None:
    _new(db)
    with pytest.raises(ConstraintViolation):
        _new(db)


def test_a_save_over_an_older_version_is_refused(db: Database) -> None:
    nb_id = _new(db)
    assert _save(db, nb_id, 1, '["c2"]', "ann") == 2
    assert _save(db, nb_id, 1, '["c3"]', "bob") is None  # bob loaded version 1
    with db.read() as cur:
        stored = nb_store.get_notebook(cur, nb_id)
    assert stored is not None
    assert (stored.version, stored.cells, stored.updated_by, stored.updated_at) == (
        2,
        '["c2"]',
        "ann",
        LATER,
    )


def test_two_managers_saving_at_once_one_wins(db: Database) -> None:
    nb_id = _new(db)
    start = threading.Barrier(4)
    won: list[int | None] = []

    def save(n: int) -> None:
        start.wait()
        won.append(_save(db, nb_id, 1, f'["by {n}"]', f"m{n}"))

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won, key=str) == [2, None, None, None]
    with db.read() as cur:
        versions = nb_store.list_versions(cur, nb_id)
    assert [v.version for v in versions] == [2, 1]


def test_the_history_keeps_only_the_newest_versions(db: Database) -> None:
    nb_id = _new(db)
    for loaded in range(1, 6):
        assert _save(db, nb_id, loaded, f'["v{loaded + 1}"]') == loaded + 1
    with db.read() as cur:
        versions = nb_store.list_versions(cur, nb_id)
        old = nb_store.get_version(cur, nb_id, 5)
        gone = nb_store.get_version(cur, nb_id, 1)
    assert [v.version for v in versions] == [6, 5, 4]
    assert old is not None and old.cells == '["v5"]' and gone is None


def test_a_builtin_is_neither_updated_nor_deleted(db: Database) -> None:
    nb_id = _new(db, "Shipped", builtin=True)
    assert _save(db, nb_id, 1, '["mine"]') is None
    with db.write() as cur:
        assert nb_store.delete_notebook(cur, nb_id) is False
    with db.read() as cur:
        assert nb_store.list_builtin_names(cur) == {"Shipped"}
        stored = nb_store.get_notebook(cur, nb_id)
    assert stored is not None and stored.cells == '["c1"]'


def test_a_deleted_notebook_takes_its_history_along(db: Database) -> None:
    nb_id = _new(db)
    with db.write() as cur:
        assert nb_store.delete_notebook(cur, nb_id) is True
        assert nb_store.delete_notebook(cur, nb_id) is False
    with db.read() as cur:
        assert nb_store.get_notebook(cur, nb_id) is None
        assert nb_store.list_versions(cur, nb_id) == []


def test_a_notebook_outlives_reopening_the_database(open_db: Callable[[], Database]) -> None:
    db = open_db()
    nb_id = _new(db)
    assert _save(db, nb_id, 1, '["kept"]') == 2
    db.close()
    again = open_db()
    with again.read() as cur:
        stored = nb_store.get_notebook(cur, nb_id)
        versions = nb_store.list_versions(cur, nb_id)
    assert stored is not None and stored.cells == '["kept"]' and stored.version == 2
    assert [v.version for v in versions] == [2, 1]


def test_a_notebook_outlives_a_portal_restart(settings: Settings, clock: FixedClock) -> None:
    first = open_portal(settings, clock)
    boss = add_user(first, "boss", Role.SECURITY_MANAGER)
    cells = (NotebookCell("markdown", "Why"), NotebookCell("sql", "SELECT :n AS n"))
    made = notebooks.create(first, boss, Notebook("Kept", "d", (Param("n", "int"),), cells))
    first.db.close()
    again = open_portal(settings, clock)
    try:
        kept = notebooks.get_notebook(again, boss, made.id or 0)
        [result] = notebooks.run_notebook(again, boss, kept, {"n": 5})[1:]
    finally:
        again.db.close()
    assert (kept.name, kept.description, kept.cells, kept.version) == ("Kept", "d", cells, 1)
    assert result.frame is not None and list(result.frame["n"]) == [5]
