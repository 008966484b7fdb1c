"""CSV exports: no text cell can open as a formula, whichever separator a spreadsheet splits on."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from portal.manager import reports

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = [
    "=1+1",
    "+1",
    "-1+1",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    ";=1+1;",
    "a,=1+1",
    "a;+cmd|' /C calc'!A0",
    "a\t-1",
    "a; =1+1",
    " =1+1",
    "x\n=1+1",
    'x"=1+1',
    '=HYPERLINK("http://evil")',
    "ok;@x,=y\t+z",
]
HARMLESS = ["alice", "Smith; John", "a, b", "10.0.0.1 Firefox/128", "2026-03-02 09:01:00+00:00"]


def export(values: list[object]) -> str:
    return reports._csv(["value"], [[v] for v in values])


def fields(text: str, delimiter: str) -> list[str]:
    """Every field a spreadsheet splitting on the delimiter would see, quoted or naive."""
    parsed = [f for row in csv.reader(io.StringIO(text), delimiter=delimiter) for f in row]
    naive = [part.strip('" ') for line in text.splitlines() for part in line.split(delimiter)]
    return parsed + naive


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_field_opens_as_a_formula(delimiter: str) -> None:
    text = export(HOSTILE)
    opens = [f for f in fields(text, delimiter) if f.lstrip(" ").startswith(TRIGGERS)]
    assert opens == []


def test_hostile_text_round_trips_with_only_the_guard_added() -> None:
    rows = list(csv.reader(io.StringIO(export(HOSTILE + HARMLESS))))[1:]
    read = [row[0] for row in rows]
    assert [r.replace("'", "") for r in read] == [v.replace("'", "") for v in HOSTILE + HARMLESS]
    assert read[HOSTILE.index(";=1+1;")] == ";'=1+1;"
    assert read[HOSTILE.index("=1+1")] == "'=1+1"
    assert read[len(HOSTILE) :] == HARMLESS  # nothing to guard: unchanged


def test_every_text_cell_is_quoted_and_numbers_stay_numbers() -> None:
    when = dt.datetime(2026, 3, 2, 9, 1, tzinfo=dt.UTC)
    text = reports._csv(["id", "name", "left", "at", "none"], [[7, "bob", -1, when, None]])
    assert text.splitlines()[1] == '7,"bob",-1,"2026-03-02 09:01:00+00:00",""'
    assert text.splitlines()[0] == '"id","name","left","at","none"'
