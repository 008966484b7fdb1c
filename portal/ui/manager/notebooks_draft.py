"""The open notebook's draft in session state: load, edit cells, and read it back as a Notebook.

The draft lives in plain (non-widget) keys, so it survives a switch to another tab; a widget's
value, when the widget has one, wins, because a button's callback runs before the widgets are
drawn again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import MutableMapping
from typing import Any

from portal.errors import InvalidInput
from portal.manager.notebook_charts import CHART_KINDS, ChartSpec
from portal.manager.notebook_model import Notebook, NotebookCell
from portal.manager.notebook_params import Param, param_from_dict, param_to_dict
from portal.ui.manager import notebooks_keys as k

State = MutableMapping[Any, Any]
NO_CHART = "none"
CHARTS = (NO_CHART, *CHART_KINDS)
STARTER = Notebook(
    "New notebook",
    params=(Param("start", "date", "From", "-30d"), Param("end", "date", "To", "today")),
    cells=(
        NotebookCell("markdown", "## Why this check matters\nSay what the numbers below show."),
        NotebookCell(
            "sql",
            "SELECT event, count(*) AS events\nFROM audit\n"
            "WHERE CAST(occurred_at AS DATE) BETWEEN :start AND :end\n"
            "GROUP BY event ORDER BY events DESC",
        ),
    ),
)


def clear(ss: State) -> None:
    """Close the open notebook: its draft, results and widget values go."""
    for key in list(ss):
        if str(key).startswith("sm_nb_") and key != k.NOTICE:
            del ss[key]


def load(ss: State, nb: Notebook) -> None:
    """Open a notebook: a fresh draft of its cells and parameters."""
    clear(ss)
    ss[k.LOADED] = nb
    ss[k.NAME] = ss[k.NAME + "_v"] = nb.name
    ss[k.DESCRIPTION] = ss[k.DESCRIPTION + "_v"] = nb.description
    ss[k.PARAM_TEXT] = ss[k.PARAMS] = params_text(nb.params)
    ss[k.CELLS] = []
    for cell in nb.cells:
        add(ss, cell)


def params_text(params: tuple[Param, ...]) -> str:
    return json.dumps([param_to_dict(p) for p in params], indent=1) if params else "[]"


def add(ss: State, cell: NotebookCell) -> int:
    """Append a cell to the draft; returns its id."""
    cell_id = ss.get(k.NEXT, 0)
    ss[k.NEXT] = cell_id + 1
    chart = cell.chart
    ss.setdefault(k.CELLS, []).append(
        {
            "id": cell_id,
            "kind": cell.kind,
            "source": cell.source,
            "chart": chart.kind if chart else NO_CHART,
            "x": chart.x if chart else None,
            "y": chart.y if chart else None,
            "color": chart.color if chart else None,
        }
    )
    return cell_id


def ids(ss: State) -> list[int]:
    return [int(c["id"]) for c in ss.get(k.CELLS, [])]


def find(ss: State, cell_id: int) -> dict[str, Any]:
    return next(c for c in ss.get(k.CELLS, []) if c["id"] == cell_id)


def move(ss: State, cell_id: int, step: int) -> None:
    """Move a cell up (-1) or down (+1)."""
    cells = ss[k.CELLS]
    i = ids(ss).index(cell_id)
    j = max(0, min(len(cells) - 1, i + step))
    cells[i], cells[j] = cells[j], cells[i]


def remove(ss: State, cell_id: int) -> None:
    ss[k.CELLS] = [c for c in ss.get(k.CELLS, []) if c["id"] != cell_id]
    ss.get(k.RESULTS, {}).pop(cell_id, None)
    for part in ("source", "chart", "x", "y", "color"):
        ss.pop(k.cell_key(part, cell_id), None)


def sync(ss: State) -> None:
    """Copy the widgets' values into the draft (so they survive a tab switch)."""
    for key, field in ((k.NAME, k.NAME + "_v"), (k.DESCRIPTION, k.DESCRIPTION + "_v")):
        if key in ss:
            ss[field] = ss[key]
    if k.PARAMS in ss:
        ss[k.PARAM_TEXT] = ss[k.PARAMS]
    for cell in ss.get(k.CELLS, []):
        for part in ("source", "chart", "x", "y", "color"):
            key = k.cell_key(part, cell["id"])
            if key in ss:
                cell[part] = ss[key]


def _chart(cell: dict[str, Any]) -> ChartSpec | None:
    if cell["chart"] == NO_CHART or not cell["x"] or not cell["y"]:
        return None
    return ChartSpec(cell["chart"], cell["x"], cell["y"], cell["color"] or None)


def parse_params(text: str) -> tuple[Param, ...]:
    """The declarations typed as JSON; InvalidInput with a one-line reason."""
    try:
        raw = json.loads(text or "[]")
        if not isinstance(raw, list):
            raise ValueError("Write the parameters as a JSON list of objects.")
        return tuple(param_from_dict(d) for d in raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"Parameters: not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    except ValueError as exc:
        raise InvalidInput(f"Parameters: {exc}") from None


def notebook(ss: State) -> Notebook:
    """The draft as a Notebook (widgets' current values first); InvalidInput for bad parameters."""
    sync(ss)
    loaded: Notebook = ss[k.LOADED]
    cells = tuple(NotebookCell(c["kind"], c["source"], _chart(c)) for c in ss.get(k.CELLS, []))
    return dataclasses.replace(
        loaded,
        name=str(ss.get(k.NAME + "_v", loaded.name)),
        description=str(ss.get(k.DESCRIPTION + "_v", loaded.description)),
        params=parse_params(ss.get(k.PARAM_TEXT, "[]")),
        cells=cells,
    )


def values(ss: State, params: tuple[Param, ...]) -> dict[str, Any]:
    """The parameter widgets' raw values (the service types and checks them)."""
    return {p.name: ss[k.param_key(p.name)] for p in params if k.param_key(p.name) in ss}
