"""One notebook cell on the page: markdown or SQL, its editor, buttons, result table and chart."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.errors import StreamlitAPIException

from portal.errors import PortalError
from portal.manager import explore, notebooks
from portal.manager.notebook_charts import ChartSpec, build_chart
from portal.manager.notebook_model import MAX_MARKDOWN, CellResult
from portal.ui import state
from portal.ui.manager import notebooks_draft as draft
from portal.ui.manager import notebooks_keys as k
from portal.ui.resources import portal_or_stop

_IMAGE = re.compile(r"!\[")  # a markdown image would make the browser fetch its URL


def run(cell_ids: list[int]) -> None:
    """Run these cells (all of them: one sandbox copy); results wait in session state."""
    ss = st.session_state
    who = state.identity(ss)
    if who is None:
        return
    ss.pop(k.ERROR, None)
    ss.pop(k.NOTICE, None)
    try:
        nb = draft.notebook(ss)
        raw = draft.values(ss, nb.params)
        every = draft.ids(ss)
        if cell_ids == every:
            results = notebooks.run_notebook(portal_or_stop(), who, nb, raw)
        else:
            index = every.index(cell_ids[0])
            results = [notebooks.run_cell(portal_or_stop(), who, nb, index, raw)]
    except PortalError as exc:
        ss[k.ERROR] = str(exc)
        return
    ss.setdefault(k.RESULTS, {}).update(zip(cell_ids, results, strict=True))


def _sync() -> None:
    """A draft widget changed: copy it into the draft now (the tab may not be drawn next)."""
    draft.sync(st.session_state)


def _ask_delete(cell_id: int) -> None:
    st.session_state[k.CONFIRM] = ("cell", cell_id)


def _delete(cell_id: int) -> None:
    draft.remove(st.session_state, cell_id)
    st.session_state.pop(k.CONFIRM, None)


def _cancel() -> None:
    st.session_state.pop(k.CONFIRM, None)


def render(cell: dict[str, Any], number: int, count: int, editable: bool) -> None:
    """Draw one cell inside its bordered container."""
    cell_id = int(cell["id"])
    with st.container(border=True):
        _toolbar(cell, number, count, editable)
        if st.session_state.get(k.CONFIRM) == ("cell", cell_id):
            st.warning(
                f"Delete cell {number}? Its text and result go (until you save, the saved "
                "notebook keeps it)."
            )
            with st.container(horizontal=True):
                st.button("Delete cell", key=k.CELL_DELETE_YES, on_click=_delete, args=(cell_id,))
                st.button("Cancel", key=k.CELL_DELETE_NO, on_click=_cancel)
        if cell["kind"] == "markdown":
            _markdown(cell, editable)
        else:
            _sql(cell, editable)


def _toolbar(cell: dict[str, Any], number: int, count: int, editable: bool) -> None:
    cell_id = int(cell["id"])
    label = "Markdown" if cell["kind"] == "markdown" else "SQL"
    c0, c1, c2, c3, c4 = st.columns([6, 2, 1, 1, 1], vertical_alignment="center")
    c0.caption(f"Cell {number} · {label}")
    if cell["kind"] == "sql":
        c1.button("▶ Run", key=k.cell_key("run", cell_id), on_click=run, args=([cell_id],))
    if not editable:
        return
    ss = st.session_state
    c2.button(
        "↑",
        key=k.cell_key("up", cell_id),
        disabled=number == 1,
        help="Move up",
        on_click=draft.move,
        args=(ss, cell_id, -1),
    )
    c3.button(
        "↓",
        key=k.cell_key("down", cell_id),
        disabled=number == count,
        help="Move down",
        on_click=draft.move,
        args=(ss, cell_id, 1),
    )
    c4.button(
        "🗑️",
        key=k.cell_key("delete", cell_id),
        help="Delete this cell",
        on_click=_ask_delete,
        args=(cell_id,),
    )


def _editor(cell: dict[str, Any], editable: bool, label: str, limit: int, height: int) -> None:
    key = k.cell_key("source", int(cell["id"]))
    if key not in st.session_state:
        st.session_state[key] = cell["source"]
    st.text_area(
        label,
        key=key,
        height=height,
        max_chars=limit,
        disabled=not editable,
        label_visibility="collapsed",
        on_change=_sync,
    )


def _markdown(cell: dict[str, Any], editable: bool) -> None:
    source = st.session_state.get(k.cell_key("source", int(cell["id"])), cell["source"])
    st.markdown(_IMAGE.sub(r"!\\[", source))  # raw HTML stays off (no unsafe_allow_html)
    if editable:
        with st.expander("Edit text (markdown)"):
            _editor(cell, editable, "Markdown", MAX_MARKDOWN, 140)
    else:
        _keep(cell)


def _keep(cell: dict[str, Any]) -> None:
    """A built-in's markdown has no editor: its source stays in the draft only."""
    st.session_state.pop(k.cell_key("source", int(cell["id"])), None)


