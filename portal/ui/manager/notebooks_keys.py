"""Session-state and widget keys of the Notebooks tab (prefix sm_nb_, one place)."""

from __future__ import annotations

LOADED = "sm_nb_loaded"  # the Notebook as opened (id and version: what a save is based on)
CELLS = "sm_nb_cells"  # the draft's cells: [{"id", "kind", "source", "chart", "x", "y", "color"}]
NEXT = "sm_nb_next"  # next cell id
RESULTS = "sm_nb_results"  # {cell id: CellResult}
ERROR = "sm_nb_error"  # the last action's error, shown above the cells
NOTICE = "sm_nb_notice"  # the last action's success message
CONFIRM = "sm_nb_confirm"  # ("cell", id) or ("notebook", id): a delete waiting for its answer
EXPORT = "sm_nb_export"  # (file name, zip bytes) of the last export
PARAM_TEXT = "sm_nb_param_text"  # the parameter declarations as JSON (the draft's)

# Widgets
NEW = "sm_nb_new"
BACK = "sm_nb_back"
NAME = "sm_nb_name"
DESCRIPTION = "sm_nb_description"
PARAMS = "sm_nb_params"  # the declarations' text area
RUN_ALL = "sm_nb_run_all"
SAVE = "sm_nb_save"
RELOAD = "sm_nb_reload"
COPY_NAME = "sm_nb_copy_name"
COPY = "sm_nb_copy"
DELETE = "sm_nb_delete"
DELETE_YES = "sm_nb_delete_yes"
DELETE_NO = "sm_nb_delete_no"
EXPORT_BUTTON = "sm_nb_export_button"
DOWNLOAD = "sm_nb_download"
VERSION = "sm_nb_version"
RESTORE = "sm_nb_restore"
ADD_MARKDOWN = "sm_nb_add_markdown"
ADD_SQL = "sm_nb_add_sql"
CELL_DELETE_YES = "sm_nb_cell_delete_yes"
CELL_DELETE_NO = "sm_nb_cell_delete_no"


def open_key(notebook_id: int) -> str:
    """The list's Open button of one notebook."""
    return f"sm_nb_open_{notebook_id}"


def cell_key(part: str, cell_id: int) -> str:
    """Widget keys of one cell: part is source, run, up, down, delete, chart, x, y, color, table."""
    return f"sm_nb_{part}_{cell_id}"


def param_key(name: str) -> str:
    """The widget of one parameter's value."""
    return f"sm_nb_p_{name}"
