"""Session-state and widget keys of the security-manager page (prefix sm_, one place)."""

from __future__ import annotations

from typing import Any

TAB = "sm_tab"  # the open tab's label (lazy tabs: only the open one runs)
TABS = ("Accounts", "Audit trail", "Notebooks", "Import")

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
TABLE_CACHE = "sm_table_cache"  # reports.CachedPage: the rows shown, reused for a few seconds
TABLE_FRAME = "sm_table_frame"  # (the CachedPage, its frame as shown): built once per read

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

# Import (CSV of people)
IM_GEN = "sm_im_gen"  # bumped to start a fresh file uploader (drops the file)
IM_PLAN = "sm_im_plan"  # (file id, importer.Plan) of the uploaded file
IM_RUN = "sm_im_run"  # Confirm was pressed: the next run imports, with a progress bar
IM_DONE = "sm_im_done"  # the first passwords of the import just made, until "saved"
IM_ERROR = "sm_im_error"
IM_CONFIRM = "sm_im_confirm"
IM_CANCEL = "sm_im_cancel"
IM_DOWNLOAD = "sm_im_download"
IM_SAVED = "sm_im_saved"


def import_file_key(state: Any) -> str:
    """The import's file uploader key in this session (a new one after Cancel or an import)."""
    return f"sm_im_file_{state.get(IM_GEN, 0)}"


def action_key(action: str) -> str:
    return f"sm_act_{action}"


def table_key(state: Any) -> str:
    """The accounts table's key in this session (st.session_state or AppTest's session_state)."""
    return f"sm_table_{state.get(TABLE_GEN, 0)}"