def _sql(cell: dict[str, Any], editable: bool) -> None:
    _editor(cell, editable, "SQL", explore.MAX_SQL, 140)
    cell_id = int(cell["id"])
    result: CellResult | None = st.session_state.get(k.RESULTS, {}).get(cell_id)
    chart_key = k.cell_key("chart", cell_id)
    if chart_key not in st.session_state:
        st.session_state[chart_key] = cell["chart"]
    if result is None:
        st.selectbox("Chart", draft.CHARTS, key=chart_key, disabled=not editable, on_change=_sync)
        st.caption("Not run yet.")
        return
    if result.error or result.frame is None:
        st.selectbox("Chart", draft.CHARTS, key=chart_key, disabled=not editable, on_change=_sync)
        st.error(result.error or "No result.")
        return
    try:
        _table(cell_id, result.frame, result)
    except (StreamlitAPIException, pa.ArrowException, ValueError, TypeError, OverflowError):
        # A value Streamlit cannot send must not stop the cells below this one.
        st.error("This result cannot be shown as a table: cast the odd column to VARCHAR.")
        return
    _chart(cell, result.frame, editable)


def _table(cell_id: int, frame: pd.DataFrame, result: CellResult) -> None:
    cut = f" (cut at {explore.MAX_ROWS:,})" if result.truncated else ""
    st.dataframe(frame, hide_index=True, key=k.cell_key("table", cell_id))
    rows = "1 row" if result.rows == 1 else f"{result.rows:,} rows"
    st.caption(f"took {result.seconds:.2f} s, {rows}{cut}")


def _pick(key: str, options: list[Any], wanted: Any) -> None:
    """Seed a selectbox with the draft's choice if the result still offers it."""
    current = st.session_state.get(key, wanted)
    st.session_state[key] = current if current in options else options[0]


def _chart(cell: dict[str, Any], frame: pd.DataFrame, editable: bool) -> None:
    cell_id = int(cell["id"])
    columns = [str(c) for c in frame.columns]
    numeric = [str(c) for c in frame.columns if _numeric(frame[c])]
    c0, c1, c2, c3 = st.columns(4)
    kind = c0.selectbox(
        "Chart",
        draft.CHARTS,
        key=k.cell_key("chart", cell_id),
        disabled=not editable,
        on_change=_sync,
    )
    if kind == draft.NO_CHART or not numeric:
        if kind != draft.NO_CHART:
            st.caption("No numeric column to chart.")
        return
    for part, options in (("x", columns), ("y", numeric), ("color", [None, *columns])):
        _pick(k.cell_key(part, cell_id), options, cell[part])
    x = c1.selectbox(
        "x", columns, key=k.cell_key("x", cell_id), disabled=not editable, on_change=_sync
    )
    y = c2.selectbox(
        "y", numeric, key=k.cell_key("y", cell_id), disabled=not editable, on_change=_sync
    )
    color = c3.selectbox(
        "Colour",
        [None, *columns],
        key=k.cell_key("color", cell_id),
        format_func=lambda c: "(none)" if c is None else c,
        disabled=not editable,
        on_change=_sync,
    )
    try:
        st.altair_chart(build_chart(frame, ChartSpec(kind, x, y, color)))
    except ValueError as exc:
        st.warning(str(exc))


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
