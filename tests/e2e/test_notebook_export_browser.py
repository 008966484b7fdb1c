"""The exported notebook report in Chromium: it asks no host for anything, charts and tables show.

Every request the page makes goes through `page.route`, which records it and aborts it before it
leaves the machine. The report is opened as a file (as an auditor would), so the only request
allowed is that file itself; a control page with an outside image proves the route sees requests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import expect

from portal.manager.notebook_charts import ChartSpec
from portal.manager.notebook_export import ExportCell, ExportMeta, render_html

pytestmark = pytest.mark.e2e

EVIL = "<script>alert('x')</script>"
FRAME = pd.DataFrame(
    {
        "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-03"]).date,
        "username": [EVIL, "bob", "alice"],
        "failures": [3, 5, 1],
    }
)
CELLS = [
    ExportCell(
        "markdown",
        "## Sign-in failures\n\nWhy it matters. ![pixel](https://example.com/p.png) "
        '<img src="https://example.com/q.png"> [policy](https://example.com/policy)',
    ),
    ExportCell(
        "sql", "SELECT username, failures", FRAME, chart=ChartSpec("bar", "username", "failures")
    ),
    ExportCell("sql", "SELECT day, failures", FRAME, chart=ChartSpec("area", "day", "failures")),
    ExportCell("sql", "SELECT day, username", FRAME),
]
META = ExportMeta("Failures", "boss", dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC), {"who": EVIL})


def record(page: Any) -> list[str]:
    """Every URL the page requests, each aborted unless it is a local file."""
    seen: list[str] = []

    def handle(route: Any) -> None:
        seen.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    page.route("**/*", handle)
    return seen


def test_the_report_requests_nothing_and_shows_charts_and_tables(page: Any, tmp_path: Path) -> None:
    report = tmp_path / "notebook.html"
    report.write_text(render_html(META, CELLS), "utf-8")
    seen, dialogs = record(page), []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(report.as_uri())
    expect(page.get_by_role("heading", name="Failures", exact=True)).to_be_visible()

    charts = page.locator("figure svg")
    expect(charts).to_have_count(2)
    bars = page.locator('figure svg [aria-roledescription="bar"]')
    expect(bars).to_have_count(3)
    for i in range(3):
        box = bars.nth(i).bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
    expect(page.locator("figure svg .mark-area path").first).to_be_visible()

    tables = page.locator("table.result")
    expect(tables).to_have_count(3)
    expect(tables.first.get_by_role("cell", name=EVIL, exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="alice", exact=True).first).to_be_visible()
    assert page.locator("script, img, iframe, link").count() == 0
    page.wait_for_load_state("networkidle")

    assert seen == [report.as_uri()]
    assert dialogs == []


def test_the_route_sees_a_request_to_an_outside_host(page: Any) -> None:
    seen = record(page)
    page.set_content('<img src="https://example.com/control.png" alt="control">')
    page.wait_for_load_state("networkidle")
    assert seen == ["https://example.com/control.png"]
