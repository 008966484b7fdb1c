"""A notebook's shape: cells, parameters, results, their stored JSON form and its checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from portal.errors import InvalidInput
from portal.manager.notebook_charts import ChartSpec, chart_from_dict, chart_to_dict
from portal.manager.notebook_params import Param, param_from_dict, param_to_dict
from portal.manager.sandbox import MAX_SQL
from store.notebooks import StoredNotebook

CELL_KINDS = ("markdown", "sql")
MAX_CELLS = 50
MAX_PARAMS = 20
MAX_NAME = 100
MAX_DESCRIPTION = 1_000
MAX_MARKDOWN = 20_000


@dataclasses.dataclass(frozen=True)
class NotebookCell:
    """One cell: markdown (the narrative) or one SQL SELECT, with an optional chart."""

    kind: str
    source: str
    chart: ChartSpec | None = None


@dataclasses.dataclass(frozen=True)
class Notebook:
    """A notebook as loaded (id and version say which save the editor started from)."""

    name: str
    description: str = ""
    params: tuple[Param, ...] = ()
    cells: tuple[NotebookCell, ...] = ()
    id: int | None = None
    version: int = 0
    builtin: bool = False
    created_by: str = ""
    updated_by: str = ""
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class NotebookVersion:
    """One kept save of a notebook: who saved it, when, and its content then."""

    version: int
    saved_by: str
    saved_at: dt.datetime
    notebook: Notebook


@dataclasses.dataclass(frozen=True)
class CellResult:
    """What a cell shows after a run: a table or an error, with its time and row count."""

    kind: str
    frame: pd.DataFrame | None = None
    error: str | None = None
    truncated: bool = False
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return 0 if self.frame is None else len(self.frame)


# -- the JSON kept in the database --------------------------------------------------------


def cells_json(cells: Sequence[NotebookCell]) -> str:
    return json.dumps(
        [
            {"kind": c.kind, "source": c.source, "chart": c.chart and chart_to_dict(c.chart)}
            for c in cells
        ]
    )


def params_json(params: Sequence[Param]) -> str:
    return json.dumps([param_to_dict(p) for p in params])


def decode_cells(text: str) -> tuple[NotebookCell, ...]:
    out = []
    for raw in json.loads(text):
        chart = chart_from_dict(raw["chart"]) if raw.get("chart") else None
        out.append(NotebookCell(str(raw["kind"]), str(raw["source"]), chart))
    return tuple(out)


def from_row(row: StoredNotebook) -> Notebook:
    return Notebook(
        row.name,
        row.description,
        tuple(param_from_dict(d) for d in json.loads(row.params)),
        decode_cells(row.cells),
        row.id,
        row.version,
        row.builtin,
        row.created_by,
        row.updated_by,
        row.updated_at,
    )


def notebook_from_dict(d: Mapping[str, Any]) -> Notebook:
    """A Notebook from its JSON form (built-ins, imports); ValueError on bad input."""
    params = tuple(param_from_dict(p) for p in d.get("params", ()))
    cells = decode_cells(json.dumps(list(d.get("cells", ()))))
    return Notebook(str(d["name"]), str(d.get("description", "")), params, cells)


def check(nb: Notebook) -> None:
    """InvalidInput with a one-line reason when a notebook cannot be saved as it is."""
    name = nb.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"Give the notebook a name of 1 to {MAX_NAME} characters.")
    if len(nb.description) > MAX_DESCRIPTION:
        raise InvalidInput(f"Keep the description under {MAX_DESCRIPTION:,} characters.")
    if len(nb.cells) > MAX_CELLS or len(nb.params) > MAX_PARAMS:
        raise InvalidInput(f"A notebook has at most {MAX_CELLS} cells and {MAX_PARAMS} parameters.")
    names = [p.name for p in nb.params]
    if len(set(names)) != len(names):
        raise InvalidInput("Two parameters have the same name.")
    for number, cell in enumerate(nb.cells, 1):
        limit = MAX_SQL if cell.kind == "sql" else MAX_MARKDOWN
        if cell.kind not in CELL_KINDS:
            raise InvalidInput(f"Cell {number}: a cell is markdown or SQL.")
        if len(cell.source) > limit:
            raise InvalidInput(f"Cell {number} is too long (at most {limit:,} characters).")
