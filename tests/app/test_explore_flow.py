"""Notebook cells in AppTest: a cell that cannot be shown or is too big never stops the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from portal.clock import FixedClock
from portal.context import Portal
from portal.manager.notebook_model import CellResult
from portal.models import Role
from portal.ui.manager import notebooks_keys as keys
from portal.ui.resources import use_portal
from tests.app.manager_helpers import (
    START,
    add_person,
    make_portal,
    open_manager,
    sign_in,
    start_app,
)

BIGGEST = "170141183460469231731687303715884105727"


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    p = make_portal(tmp_path, FixedClock(START))
    yield p
    use_portal(None)
    p.db.close()


@pytest.fixture
def explore_tab(portal: Portal) -> AppTest:
    add_person(portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")
    at = start_app(portal)
    sign_in(at, "boss")
    return open_manager(at, "Notebooks").button(key=keys.NEW).click().run()


def write_cells(at: AppTest, *sqls: str) -> list[int]:
    """The new notebook's cells become SQL cells with these texts; returns their ids."""
    for cell_id in [c["id"] for c in at.session_state[keys.CELLS]]:
        at.button(key=keys.cell_key("delete", cell_id)).click().run()
        at.button(key=keys.CELL_DELETE_YES).click().run()
    for sql in sqls:
        at.button(key=keys.ADD_SQL).click().run()
        added = at.session_state[keys.CELLS][-1]["id"]
        at.text_area(key=keys.cell_key("source", added)).input(sql)
    return [c["id"] for c in at.session_state[keys.CELLS]]


def shown_tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def test_a_hugeint_cell_shows_its_value_and_the_next_cell_still_renders(
    explore_tab: AppTest,
) -> None:
    at = explore_tab
    write_cells(at, f"SELECT {BIGGEST}::HUGEINT AS h, 1::HUGEINT AS one", "SELECT 42 AS answer")
    at.button(key=keys.RUN_ALL).click().run()
    assert not at.exception
    tables = shown_tables(at)
    assert len(tables) == len(at.session_state[keys.CELLS]) == 2
    assert tables[0]["h"][0] == BIGGEST and tables[0]["one"][0] == 1
    assert tables[1]["answer"][0] == 42


def test_a_frame_streamlit_cannot_convert_becomes_a_cell_error(explore_tab: AppTest) -> None:
    at = explore_tab
    first, second = write_cells(at, "SELECT 1 AS h", "SELECT 42 AS answer")
    at.session_state[keys.RESULTS] = {
        first: CellResult("sql", pd.DataFrame({"h": [2**127]})),  # no Arrow type holds it
        second: CellResult("sql", pd.DataFrame({"answer": [42]})),
    }
    at.run()
    assert not at.exception
    assert any("cannot be shown" in e.value for e in at.error)
    assert [t["answer"][0] for t in shown_tables(at)] == [42]


def test_a_too_large_result_is_a_cell_error_and_is_not_kept(explore_tab: AppTest) -> None:
    at = explore_tab
    wide = "SELECT repeat('x', 100000) AS s FROM range(10000)"  # 1 GB
    big, small = write_cells(at, wide, "SELECT 7 AS n")
    at.button(key=keys.RUN_ALL).click().run()
    assert not at.exception
    assert any("too large" in e.value for e in at.error)
    results = at.session_state[keys.RESULTS]
    assert results[big].frame is None and results[small].frame is not None
    assert [t["n"][0] for t in shown_tables(at) if "n" in t] == [7]


def test_a_hostile_cell_stops_with_an_error_and_the_others_render(explore_tab: AppTest) -> None:
    at = explore_tab
    write_cells(at, "SELECT list_resize([1], 1000000000) AS l", "SELECT 7 AS n")
    at.button(key=keys.RUN_ALL).click().run()
    assert not at.exception
    assert any("more memory" in e.value for e in at.error)
    assert [t["n"][0] for t in shown_tables(at) if "n" in t] == [7]
