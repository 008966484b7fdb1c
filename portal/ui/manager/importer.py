"""The manager page's Import tab: upload a CSV, preview every row, confirm, import all or none.

The service (portal/manager/importer.py) parses, checks and creates; it checks the manager's
role again inside the import's transaction. Everything from the file is shown as plain text (a
dataframe cell, or plain()).
"""

from __future__ import annotations

import streamlit as st

from portal.context import Portal
from portal.errors import PortalError
from portal.manager import importer
from portal.models import Identity
from portal.ui.manager import keys, overview
from portal.ui.widgets import source

PREVIEW_ROWS = 1000  # at most this many rows to create, and as many problems, in the preview
COLUMNS_HELP = (
    "A CSV file (UTF-8) with a header line naming the columns **username**, display_name, email "
    "and, optionally, role (user or security_manager). Every row is checked first; then all the "
    "accounts are created together, or none. Each person gets a first password, shown once, to "
    "hand over; two-factor authentication starts off."
)


def render(p: Portal, who: Identity) -> None:
    _done()
    if st.session_state.get(keys.IM_ERROR):
        st.error(st.session_state.pop(keys.IM_ERROR))
    st.markdown(COLUMNS_HELP)
    upload = st.file_uploader(
        "People to import (CSV)",
        type=["csv"],
        key=keys.import_file_key(st.session_state),
        max_upload_size=importer.MAX_BYTES // (1024 * 1024),
    )
    if upload is None:
        st.session_state.pop(keys.IM_PLAN, None)
        return
    plan = _plan(p, who, upload.file_id, upload.getvalue())
    if plan is None:
        _cancel_button()
        return
    if st.session_state.pop(keys.IM_RUN, False) and plan.ok:
        _import(p, who, plan)
        return
    _preview(plan)
    _buttons(plan)


def _plan(p: Portal, who: Identity, file_id: str, data: bytes) -> importer.Plan | None:
    """The checked plan of this upload (checked once per file); None after a file-level error."""
    kept = st.session_state.get(keys.IM_PLAN)
    if kept and kept[0] == file_id:
        return kept[1]
    try:
        plan = importer.plan_import(p, who, data)
    except PortalError as exc:
        st.error(str(exc))
        return None
    st.session_state[keys.IM_PLAN] = (file_id, plan)
    return plan


def _preview(plan: importer.Plan) -> None:
    creates = [
        {
            "Line": r.line,
            "Username": r.username,
            "Display name": r.display_name,
            "Email": r.email or "",
            "Role": str(r.role),
            "Action": "create",
        }
        for r in plan.rows[:PREVIEW_ROWS]
    ]
    errors = [
        {
            "Line": pr.line,
            "Username": pr.username,
            "Display name": "",
            "Email": "",
            "Role": "",
            "Action": f"error: {pr.reason}",
        }
        for pr in plan.problems[:PREVIEW_ROWS]
    ]
    rows = sorted(errors + creates, key=lambda r: int(str(r["Line"])))
    st.dataframe(rows, hide_index=True, key="sm_im_preview")
    cut = max(len(plan.rows), len(plan.problems)) > PREVIEW_ROWS
    shown = f" (at most {PREVIEW_ROWS:,} of each shown)" if cut else ""
    st.caption(f"{len(plan.rows):,} to create, {len(plan.problems):,} with problems{shown}.")


def _buttons(plan: importer.Plan) -> None:
    if not plan.ok:
        st.error(
            f"{len(plan.problems):,} row(s) have problems (see Action above): nothing will be "
            "imported. Fix the file and upload it again."
        )
        _cancel_button()
        return
    st.warning(
        f"This creates {len(plan.rows):,} account(s) at once. Their first passwords are shown "
        "once, right after."
    )
    c1, c2 = st.columns(2)
    c1.button(
        f"Import {len(plan.rows):,} account(s)",
        key=keys.IM_CONFIRM,
        type="primary",
        on_click=st.session_state.__setitem__,
        args=(keys.IM_RUN, True),
    )
    c2.button("Cancel", key=keys.IM_CANCEL, on_click=_clear)


def _cancel_button() -> None:
    st.button("Cancel", key=keys.IM_CANCEL, on_click=_clear)


def _clear() -> None:
    """Drop the file and its plan: a fresh uploader."""
    st.session_state.pop(keys.IM_PLAN, None)
    st.session_state.pop(keys.IM_RUN, None)
    st.session_state[keys.IM_GEN] = st.session_state.get(keys.IM_GEN, 0) + 1


def _import(p: Portal, who: Identity, plan: importer.Plan) -> None:
    bar = st.progress(0.0, text="Preparing the accounts...")

    def show(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Preparing the accounts: {done:,} of {total:,}")

    try:
        made = importer.run_import(p, who, who.username, plan, source(), show)
    except PortalError as exc:
        st.session_state[keys.IM_ERROR] = str(exc)
    else:
        st.session_state[keys.IM_DONE] = importer.passwords_csv(made), len(made)
        overview.forget(p)  # the new people show at once
    _clear()
    st.rerun()


def _done() -> None:
    done = st.session_state.get(keys.IM_DONE)
    if not done:
        return
    text, count = done
    st.success(
        f"Imported {count:,} account(s). Download their first passwords now: they are shown "
        "only this once. Hand each one over in person."
    )
    st.download_button(
        "Download the first passwords (CSV)",
        text,
        file_name="first-passwords.csv",
        mime="text/csv",
        key=keys.IM_DOWNLOAD,
        on_click="ignore",
    )
    st.button(
        "I have saved the first passwords",
        key=keys.IM_SAVED,
        on_click=st.session_state.pop,
        args=(keys.IM_DONE,),
    )
