"""The notebook report: one HTML file with escaped data and inline charts, CSVs, one zip."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile

import pandas as pd
import pytest

from portal.manager.notebook_charts import ChartSpec
from portal.manager.notebook_export import (
    CSP,
    TABLE_ROWS,
    ExportCell,
    ExportMeta,
    export_csvs,
    export_zip,
    render_html,
)

AT = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
EVIL = "<script>alert('x')</script>"
META = ExportMeta("Sign-in <failures>", "boss & co", AT, {"since": "2026-11-01", "who": EVIL})
PEOPLE = pd.DataFrame(
    {
        "username": [EVIL, '=HYPERLINK("http://x")', "alice"],
        "failures": [3, 1, 0],
        "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-03"]).date,
    }
)
NARRATIVE = (
    "## Why this matters\n\nPeople past the *grace period* cannot sign in.\n\n"
    "<img src=x onerror=alert(1)> <b>bold?</b>\n\n![tracker](https://example.com/t.png)\n"
)
CELLS = [
    ExportCell("markdown", NARRATIVE),
    ExportCell(
        "sql",
        "SELECT username, failures FROM audit WHERE x < 3",
        PEOPLE,
        seconds=0.25,
        chart=ChartSpec("bar", "username", "failures"),
    ),
    ExportCell("sql", "SELECT day, failures", PEOPLE, chart=ChartSpec("line", "day", "failures")),
    ExportCell("sql", "SELECT nope", error="Binder Error: column <nope> not found"),
    ExportCell("sql", "SELECT 1", PEOPLE),
]


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(META, CELLS)


def test_data_from_the_rows_is_shown_as_text(page: str) -> None:
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Sign-in &lt;failures&gt;" in page and "boss &amp; co" in page
    assert "column &lt;nope&gt; not found" in page
    assert "WHERE x &lt; 3" in page


def test_the_page_requests_nothing(page: str) -> None:
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP
    assert not re.search(r"<[^>]*\b(src|srcset|background)\s*=", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page and "<link" not in page


def test_each_chart_cell_has_an_inline_svg_with_marks(page: str) -> None:
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.DOTALL)
    assert len(svgs) == 2
    assert 'aria-roledescription="bar"' in svgs[0]
    assert "mark-line" in svgs[1]
    # The chart's labels are data too: escaped in the SVG.
    assert "&lt;script&gt;" in svgs[0]


def test_markdown_is_rendered_and_its_raw_html_escaped(page: str) -> None:
    assert "<h2>Why this matters</h2>" in page and "<em>grace period</em>" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;bold?&lt;/b&gt;" in page
    assert "<img" not in page  # a markdown image would be fetched on opening


def test_tables_are_capped_and_say_how_many_are_left_out() -> None:
    big = pd.DataFrame({"n": range(TABLE_ROWS + 250)})
    html = render_html(META, [ExportCell("markdown", "x"), ExportCell("sql", "SELECT n", big)])
    assert html.count("<tr>") == TABLE_ROWS + 1  # with the header row
    assert "250 more rows are not shown here: see cell-02.csv." in html
    assert f"{TABLE_ROWS + 250:,} rows in" in html


def test_a_chart_that_cannot_be_drawn_says_why() -> None:
    cell = ExportCell("sql", "SELECT 1", PEOPLE, chart=ChartSpec("bar", "username", "nope"))
    html = render_html(META, [cell])
    assert "The chart could not be drawn: The result has no column &#x27;nope&#x27;" in html
    assert "<svg" not in html and "alice" in html


def test_csvs_are_spreadsheet_safe_and_complete() -> None:
    files = export_csvs(CELLS)
    assert sorted(files) == ["cell-02.csv", "cell-03.csv", "cell-05.csv"]
    rows = list(csv.reader(io.StringIO(files["cell-02.csv"].decode())))
    assert rows[0] == ["username", "failures", "day"]
    assert rows[1] == [EVIL, "3", "2026-11-01"]
    assert rows[2][0] == '\'=HYPERLINK("http://x")'
    big = pd.DataFrame({"n": range(TABLE_ROWS + 5), "t": pd.NaT})
    (only,) = export_csvs([ExportCell("sql", "SELECT n", big)]).values()
    assert only.decode().count("\n") == TABLE_ROWS + 6


def test_the_zip_holds_the_report_and_every_csv() -> None:
    data = export_zip(META, CELLS)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["notebook.html", "cell-02.csv", "cell-03.csv", "cell-05.csv"]
        assert archive.read("notebook.html").decode() == render_html(META, CELLS)
        assert archive.read("cell-05.csv") == export_csvs(CELLS)["cell-05.csv"]
        assert archive.getinfo("notebook.html").date_time == (2026, 12, 2, 9, 30, 0)
