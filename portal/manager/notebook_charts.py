"""Notebook charts: bar, line or area over a cell's result; one Altair chart for page and export."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Literal

import altair as alt
import pandas as pd

CHART_KINDS = ("bar", "line", "area")
EXPORT_WIDTH = 640  # pixels of a chart in the HTML report
EXPORT_HEIGHT = 260
_KEYS = frozenset(("kind", "x", "y", "color"))


@dataclasses.dataclass(frozen=True)
class ChartSpec:
    """Which chart a cell draws: its kind and the result columns on x, y and (optionally) colour."""

    kind: str
    x: str
    y: str
    color: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CHART_KINDS:
            raise ValueError(f"A chart is one of {', '.join(CHART_KINDS)}.")
        for axis in (self.x, self.y):
            if not isinstance(axis, str) or not axis:
                raise ValueError("A chart needs a column for x and one for y.")
        if self.color is not None and (not isinstance(self.color, str) or not self.color):
            raise ValueError("The colour of a chart is a column name or nothing.")


def chart_to_dict(spec: ChartSpec) -> dict[str, Any]:
    """The JSON form of a ChartSpec (chart_from_dict reads it back)."""
    out: dict[str, Any] = {"kind": spec.kind, "x": spec.x, "y": spec.y}
    if spec.color is not None:
        out["color"] = spec.color
    return out


def chart_from_dict(d: Mapping[str, Any]) -> ChartSpec:
    """A ChartSpec from its JSON form; ValueError with a one-line reason on bad input."""
    if not isinstance(d, Mapping):
        raise ValueError("A chart must be an object with a kind, x and y.")
    unknown = sorted(set(map(str, d)) - _KEYS)
    if unknown:
        raise ValueError(f"Unknown chart field: {unknown[0]}.")
    if not {"kind", "x", "y"} <= set(d):
        raise ValueError("A chart needs a kind, x and y.")
    return ChartSpec(d["kind"], d["x"], d["y"], d.get("color"))


def build_chart(frame: pd.DataFrame, spec: ChartSpec) -> alt.Chart:
    """The cell's chart over its result; ValueError if a column is missing or y is not numeric."""
    return _chart(_prepared(frame, spec), spec)


def chart_spec_dict(frame: pd.DataFrame, spec: ChartSpec) -> dict[str, Any]:
    """The chart as a Vega-Lite dict with its data inline (no row limit, nothing to fetch)."""
    data = _prepared(frame, spec)
    values = [{k: _json_value(v) for k, v in row.items()} for row in data.to_dict("records")]
    chart = _chart(data, spec, alt.InlineData(values=values))
    return chart.properties(width=EXPORT_WIDTH, height=EXPORT_HEIGHT).to_dict()


def _prepared(frame: pd.DataFrame, spec: ChartSpec) -> pd.DataFrame:
    """Only the chart's columns, dates as timestamps; ValueError naming a missing column."""
    names = [str(c) for c in frame.columns]
    columns = [spec.x, spec.y] + ([spec.color] if spec.color else [])
    for column in columns:
        if column not in names:
            raise ValueError(f"The result has no column {column!r} to chart.")
    data = frame.set_axis(names, axis=1).loc[:, list(dict.fromkeys(columns))]
    if not _numeric(data[spec.y]):
        raise ValueError(f"The y column {spec.y!r} must hold numbers.")
    for column in data.columns:
        series = data[column]
        if series.dtype == object and _dates(series):
            data[column] = pd.to_datetime(series)
    return data


def _chart(data: pd.DataFrame, spec: ChartSpec, source: Any = None) -> alt.Chart:
    """The Altair chart; the data is the frame itself unless an inline source is given."""
    base = alt.Chart(data if source is None else source)
    mark = {"bar": base.mark_bar, "line": base.mark_line, "area": base.mark_area}[spec.kind]
    x_type = _type(data[spec.x])
    encoding: dict[str, Any] = {
        "x": alt.X(field=_field(spec.x), type=x_type, title=spec.x, sort=None),
        "y": alt.Y(field=_field(spec.y), type="quantitative", title=spec.y),
        "tooltip": [alt.Tooltip(field=_field(c), type=_type(data[c]), title=c) for c in data],
    }
    if spec.color:
        encoding["color"] = alt.Color(
            field=_field(spec.color), type=_type(data[spec.color]), title=spec.color
        )
    chart = mark(point=True) if spec.kind == "line" else mark()
    return chart.encode(**encoding)


def _field(name: str) -> str:
    """A column name as a Vega-Lite field: '.', '[' and ']' would otherwise mean nested access."""
    out = name.replace("\\", "\\\\")
    for ch in ".[]":
        out = out.replace(ch, "\\" + ch)
    return out


def _type(series: pd.Series) -> Literal["temporal", "quantitative", "nominal"]:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "temporal"
    return "quantitative" if _numeric(series) else "nominal"


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _dates(series: pd.Series) -> bool:
    """Whether an object column holds dates (and gaps) only, at least one date."""
    kinds = series.map(lambda v: "date" if isinstance(v, dt.date) else "gap" if v is None else "")
    return bool((kinds != "").all() and (kinds == "date").any())


def _json_value(value: Any) -> Any:
    """A cell's value as JSON for the inline data: timestamps in ISO form, NaN/NaT as null."""
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
