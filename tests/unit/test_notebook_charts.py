"""Notebook charts: a spec that round-trips, columns checked, odd column names and dates handled."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from portal.manager.notebook_charts import (
    CHART_KINDS,
    ChartSpec,
    build_chart,
    chart_from_dict,
    chart_spec_dict,
    chart_to_dict,
)

FRAME = pd.DataFrame(
    {
        "day": [dt.date(2026, 11, 1), dt.date(2026, 11, 2), None],
        "count(*)": [3, 4, 5],
        "a.b[0]": ["x", "y", "x"],
        "ok": [True, False, True],
    }
)


def test_spec_round_trips() -> None:
    spec = ChartSpec("area", "day", "count(*)", "a.b[0]")
    assert chart_to_dict(spec) == {"kind": "area", "x": "day", "y": "count(*)", "color": "a.b[0]"}
    assert chart_from_dict(chart_to_dict(spec)) == spec
    assert chart_from_dict({"kind": "bar", "x": "a", "y": "b"}) == ChartSpec("bar", "a", "b")


@pytest.mark.parametrize(
    ("d", "reason"),
    [
        ({"kind": "pie", "x": "a", "y": "b"}, "one of bar, line, area"),
        ({"kind": "bar", "x": "", "y": "b"}, "a column for x"),
        ({"kind": "bar", "x": "a"}, "needs a kind, x and y"),
        ({"kind": "bar", "x": "a", "y": "b", "size": "c"}, "Unknown chart field: size"),
        ({"kind": "bar", "x": "a", "y": "b", "color": 3}, "column name or nothing"),
    ],
)
def test_bad_specs_are_refused(d: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        chart_from_dict(d)


def test_missing_or_non_numeric_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="no column 'nope'"):
        build_chart(FRAME, ChartSpec("bar", "day", "nope"))
    with pytest.raises(ValueError, match="must hold numbers"):
        build_chart(FRAME, ChartSpec("bar", "day", "a.b[0]"))
    with pytest.raises(ValueError, match="must hold numbers"):
        build_chart(FRAME, ChartSpec("bar", "day", "ok"))


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_each_kind_names_its_mark_and_columns(kind: str) -> None:
    d = build_chart(FRAME, ChartSpec(kind, "day", "count(*)", "a.b[0]")).to_dict()
    mark = d["mark"]["type"] if isinstance(d["mark"], dict) else d["mark"]
    assert mark == kind
    enc = d["encoding"]
    assert enc["x"]["type"] == "temporal"  # dates, not text
    assert enc["y"] == {"field": "count(*)", "title": "count(*)", "type": "quantitative"}
    # '.' and '[' would mean nested fields to Vega-Lite
    assert enc["color"]["field"] == "a\\.b\\[0\\]" and enc["color"]["title"] == "a.b[0]"


def test_the_export_spec_holds_all_rows_inline() -> None:
    big = pd.DataFrame({"n": range(6000), "v": [1.5] * 5999 + [float("nan")]})
    d = chart_spec_dict(big, ChartSpec("line", "n", "v"))
    assert "url" not in d["data"]
    (values,) = d["datasets"].values()
    assert len(values) == 6000 and values[-1] == {"n": 5999, "v": None}
    dated = chart_spec_dict(FRAME, ChartSpec("bar", "day", "count(*)"))
    (values,) = dated["datasets"].values()
    assert [v["day"] for v in values] == ["2026-11-01T00:00:00", "2026-11-02T00:00:00", None]
