"""Notebook parameters: found only where they are code, typed strictly, bound as data, never SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.manager.notebook_params import (
    Param,
    bind,
    coerce,
    default_value,
    param_from_dict,
    param_to_dict,
    placeholders,
)
from portal.manager.sandbox import Sandbox

TODAY = dt.date(2026, 12, 2)
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
NAMES = ["alice", "bob", "x' OR 1=1 --", "carol"]
PEOPLE = pa.table(
    {
        "username": NAMES,
        "role": ["member", "security_manager", "member", "member"],
        "created": [dt.date(2026, 1, 1), dt.date(2026, 6, 1), dt.date(2026, 9, 1), TODAY],
        "logins": [3, 0, 7, 1],
    }
)
WHO = Param("who", "text")


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(NOW, {"people": PEOPLE}) as sandbox:
        yield sandbox


def rows(box: Sandbox, sql: str, params: list[Param], values: dict[str, object]) -> list[tuple]:
    bound, used = bind(sql, params, values)
    result = box.run(bound, params=used)
    assert result.error is None, result.error
    assert result.frame is not None
    return list(result.frame.itertuples(index=False, name=None))


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("SELECT * FROM people WHERE role = :role AND created >= :since", ["role", "since"]),
        ("SELECT :a, :b, :a", ["a", "b"]),
        ("SELECT ':role', 'it''s :not' FROM people", []),
        ("SELECT E'\\' :inside' AS t", []),
        ('SELECT "odd :name" FROM people', []),
        ("SELECT 1 -- :commented\n, :after", ["after"]),
        ("SELECT /* :a /* :nested */ :still */ :b", ["b"]),
        ("SELECT created::date, CAST(:d AS DATE)::varchar FROM people", ["d"]),
        ("SELECT $$ :dollar $$, $tag$ :x $tag$, :y", ["y"]),
        ("SELECT [1, 2, 3][1:n], {'k': :v}, x[:hi]", ["v", "hi"]),
        ("SELECT(:p)", ["p"]),
    ],
)
def test_placeholders_are_found_only_in_code(sql: str, found: list[str]) -> None:
    assert placeholders(sql) == found


def test_bind_rewrites_only_the_placeholders() -> None:
    sql = "SELECT ':who', \"a:who\", created::date -- :who\nFROM people WHERE username = :who"
    bound, used = bind(sql, [WHO, Param("unused", "int")], {"who": "bob", "unused": 3})
    assert bound == sql.replace("= :who", "= $who")
    assert used == {"who": "bob"}


def test_an_undeclared_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match=r":role, which is not a declared parameter"):
        bind("SELECT * FROM people WHERE role = :role", [WHO], {"who": "x"})


@pytest.mark.parametrize("sql", ["SELECT $1", "SELECT $who", "SELECT ?"])
def test_duckdb_own_parameters_are_refused(sql: str) -> None:
    with pytest.raises(ValueError, match="Write parameters as :name"):
        bind(sql, [WHO], {"who": "x"})


def test_a_missing_value_is_refused() -> None:
    with pytest.raises(ValueError, match="No value for :who"):
        bind("SELECT :who", [WHO], {})


@pytest.mark.parametrize(
    ("param", "raw", "value"),
    [
        (Param("d", "date"), "2026-01-31", dt.date(2026, 1, 31)),
        (Param("d", "date"), "today", TODAY),
        (Param("d", "date"), "-30d", TODAY - dt.timedelta(days=30)),
        (Param("d", "date"), dt.datetime(2026, 3, 4, 5, 6), dt.date(2026, 3, 4)),
        (Param("n", "int"), " 42 ", 42),
        (Param("n", "int"), -7, -7),
        (Param("t", "text"), "x' OR 1=1 --", "x' OR 1=1 --"),
        (Param("c", "choice", choices=("on", "off")), "off", "off"),
    ],
)
def test_coerce_gives_the_typed_value(param: Param, raw: object, value: object) -> None:
    assert coerce(param, raw, TODAY) == value


@pytest.mark.parametrize(
    ("param", "raw", "reason"),
    [
        (Param("d", "date"), "31/01/2026", "expected a date"),
        (Param("d", "date"), "-99999999d", "expected a date"),
        (Param("d", "date"), 5, "expected a date"),
        (Param("n", "int"), "4.5", "whole number"),
        (Param("n", "int"), True, "whole number"),
        (Param("n", "int"), 2**70, "too large"),
        (Param("t", "text", label="Filter"), 3, "Filter: expected text"),
        (Param("t", "text"), "x" * 1001, "under 1000"),
        (Param("c", "choice", choices=("on", "off")), "maybe", "choose one"),
    ],
)
def test_coerce_refuses_bad_values_in_one_line(param: Param, raw: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        coerce(param, raw, TODAY)
    assert "\n" not in str(caught.value)


def test_defaults() -> None:
    assert default_value(Param("d", "date", default="-7d"), TODAY) == dt.date(2026, 11, 25)
    assert default_value(Param("d", "date"), TODAY) == TODAY
    assert default_value(Param("n", "int"), TODAY) == 0
    assert default_value(Param("c", "choice", choices=("b", "a")), TODAY) == "b"


def test_dict_round_trip() -> None:
    p = Param("role", "choice", "Role", "member", ("member", "security_manager"))
    assert param_to_dict(p) == {
        "name": "role",
        "kind": "choice",
        "label": "Role",
        "default": "member",
        "choices": ["member", "security_manager"],
    }
    assert param_from_dict(param_to_dict(p)) == p
    assert param_from_dict({"name": "n", "kind": "int", "default": 5}) == Param("n", "int", "", "5")


@pytest.mark.parametrize(
    ("d", "reason"),
    [
        ({"name": "Role", "kind": "text"}, "use a-z"),
        ({"name": "r", "kind": "colour"}, "kind must be one of"),
        ({"kind": "text"}, "needs a name and a kind"),
        ({"name": "r", "kind": "text", "sql": "x"}, "Unknown parameter field: sql"),
        ({"name": "r", "kind": "choice"}, "between 1 and"),
        ({"name": "r", "kind": "choice", "choices": ["a", "a"]}, "distinct"),
        ({"name": "r", "kind": "text", "choices": ["a"]}, "only a choice"),
        ({"name": "r", "kind": "choice", "choices": ["a"], "default": "b"}, "choose one"),
        ({"name": "d", "kind": "date", "default": "yesterday-ish"}, "expected a date"),
        ({"name": "r", "kind": "text", "choices": "ab"}, "list of texts"),
        ("not a mapping", "must be an object"),
    ],
)
def test_bad_declarations_are_refused(d: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        param_from_dict(d)  # type: ignore[arg-type]


def test_typed_values_survive_the_trip_to_the_sandbox(box: Sandbox) -> None:
    since, role = Param("since", "date"), Param("role", "text")
    found = rows(
        box,
        "SELECT username, logins FROM people WHERE created >= :since AND role = :role "
        "AND logins > :n ORDER BY username",
        [since, role, Param("n", "int")],
        {"since": dt.date(2026, 5, 1), "role": "member", "n": 0},
    )
    assert found == [("carol", 1), ("x' OR 1=1 --", 7)]
    types = rows(
        box,
        "SELECT typeof(:since), typeof(:n), typeof(:role)",
        [since, role, Param("n", "int")],
        {"since": TODAY, "n": 5, "role": "x"},
    )
    assert types == [("DATE", "INTEGER", "VARCHAR")]


@pytest.mark.parametrize(
    "value",
    [
        "x' OR 1=1 --",
        "'; DROP TABLE people; --",
        "alice' OR username <> '",
        "$who",
        ":who",
        "bob $1 ? :other",
        '" OR "1"="1',
    ],
)
def test_parameters_cannot_inject_sql(box: Sandbox, value: str) -> None:
    sql = "SELECT username FROM people WHERE username = :who ORDER BY username"
    matching = [(n,) for n in NAMES if n == value]
    assert rows(box, sql, [WHO], {"who": value}) == matching
    # The table is still whole afterwards: nothing ran but the one SELECT.
    assert rows(box, "SELECT count(*) FROM people", [], {}) == [(len(NAMES),)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(max_size=200))
def test_any_text_value_round_trips_as_data(box: Sandbox, value: str) -> None:
    found = rows(
        box,
        "SELECT :v AS v, length(:v) AS n, (SELECT count(*) FROM people WHERE username = :v) AS c",
        [Param("v", "text")],
        {"v": coerce(Param("v", "text"), value, TODAY)},
    )
    assert found == [(value, len(value), NAMES.count(value))]


def test_the_sandbox_binds_other_plain_types_and_refuses_the_rest(box: Sandbox) -> None:
    at = dt.datetime(2026, 12, 2, 8, 15, tzinfo=dt.UTC)
    result = box.run("SELECT typeof($t), $t = portal_now() - INTERVAL 45 MINUTE", params={"t": at})
    assert result.frame is not None
    assert list(result.frame.iloc[0]) == ["TIMESTAMP WITH TIME ZONE", True]
    assert box.run("SELECT $x", params={"x": float("nan")}).error == (
        "The value of x is not a finite number."
    )
    assert box.run("SELECT $x", params={"x": b"raw"}).error == (
        "The value of x cannot be a query parameter."
    )
    # Without params the cell runs as before: DuckDB's own `$x` is just a missing value.
    assert "x" in (box.run("SELECT $x").error or "")
