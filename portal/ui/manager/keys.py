"""Session-state and widget keys of the security-manager page (prefix sm_, one place)."""

from __future__ import annotations

from typing import Any

TAB = "sm_tab"  # the open tab's label (lazy tabs: only the open one runs)
TABS = ("Accounts", "Audit trail", "Explore")

# Accounts table
SEARCH = "sm_search"
STATUS = "sm_status"
ROLE = "sm_role"
ONLY = "sm_only"
SORT = "sm_sort"
DESC = "sm_desc"
PAGE = "sm_page"
TABLE_GEN = "sm_table_gen"  # bumped to start a fresh table widget (drops the row selection)
CSV = "sm_csv"

# Actions and their confirmation dialog
DIALOG = "sm_dialog"  # which action's dialog is open
TARGETS = "sm_targets"  # [(id, username, display name)] the open dialog acts on
DIALOG_ERROR = "sm_dialog_error"
REASON = "sm_reason"
CONFIRM = "sm_confirm"
CANCEL = "sm_cancel"
NEW_USERNAME = "sm_new_username"
NEW_DISPLAY = "sm_new_display"
NEW_ROLE = "sm_new_role"
NEW_PASSWORD = "sm_new_password"  # noqa: S105 - a widget key, not a password
NEW_CONFIRM = "sm_new_confirm"

# Audit trail
AU_PERSON = "sm_au_person"
AU_EVENTS = "sm_au_events"
AU_DATES = "sm_au_dates"
AU_PAGE = "sm_au_page"
AU_CSV = "sm_au_csv"

# Explore
EX_CELLS = "sm_ex_cells"  # list of cell ids, in order
EX_NEXT = "sm_ex_next"  # next cell id
EX_RESULTS = "sm_ex_results"  # {cell id: explore.Result}, holding only the frame shown
EX_ERROR = "sm_ex_error"
EX_RUN_ALL = "sm_ex_run_all"
EX_ADD = "sm_ex_add"


def action_key(action: str) -> str:
    return f"sm_act_{action}"


def table_key(state: Any) -> str:
    """The accounts table's key in this session (st.session_state or AppTest's session_state)."""
    return f"sm_table_{state.get(TABLE_GEN, 0)}"


def cell_key(part: str, cell_id: int) -> str:
    """Widget keys of one Explore cell: part is title, sql, chart, run or remove."""
    return f"sm_ex_{part}_{cell_id}"
