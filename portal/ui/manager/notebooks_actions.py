"""The open notebook's own actions: save, reload, copy, delete (confirmed), export and history."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import streamlit as st

from portal.errors import PermissionDenied, PortalError
from portal.manager import notebooks
from portal.manager.notebook_model import Notebook
from portal.models import Identity
from portal.ui import state
from portal.ui.manager import notebooks_draft as draft
from portal.ui.manager import notebooks_keys as k
from portal.ui.plain import plain
from portal.ui.resources import portal_or_stop


def _act(work: Callable[[], str | None]) -> None:
    """Run an action's work; its message or its error waits for the next run."""
    ss = st.session_state
    ss.pop(k.ERROR, None)
    ss.pop(k.NOTICE, None)
    try:
        notice = work()
    except PortalError as exc:
        ss[k.ERROR] = str(exc)
        return
    if notice:
        ss[k.NOTICE] = notice


def who() -> Identity:
    """The signed-in manager (the service checks the role again)."""
    found = state.identity(st.session_state)
    if found is None:
        raise PermissionDenied()
    return found


def save() -> None:
    def work() -> str:
        saved = notebooks.save(portal_or_stop(), who(), draft.notebook(st.session_state))
        _reopen(saved)
        return f"Saved {saved.name} (version {saved.version})."

    _act(work)


def _reopen(nb: Notebook) -> None:
    """Load a notebook again, keeping the results of cells whose position did not change."""
    results = st.session_state.get(k.RESULTS, {})
    by_position = [results.get(i) for i in draft.ids(st.session_state)]
    draft.load(st.session_state, nb)
    kept = {i: r for i, r in zip(draft.ids(st.session_state), by_position, strict=False) if r}
    st.session_state[k.RESULTS] = kept


def reload() -> None:
    def work() -> str:
        loaded: Notebook = st.session_state[k.LOADED]
        if loaded.id is None:
            return ""
        draft.load(st.session_state, notebooks.get_notebook(portal_or_stop(), who(), loaded.id))
        return "Reloaded the saved notebook."

    _act(work)


def copy() -> None:
    def work() -> str:
        ss = st.session_state
        nb = draft.notebook(ss)
        name = str(ss.get(k.COPY_NAME, "")).strip() or f"Copy of {nb.name}"
        fresh = dataclasses.replace(nb, name=name, id=None, version=0, builtin=False)
        made = notebooks.create(portal_or_stop(), who(), fresh, copied_from=nb.name)
        draft.load(ss, made)
        return f"Copied to {made.name}: this copy is yours to edit."

    _act(work)


def _ask_delete() -> None:
    st.session_state[k.CONFIRM] = ("notebook", 0)


def _delete() -> None:
    def work() -> str:
        loaded: Notebook = st.session_state[k.LOADED]
        if loaded.id is not None:
            notebooks.delete(portal_or_stop(), who(), loaded.id)
        draft.clear(st.session_state)
        return f"Deleted {loaded.name}."

    _act(work)


def _cancel() -> None:
    st.session_state.pop(k.CONFIRM, None)


def export() -> None:
    def work() -> None:
        ss = st.session_state
        nb = draft.notebook(ss)
        data = notebooks.export(portal_or_stop(), who(), nb, draft.values(ss, nb.params))
        slug = re.sub(r"[^a-z0-9]+", "-", nb.name.lower()).strip("-") or "notebook"
        ss[k.EXPORT] = (f"{slug}.zip", data)

    _act(work)


def _restore() -> None:
    def work() -> str:
        ss = st.session_state
        version = int(ss[k.VERSION])
        restored = notebooks.restore(portal_or_stop(), who(), draft.notebook(ss), version)
        draft.load(ss, restored)
        return f"Restored version {version} as version {restored.version}."

    _act(work)


def toolbar(nb: Notebook) -> None:
    """Save / reload / copy / delete / export buttons, above the cells."""
    with st.container(horizontal=True):
        if not nb.builtin:
            st.button("💾 Save", key=k.SAVE, type="primary", on_click=save)
        if nb.id is not None:
            st.button("↺ Reload", key=k.RELOAD, on_click=reload, help="Drops your unsaved edits")
        st.button(
            "⬇ Export",
            key=k.EXPORT_BUTTON,
            on_click=export,
            help="Runs the notebook and makes an HTML report with a CSV per table",
        )
        if not nb.builtin and nb.id is not None:
            st.button("🗑️ Delete notebook", key=k.DELETE, on_click=_ask_delete)
    if st.session_state.get(k.CONFIRM) == ("notebook", 0):
        st.warning(f"Delete the notebook {plain(nb.name)} and its history for everyone?")
        with st.container(horizontal=True):
            st.button("Delete notebook", key=k.DELETE_YES, type="primary", on_click=_delete)
            st.button("Cancel", key=k.DELETE_NO, on_click=_cancel)
    exported = st.session_state.get(k.EXPORT)
    if exported:
        name, data = exported
        st.download_button(
            "Download the report (.zip)",
            data,
            file_name=name,
            mime="application/zip",
            key=k.DOWNLOAD,
        )
    with st.expander("Copy this notebook"):
        st.text_input(
            "Name of the copy", key=k.COPY_NAME, max_chars=100, placeholder=f"Copy of {nb.name}"
        )
        st.button("Copy", key=k.COPY, on_click=copy)


def history(nb: Notebook) -> None:
    """The kept versions; restoring one saves it as the newest."""
    if nb.id is None:
        return
    with st.expander("Version history"):
        kept = notebooks.history(portal_or_stop(), who(), nb.id)
        rows = [
            {
                "version": v.version,
                "saved by": v.saved_by,
                "saved at": v.saved_at,
                "name": v.notebook.name,
                "cells": len(v.notebook.cells),
            }
            for v in kept
        ]
        st.dataframe(rows, hide_index=True)
        if nb.builtin or len(kept) < 2:
            return
        older = [v.version for v in kept[1:]]
        st.selectbox("Version", older, key=k.VERSION)
        st.button(
            "Restore this version",
            key=k.RESTORE,
            on_click=_restore,
            help="Saves it as the newest version; nothing is lost",
        )
