"""A notebook's report to hand over: one self-contained HTML file and a CSV per table, zipped.

The HTML makes no request of any kind: no script, styles inline, charts as inline SVG drawn here
by vl-convert from the same Altair chart the page shows, a CSP that forbids anything else. Every
value from the data, the SQL and the parameters is escaped; markdown is rendered with raw HTML off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import math
import xml.etree.ElementTree as ET  # noqa: S405 - parses only the SVG vl-convert drew here
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import vl_convert
from markdown_it import MarkdownIt

from portal.manager.notebook_charts import ChartSpec, chart_spec_dict
from portal.manager.reports import _csv

TABLE_ROWS = 1_000  # rows of a table in the HTML; the CSV has all of them
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
HTML_NAME = "notebook.html"
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
# An image would be fetched when the file opens: write it as a plain link instead.
_MARKDOWN.disable("image")
_SVG_UNSAFE = frozenset(("script", "foreignObject", "iframe", "object", "embed", "image", "use"))
STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
header{border-bottom:2px solid #444;margin-bottom:1.5rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dl.meta dt{font-weight:600}
section.cell{margin:1.5rem 0;padding-top:.5rem;border-top:1px solid #ddd}
pre{background:#f5f5f5;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
table.result{border-collapse:collapse;font-size:13px;margin:.5rem 0}
table.result th,table.result td{border:1px solid #ccc;padding:.15rem .45rem;text-align:left}
table.result td.num{text-align:right}
.note{color:#555;font-size:13px}
.error{color:#8a1c1c;background:#fdeeee;padding:.5rem;border-left:4px solid #8a1c1c}
figure{margin:.5rem 0}
"""


@dataclasses.dataclass(frozen=True)
class ExportCell:
    """One cell as run for the report: markdown text, or SQL with its result or error."""

    kind: str  # "markdown" or "sql"
    source: str
    frame: pd.DataFrame | None = None
    error: str | None = None
    chart: ChartSpec | None = None
    seconds: float = 0.0
    truncated: bool = False


@dataclasses.dataclass(frozen=True)
class ExportMeta:
    """Who exported which notebook, when, with which parameter values (as shown)."""

    notebook: str
    exported_by: str
    exported_at: dt.datetime
    params: Mapping[str, str]
    portal_name: str = "2FA Portal"


def render_html(meta: ExportMeta, cells: Sequence[ExportCell]) -> str:
    """The notebook with its results and charts as one HTML file that requests nothing."""
    title = _e(f"{meta.notebook} — {meta.portal_name}")
    body = [_header(meta)]
    body += [_cell(i, cell) for i, cell in enumerate(cells, 1)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def export_csvs(cells: Sequence[ExportCell]) -> dict[str, bytes]:
    """One spreadsheet-safe CSV per result table, named by the cell's place (cell-03.csv)."""
    out = {}
    for i, cell in enumerate(cells, 1):
        if cell.kind == "sql" and cell.frame is not None:
            frame = cell.frame
            rows = ([_csv_value(v) for v in row] for row in frame.itertuples(index=False))
            out[csv_name(i)] = _csv([str(c) for c in frame.columns], rows).encode("utf-8")
    return out


def export_zip(meta: ExportMeta, cells: Sequence[ExportCell]) -> bytes:
    """The HTML report and the CSVs in one zip archive."""
    stamp = meta.exported_at.astimezone(dt.UTC).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = {HTML_NAME: render_html(meta, cells).encode("utf-8")} | export_csvs(cells)
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def csv_name(position: int) -> str:
    """The CSV file of the cell at this place in the notebook (1-based)."""
    return f"cell-{position:02d}.csv"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _header(meta: ExportMeta) -> str:
    at = meta.exported_at.astimezone(dt.UTC).isoformat(sep=" ", timespec="seconds")
    rows = [("Exported by", meta.exported_by), ("Exported at", at.replace("+00:00", " UTC"))]
    rows += [(f"Parameter {name}", value) for name, value in meta.params.items()]
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    return (
        f'<header><p class="note">{_e(meta.portal_name)} · notebook report</p>'
        f'<h1>{_e(meta.notebook)}</h1><dl class="meta">{items}</dl></header>'
    )


def _cell(position: int, cell: ExportCell) -> str:
    if cell.kind == "markdown":
        return f'<section class="cell markdown">{_MARKDOWN.render(cell.source)}</section>'
    parts = [f'<h2 class="note">Cell {position}</h2>', f"<pre><code>{_e(cell.source)}</code></pre>"]
    if cell.error is not None:
        parts.append(f'<p class="error">{_e(cell.error)}</p>')
    elif cell.frame is not None:
        parts.append(f'<p class="note">{_e(_summary(cell))}</p>')
        if cell.chart is not None:
            parts.append(_chart(cell.frame, cell.chart))
        parts.append(_table(cell.frame, position))
    return f'<section class="cell sql">{"".join(parts)}</section>'


def _summary(cell: ExportCell) -> str:
    assert cell.frame is not None
    rows = len(cell.frame)
    text = f"{rows:,} row{'s' if rows != 1 else ''} in {cell.seconds:.2f} s"
    if cell.truncated:
        text += f" (the query returned more; only the first {rows:,} were kept)"
    return text


def _chart(frame: pd.DataFrame, spec: ChartSpec) -> str:
    """The chart as inline SVG, or a line saying why it could not be drawn."""
    try:
        svg = vl_convert.vegalite_to_svg(chart_spec_dict(frame, spec), allowed_base_urls=[])
        _check_svg(svg)
    except ValueError as exc:
        lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
        reason = " ".join(x for x in lines if not x.startswith("at ")) or "unknown reason"
        return f'<p class="error">The chart could not be drawn: {_e(reason)}</p>'
    label = _e(f"{spec.kind} chart of {spec.y} by {spec.x}")
    return f'<figure role="img" aria-label="{label}">{svg}</figure>'


def _check_svg(svg: str) -> None:
    """ValueError unless the SVG is only shapes and text: no script, handler or outside link."""
    try:
        root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output, no DTD
    except ET.ParseError as exc:
        raise ValueError("the renderer returned no valid SVG") from exc
    for node in root.iter():
        if node.tag.rsplit("}", 1)[-1] in _SVG_UNSAFE:
            raise ValueError("the drawing held an element that is not allowed")
        for name, value in node.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") or (local == "href" and not value.startswith("#")):
                raise ValueError("the drawing held an attribute that is not allowed")


def _table(frame: pd.DataFrame, position: int) -> str:
    shown = frame.head(TABLE_ROWS)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in frame.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = (
            f'<td class="num">{_e(_shown(v))}</td>' if num else f"<td>{_e(_shown(v))}</td>"
            for v, num in zip(row, numeric, strict=True)
        )
        body.append(f"<tr>{''.join(cells)}</tr>")
    table = (
        f'<table class="result"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    left = len(frame) - len(shown)
    if left > 0:
        table += (
            f'<p class="note">{left:,} more rows are not shown here: see {csv_name(position)}.</p>'
        )
    return table


def _shown(value: Any) -> str:
    """A value as the table shows it: gaps empty, timestamps in ISO form."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _csv_value(value: Any) -> Any:
    """A value for reports._csv: gaps empty, numpy scalars as Python, naive times as written."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.isoformat(sep=" ")  # _csv would read a naive time as local
    if hasattr(value, "item") and not isinstance(value, dt.date):
        return value.item()
    return value
