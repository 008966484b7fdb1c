"""The Explore tab: notebook cells (title, SQL, table, chart) run top to bottom in a sandbox."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.errors import StreamlitAPIException

from portal.context import Portal
from portal.errors import PortalError
from portal.manager import explore
from portal.models import AUDIT_COLUMNS, EXPORT_USER_COLUMNS, Identity
from portal.ui import state
from portal.ui.manager import keys
from portal.ui.resources import portal_or_stop


def _add(cell: explore.Cell) -> None:
    ss = st.session_state
    cell_id = ss.get(keys.EX_NEXT, 0)
    ss[keys.EX_NEXT] = cell_id + 1
    ss.setdefault(keys.EX_CELLS, []).append(cell_id)
    ss[keys.cell_key("title", cell_id)] = cell.title
    ss[keys.cell_key("sql", cell_id)] = cell.sql
    ss[keys.cell_key("chart", cell_id)] = cell.chart


def _cell(cell_id: int) -> explore.Cell:
    ss = st.session_state
    return explore.Cell(
        ss.get(keys.cell_key("title", cell_id), ""),
        ss.get(keys.cell_key("sql", cell_id), ""),
        ss.get(keys.cell_key("chart", cell_id), "none"),
    )


def _run(cell_ids: list[int]) -> None:
    """Run the cells against one fresh copy; the results (only what is shown) wait in state."""
    who = state.identity(st.session_state)
    if who is None:
        return
    st.session_state.pop(keys.EX_ERROR, None)
    try:
        results = explore.run_cells(portal_or_stop(), who, [_cell(i) for i in cell_ids])
    except PortalError as exc:
        st.session_state[keys.EX_ERROR] = str(exc)
        return
    st.session_state.setdefault(keys.EX_RESULTS, {}).update(zip(cell_ids, results, strict=True))


def _remove(cell_id: int) -> None:
    st.session_state[keys.EX_CELLS].remove(cell_id)
    st.session_state.get(keys.EX_RESULTS, {}).pop(cell_id, None)


def render(portal: Portal, who: Identity) -> None:
    if keys.EX_CELLS not in st.session_state:
        for cell in explore.CELLS:
            _add(cell)
    cells: list[int] = st.session_state[keys.EX_CELLS]
    st.markdown(
        "Ask your own questions in SQL. Each cell is **one SELECT** over a private copy of "
        "`user_status` and `audit` made when you press Run: no secrets, nothing can be changed."
    )
    with st.expander("Tables and columns"):
        st.markdown(
            f"- `user_status`: {', '.join(EXPORT_USER_COLUMNS)}\n"
            f"- `audit`: {', '.join(AUDIT_COLUMNS)} (the last {explore.AUDIT_DAYS} days)\n"
            "- `portal_now()`: the portal's time when the copy was made\n\n"
            f"Results show at most {explore.MAX_ROWS:,} rows and "
            f"{explore.MAX_BYTES / 2**20:g} MB; a cell stops after {explore.TIME_LIMIT:g} "
            f"seconds or {explore.MEMORY_CAP / 2**30:g} GB of memory."
        )
    st.button("▶ Run all", key=keys.EX_RUN_ALL, type="primary", on_click=_run, args=(list(cells),))
    if st.session_state.get(keys.EX_ERROR):
        st.error(st.session_state[keys.EX_ERROR])
    results = st.session_state.get(keys.EX_RESULTS, {})
    for cell_id in cells:
        with st.container(border=True):
            _render_cell(cell_id, results.get(cell_id))
    st.button(
        "➕ Add cell",
        key=keys.EX_ADD,
        on_click=_add,
        args=(explore.Cell("New cell", "SELECT count(*) AS accounts FROM user_status"),),
    )


def _render_cell(cell_id: int, result: explore.Result | None) -> None:
    t1, t2, t3, t4 = st.columns([6, 2, 2, 1], vertical_alignment="bottom")
    t1.text_input("Title", key=keys.cell_key("title", cell_id), max_chars=100)
    t2.selectbox("Chart", explore.CHARTS, key=keys.cell_key("chart", cell_id))
    t3.button("▶ Run", key=keys.cell_key("run", cell_id), on_click=_run, args=([cell_id],))
    t4.button(
        "🗑️",
        key=keys.cell_key("remove", cell_id),
        on_click=_remove,
        args=(cell_id,),
        help="Remove this cell",
    )
    st.text_area(
        "SQL",
        key=keys.cell_key("sql", cell_id),
        height=120,
        max_chars=explore.MAX_SQL,
        label_visibility="collapsed",
    )
    if result is None:
        st.caption("Not run yet.")
        return
    if result.error or result.frame is None:
        st.error(result.error or "No result.")
        return
    try:
        _show(cell_id, result.frame, result)
    except (StreamlitAPIException, pa.ArrowException, ValueError, TypeError, OverflowError):
        # A value Streamlit cannot send must not stop the cells below this one.
        st.error("This result cannot be shown as a table: cast the odd column to VARCHAR.")


def _show(cell_id: int, frame: pd.DataFrame, result: explore.Result) -> None:
    cut = f" (cut at {explore.MAX_ROWS:,})" if result.truncated else ""
    st.dataframe(frame, hide_index=True, key=keys.cell_key("table", cell_id))
    st.caption(f"{len(frame):,} row(s){cut} · {result.seconds:.2f} s")
    chart = st.session_state.get(keys.cell_key("chart", cell_id), "none")
    axes = explore.chart_columns(frame)
    if chart != "none" and axes is not None:
        x, ys = axes
        draw = st.bar_chart if chart == "bar" else st.line_chart
        draw(frame, x=x, y=ys, height=220)
