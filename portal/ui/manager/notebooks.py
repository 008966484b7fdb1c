"""The Notebooks tab: the list of saved notebooks, and the open one with parameters and cells."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from portal.context import Portal
from portal.errors import PortalError
from portal.manager import explore, notebooks
from portal.manager.notebook_model import Notebook, NotebookCell
from portal.manager.notebook_params import Param, default_value
from portal.models import AUDIT_COLUMNS, EXPORT_USER_COLUMNS, Identity
from portal.ui.manager import notebooks_actions as actions
from portal.ui.manager import notebooks_cells as cells
from portal.ui.manager import notebooks_draft as draft
from portal.ui.manager import notebooks_keys as k
from portal.ui.plain import plain
from portal.ui.resources import portal_or_stop
from portal.ui.widgets import errors_shown

NEW_MARKDOWN = "Say **why** this check matters."
NEW_SQL = "SELECT count(*) AS accounts\nFROM user_status"


def _open(notebook_id: int) -> None:
    try:
        nb = notebooks.get_notebook(portal_or_stop(), actions.who(), notebook_id)
        draft.load(st.session_state, nb)
    except PortalError as exc:
        st.session_state[k.ERROR] = str(exc)


def _new() -> None:
    draft.load(st.session_state, draft.STARTER)


def _keep() -> None:
    """A draft widget changed: copy it into the draft now (the tab may not be drawn next)."""
    draft.sync(st.session_state)


def _back() -> None:
    draft.clear(st.session_state)
    st.session_state.pop(k.NOTICE, None)


def _add(kind: str) -> None:
    draft.sync(st.session_state)
    text = NEW_MARKDOWN if kind == "markdown" else NEW_SQL
    draft.add(st.session_state, NotebookCell(kind, text))


def render(portal: Portal, who: Identity) -> None:
    if k.LOADED not in st.session_state:
        _list(portal, who)
        return
    nb: Notebook = st.session_state[k.LOADED]
    st.button("← All notebooks", key=k.BACK, on_click=_back)
    _messages()
    _header(nb)
    if not nb.builtin:
        _declarations(portal)
    actions.toolbar(nb)
    with errors_shown():
        actions.history(nb)
    _params(portal, nb)
    st.button(
        "▶ Run all",
        key=k.RUN_ALL,
        type="primary",
        on_click=cells.run,
        args=(draft.ids(st.session_state),),
    )
    editable = not nb.builtin
    shown = list(st.session_state.get(k.CELLS, []))
    for number, cell in enumerate(shown, 1):
        cells.render(cell, number, len(shown), editable)
    if editable:
        c0, c1 = st.columns(2)
        c0.button("➕ Markdown cell", key=k.ADD_MARKDOWN, on_click=_add, args=("markdown",))
        c1.button("➕ SQL cell", key=k.ADD_SQL, on_click=_add, args=("sql",))
    draft.sync(st.session_state)


def _messages() -> None:
    if st.session_state.get(k.ERROR):
        st.error(plain(st.session_state[k.ERROR]))
    if st.session_state.get(k.NOTICE):
        st.success(plain(st.session_state[k.NOTICE]))


def _list(portal: Portal, who: Identity) -> None:
    _messages()
    st.markdown(
        "Notebooks are saved checks: a narrative in markdown and SQL cells over a private, "
        "secret-free copy of `user_status` and `audit`, with parameters such as a date range. "
        "Every security manager sees them; every run and export is in the audit trail."
    )
    st.button("➕ New notebook", key=k.NEW, on_click=_new)
    with errors_shown():
        for nb in notebooks.list_notebooks(portal, who):
            with st.container(border=True):
                c0, c1 = st.columns([5, 1], vertical_alignment="center")
                kind = "built-in" if nb.builtin else f"changed by {nb.updated_by}"
                when = f"{nb.updated_at:%Y-%m-%d %H:%M} UTC" if nb.updated_at else ""
                c0.markdown(f"**{plain(nb.name)}**  \n{plain(nb.description)}")
                c0.caption(plain(f"{kind} · {when} · version {nb.version}"))
                c1.button("Open", key=k.open_key(nb.id or 0), on_click=_open, args=(nb.id,))


def _header(nb: Notebook) -> None:
    if nb.builtin:
        st.info("A built-in notebook: run it as it is, or copy it to change it.")
        st.subheader(plain(nb.name))
        st.caption(plain(nb.description))
        return
    ss = st.session_state
    for key, value in ((k.NAME, nb.name), (k.DESCRIPTION, nb.description)):
        if key not in ss:  # a widget's value is gone after a visit to another tab
            ss[key] = ss.get(key + "_v", value)
    st.text_input("Name", key=k.NAME, max_chars=100, on_change=_keep)
    st.text_input("Description", key=k.DESCRIPTION, max_chars=1_000, on_change=_keep)
    if nb.id is not None:
        st.caption(
            plain(
                f"Version {nb.version}, changed by {nb.updated_by} at "
                f"{nb.updated_at:%Y-%m-%d %H:%M} UTC"
            )
        )
    else:
        st.caption("Not saved yet.")


def _declarations(portal: Portal) -> None:
    """The parameter declarations and what the cells can read."""
    with st.expander("Parameters (declarations)"):
        st.markdown(
            'A list of `{"name", "kind", "label", "default", "choices"}`; kind is '
            "`date` (default such as `2026-01-31`, `today` or `-30d`), `text`, `int` or "
            "`choice` (with `choices`). Write `:name` in a cell: it is bound as a query "
            "parameter, never pasted into the SQL."
        )
        if k.PARAMS not in st.session_state:
            st.session_state[k.PARAMS] = st.session_state.get(k.PARAM_TEXT, "[]")
        st.text_area(
            "Parameters (JSON)", key=k.PARAMS, height=160, max_chars=10_000, on_change=_keep
        )
    with st.expander("Tables and columns"):
        st.markdown(
            f"- `user_status`: {', '.join(EXPORT_USER_COLUMNS)}\n"
            f"- `audit`: {', '.join(AUDIT_COLUMNS)} (the last {explore.audit_days(portal)} days)\n"
            "- `portal_now()`: the portal's time when the copy was made\n\n"
            f"Results show at most {explore.MAX_ROWS:,} rows and "
            f"{explore.MAX_BYTES / 2**20:g} MB; a cell stops after {explore.TIME_LIMIT:g} "
            f"seconds or {explore.MEMORY_CAP / 2**30:g} GB of memory."
        )


def _params(portal: Portal, nb: Notebook) -> tuple[Param, ...]:
    """One widget per declared parameter, above the cells; bad declarations say why."""
    try:
        params = draft.parse_params(st.session_state.get(k.PARAMS, draft.params_text(nb.params)))
    except PortalError as exc:
        st.error(plain(str(exc)))
        return ()
    if not params:
        return ()
    today = portal.now().date()
    columns = st.columns(min(len(params), 4))
    for i, param in enumerate(params):
        with columns[i % len(columns)]:
            _param_widget(param, today)
    return params


def _param_widget(param: Param, today: dt.date) -> None:
    key = k.param_key(param.name)
    label = param.label or param.name
    if key not in st.session_state:
        st.session_state[key] = default_value(param, today)
    if param.kind == "date":
        st.date_input(label, key=key, format="YYYY-MM-DD")
    elif param.kind == "choice":
        st.selectbox(label, param.choices, key=key)
    elif param.kind == "int":
        st.number_input(label, key=key, step=1)
    else:
        st.text_input(label, key=key, max_chars=1_000)
