"""The Notebooks tab in AppTest: cells, parameters, runs, saves, conflicts, built-ins, export."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from portal.clock import FixedClock
from portal.context import Portal
from portal.manager import notebooks
from portal.models import Identity, Role
from portal.ui.manager import notebooks_keys as k
from portal.ui.plain import JOINER
from tests.app.manager_helpers import add_person, open_manager, sign_in, start_app, texts


@pytest.fixture
def boss(portal: Portal) -> Identity:
    return add_person(portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")


@pytest.fixture
def tab(portal: Portal, boss: Identity) -> AppTest:
    at = start_app(portal)
    sign_in(at, "boss")
    at = open_manager(at, "Notebooks")
    assert not at.exception
    return at


def said(at: AppTest) -> str:
    """The page's text with plain()'s escapes taken out again."""
    return texts(at).replace("\\", "").replace(JOINER, "")


def new_notebook(at: AppTest) -> AppTest:
    return at.button(key=k.NEW).click().run()


def cell_ids(at: AppTest) -> list[int]:
    return [int(c["id"]) for c in at.session_state[k.CELLS]]


def add_sql(at: AppTest, sql: str) -> int:
    at.button(key=k.ADD_SQL).click().run()
    cell_id = cell_ids(at)[-1]
    at.text_area(key=k.cell_key("source", cell_id)).input(sql)
    return cell_id


def tables(at: AppTest) -> list[pd.DataFrame]:
    """The cells' result tables (not the version history's)."""
    return [d.value for d in at.dataframe if "saved by" not in d.value.columns]


def open_named(at: AppTest, portal: Portal, boss: Identity, name: str) -> AppTest:
    [nb] = [n for n in notebooks.list_notebooks(portal, boss) if n.name == name]
    at.run()  # the list as it is now
    return at.button(key=k.open_key(nb.id or 0)).click().run()


def test_cells_are_added_moved_deleted_and_run(tab: AppTest) -> None:
    at = new_notebook(tab)
    first_md, first_sql = cell_ids(at)
    added = add_sql(at, "SELECT 42 AS answer")
    at.button(key=k.cell_key("up", added)).click().run()
    assert cell_ids(at) == [first_md, added, first_sql]
    at.button(key=k.cell_key("delete", first_md)).click().run()
    assert "Delete cell 1?" in said(at)
    at.button(key=k.CELL_DELETE_NO).click().run()  # Cancel keeps it
    assert cell_ids(at) == [first_md, added, first_sql]
    at.button(key=k.cell_key("delete", first_md)).click().run()
    at.button(key=k.CELL_DELETE_YES).click().run()
    assert cell_ids(at) == [added, first_sql]
    at.button(key=k.cell_key("run", added)).click().run()
    assert [list(t.columns) for t in tables(at)] == [["answer"]]
    at.button(key=k.RUN_ALL).click().run()
    assert not at.exception and not at.error
    shown = tables(at)
    assert shown[0]["answer"][0] == 42 and "events" in shown[1].columns
    assert any(c.value.startswith("took ") and c.value.endswith(" 1 row") for c in at.caption)


def test_a_date_parameter_is_bound_and_changes_the_rows(tab: AppTest, clock: FixedClock) -> None:
    at = new_notebook(tab)
    today = clock.now().date()
    at.date_input(key=k.param_key("start")).set_value(today)
    at.button(key=k.RUN_ALL).click().run()
    [today_rows] = tables(at)
    assert len(today_rows) > 0 and "sign_in_ok" in set(today_rows["event"])
    at.date_input(key=k.param_key("start")).set_value(dt.date(2020, 1, 1))
    at.date_input(key=k.param_key("end")).set_value(dt.date(2020, 1, 31))
    at.button(key=k.RUN_ALL).click().run()
    [old_rows] = tables(at)
    assert len(old_rows) == 0
    assert "took" in said(at) and " 0 rows" in said(at)


def test_bad_sql_shows_the_cells_error_and_the_others_still_show(tab: AppTest) -> None:
    at = new_notebook(tab)
    bad = add_sql(at, "SELECT no_such_column FROM audit")
    add_sql(at, "SELECT password_hash FROM user_status")
    add_sql(at, "SELECT 7 AS n")
    at.button(key=k.RUN_ALL).click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("no_such_column" in e for e in errors) and any("password_hash" in e for e in errors)
    assert [t["n"][0] for t in tables(at) if "n" in t] == [7]
    assert at.session_state[k.RESULTS][bad].frame is None


def test_a_saved_notebook_is_listed_and_opens_with_its_cells(
    tab: AppTest, portal: Portal, boss: Identity
) -> None:
    at = new_notebook(tab)
    at.text_input(key=k.NAME).input("Weekly check")
    add_sql(at, "SELECT 3 AS three")
    at.button(key=k.SAVE).click().run()
    assert "Saved Weekly check (version 1)." in said(at)
    at.button(key=k.BACK).click().run()
    assert "Weekly check" in said(at) and "changed by boss" in said(at)
    at = open_named(at, portal, boss, "Weekly check")
    sources = [c["source"] for c in at.session_state[k.CELLS]]
    assert sources[-1] == "SELECT 3 AS three" and len(sources) == 3
    at.text_input(key=k.DESCRIPTION).input("now with a description")
    at.button(key=k.SAVE).click().run()
    assert "(version 2)" in said(at)
    at.button(key=k.RESTORE).click().run()  # the history's newest older version: 1
    assert "Restored version 1 as version 3." in said(at)


def test_a_stale_save_says_who_changed_it(
    tab: AppTest, portal: Portal, boss: Identity, clock: FixedClock
) -> None:
    made = notebooks.create(portal, boss, dataclasses.replace(notebooks_starter(), name="Shared"))
    at = open_named(tab, portal, boss, "Shared")
    ann = add_person(portal, "ann", Role.SECURITY_MANAGER)
    clock.advance(minutes=2)
    notebooks.save(portal, ann, dataclasses.replace(made, description="ann was here"))
    at.text_input(key=k.DESCRIPTION).input("boss was here")
    at.button(key=k.SAVE).click().run()
    assert "Shared was changed by ann at 2026-03-02 09:02 UTC since you opened it: reload" in said(
        at
    )
    assert notebooks.get_notebook(portal, boss, made.id or 0).description == "ann was here"
    at.button(key=k.RELOAD).click().run()
    assert at.text_input(key=k.DESCRIPTION).value == "ann was here"


def notebooks_starter() -> notebooks.Notebook:
    from portal.ui.manager.notebooks_draft import STARTER

    return STARTER


def test_a_builtin_cannot_be_deleted_or_saved_but_can_be_copied(
    tab: AppTest, portal: Portal, boss: Identity
) -> None:
    name = "Sign-in failures and lockouts"
    at = open_named(tab, portal, boss, name)
    keys = {b.key for b in at.button}
    assert k.DELETE not in keys and k.SAVE not in keys and k.ADD_SQL not in keys
    assert all(t.disabled for t in at.text_area)  # its cells cannot be edited
    at.button(key=k.RUN_ALL).click().run()
    assert not at.error and len(tables(at)) == 3
    at.text_input(key=k.COPY_NAME).input("My failures")
    at.button(key=k.COPY).click().run()
    assert "Copied to My failures" in said(at)
    keys = {b.key for b in at.button}
    assert k.DELETE in keys and k.SAVE in keys
    assert len(notebooks.list_notebooks(portal, boss)) == 4


def test_deleting_a_notebook_asks_first(tab: AppTest, portal: Portal, boss: Identity) -> None:
    notebooks.create(portal, boss, dataclasses.replace(notebooks_starter(), name="Gone soon"))
    at = open_named(tab, portal, boss, "Gone soon")
    at.button(key=k.DELETE).click().run()
    assert "Delete the notebook Gone soon" in said(at)
    at.button(key=k.DELETE_NO).click().run()
    assert k.DELETE_YES not in {b.key for b in at.button}
    at.button(key=k.DELETE).click().run()
    at.button(key=k.DELETE_YES).click().run()
    assert "Deleted Gone soon." in said(at)
    assert "Gone soon" not in [n.name for n in notebooks.list_notebooks(portal, boss)]


def test_export_offers_the_report_for_download(tab: AppTest) -> None:
    at = new_notebook(tab)
    assert not at.get("download_button")
    at.button(key=k.EXPORT_BUTTON).click().run()
    assert not at.exception and not at.error
    [download] = at.get("download_button")
    assert download.key == k.DOWNLOAD
    name, data = at.session_state[k.EXPORT]
    assert name == "new-notebook.zip" and data[:2] == b"PK"


def test_a_chart_is_drawn_from_the_chosen_columns_and_saved(
    tab: AppTest, portal: Portal, boss: Identity
) -> None:
    at = new_notebook(tab)
    at.text_input(key=k.NAME).input("Charted")
    cell_id = add_sql(at, "SELECT 'a' AS who, 3 AS n, 1.5 AS w UNION ALL SELECT 'b', 5, 2.5")
    at.button(key=k.cell_key("run", cell_id)).click().run()
    before = len(at.get("vega_lite_chart"))
    at.selectbox(key=k.cell_key("chart", cell_id)).set_value("bar").run()
    assert at.selectbox(key=k.cell_key("y", cell_id)).options == ["n", "w"]
    at.selectbox(key=k.cell_key("y", cell_id)).set_value("w").run()
    assert len(at.get("vega_lite_chart")) == before + 1 and not at.warning
    at.button(key=k.SAVE).click().run()
    [saved] = [n for n in notebooks.list_notebooks(portal, boss) if n.name == "Charted"]
    chart = saved.cells[-1].chart
    assert chart is not None and (chart.kind, chart.x, chart.y, chart.color) == (
        "bar",
        "who",
        "w",
        None,
    )


def test_a_declared_parameter_becomes_a_widget_and_is_bound(tab: AppTest) -> None:
    at = new_notebook(tab)
    at.text_area(key=k.PARAMS).input(
        '[{"name": "who", "kind": "choice", "choices": ["boss", "nobody"]}]'
    ).run()
    assert at.selectbox(key=k.param_key("who")).options == ["boss", "nobody"]
    cell_id = add_sql(at, "SELECT count(*) AS n FROM user_status WHERE username = :who")
    at.button(key=k.cell_key("run", cell_id)).click().run()
    assert [t["n"][0] for t in tables(at) if "n" in t] == [1]
    at.selectbox(key=k.param_key("who")).set_value("nobody")
    at.button(key=k.cell_key("run", cell_id)).click().run()
    assert [t["n"][0] for t in tables(at) if "n" in t] == [0]
    at.text_area(key=k.PARAMS).input('[{"name": "Bad Name", "kind": "text"}]').run()
    assert any("Parameter name" in e.value for e in at.error)


def test_unsaved_edits_survive_a_visit_to_another_tab(tab: AppTest) -> None:
    at = new_notebook(tab)
    at.text_input(key=k.NAME).input("Draft")
    cell_id = add_sql(at, "SELECT 5 AS five")
    at.session_state["sm_tab"] = "Accounts"
    at.run()
    assert k.NAME not in at.session_state  # the widgets were not drawn
    at.session_state["sm_tab"] = "Notebooks"
    at.run()
    assert at.text_input(key=k.NAME).value == "Draft"
    assert at.text_area(key=k.cell_key("source", cell_id)).value == "SELECT 5 AS five"
