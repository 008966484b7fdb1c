"""Explore shows every DuckDB type as a value the table can render, and no path of the machine."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit import dataframe_util

from portal.clock import FixedClock
from portal.context import Portal
from portal.manager import explore
from portal.models import Role
from tests.app.manager_helpers import make_portal
from tests.conftest import ROOT, START, add_user

BIGGEST = "170141183460469231731687303715884105727"
TYPED = {
    f"{BIGGEST}::HUGEINT": BIGGEST,
    "1::HUGEINT": 1,
    "(SELECT sum(x) FROM (VALUES (2), (3)) t(x))": 5,
    "340282366920938463463374607431768211455::UHUGEINT": "340282366920938463463374607431768211455",
    "123456789012345678901234567890::VARINT": "123456789012345678901234567890",
    "1.25::DECIMAL(38,10)": 1.25,
    "INTERVAL 1 DAY": "1 day",
    "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "{'a': 1, 'b': [1, 2]}": "{'a': 1, 'b': [1, 2]}",
    "MAP {'k': 1}": "{k=1}",
    "'\\x00\\xff'::BLOB": "\\x00\\xFF",
    "[1, 2, 3]": "[1, 2, 3]",
    "[1, 2]::INTEGER[2]": "[1, 2]",
    "'12:00'::TIME": "12:00:00",
    "'12:00:00+02'::TIMETZ": "12:00:00+02",
    "'a'::ENUM('a', 'b')": "a",
    "'101'::BIT": "101",
    "union_value(k := 1)": "1",
    "'2024-01-02'::DATE": dt.date(2024, 1, 2),
    "'infinity'::DATE": "infinity",
    "'-infinity'::DATE": "-infinity",
    "'20000-01-01'::DATE": "20000-01-01",
    "'0044-03-15 (BC)'::DATE": "0044-03-15 (BC)",
    "'infinity'::TIMESTAMP": None,  # shown as a timestamp, whatever the browser makes of it
    "'2200-01-01'::TIMESTAMP_NS": pd.Timestamp("2200-01-01"),
    "18446744073709551615::UBIGINT": 18446744073709551615,
    "NULL": None,
    "'nan'::DOUBLE": None,
}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    p = make_portal(tmp_path_factory.mktemp("explore"), FixedClock(START))
    yield p
    p.db.close()


@pytest.fixture(scope="module")
def box(portal: Portal) -> Iterator[explore.Sandbox]:
    """One sandbox for the whole module: the cells here only read."""
    boss = add_user(portal, "boss", Role.SECURITY_MANAGER)
    with explore.open_sandbox(portal, boss) as sandbox:
        yield sandbox


@pytest.mark.parametrize(("expr", "shown"), TYPED.items())
def test_every_type_is_shown_as_a_value_the_table_can_render(
    box: explore.Sandbox, expr: str, shown: object
) -> None:
    result = box.run(f"SELECT {expr} AS v")
    assert result.error is None and result.frame is not None, result.error
    dataframe_util.convert_pandas_df_to_arrow_bytes(result.frame)  # what st.dataframe does
    if shown is not None:
        assert result.frame["v"][0] == shown


def test_a_wide_integer_stays_a_number_for_charts(box: explore.Sandbox) -> None:
    result = box.run("SELECT x AS day, sum(x) AS total FROM range(3) t(x) GROUP BY x ORDER BY x")
    assert result.frame is not None
    assert explore.chart_columns(result.frame) == ("day", ["total"])
    assert list(result.frame["total"]) == [0, 1, 2]  # the order of the cell is kept


def secret_places(portal: Portal) -> list[str]:
    import pyarrow

    places = [str(Path.home()), os.getcwd(), str(ROOT), sys.prefix, sys.exec_prefix]
    places += [str(Path(duckdb.__file__).parent), str(Path(pyarrow.__file__).parent)]
    places += [str(Path(portal.settings.db_path).parent), tempfile.gettempdir() + "/"]
    return sorted({p for p in places if p not in ("", "/")})


PROBES = [
    "SELECT * FROM duckdb_settings()",
    "SELECT name, value, description FROM duckdb_settings() WHERE value LIKE '%/%'",
    "SELECT current_setting('home_directory') AS h, current_setting('temp_directory') AS t",
    "SELECT current_setting('secret_directory') AS s, current_setting('extension_directory') AS e",
    "SELECT current_setting('allowed_directories') AS a, current_setting('file_search_path') AS f",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM pragma_database_list",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM duckdb_temporary_files()",
    "SELECT getenv('HOME') AS home",
    "SELECT * FROM which_secret('s3://bucket/x', 's3')",
    "SELECT * FROM read_csv('portal.duckdb')",
    "SELECT * FROM glob('*')",
    "SELECT * FROM duckdb_functions() WHERE function_name = 'portal_now'",
    "SELECT * FROM duckdb_views()",
]


def test_no_catalogue_function_reveals_a_path(portal: Portal, box: explore.Sandbox) -> None:
    places = secret_places(portal)
    for sql in PROBES:
        result = box.run(sql)
        shown = result.error or "" if result.frame is None else result.frame.to_csv()
        assert [p for p in places if p in shown] == [], sql


def test_settings_still_show_but_hold_no_machine_path(box: explore.Sandbox) -> None:
    frame = box.run("SELECT name, value FROM duckdb_settings()").frame
    assert frame is not None
    values = dict(zip(frame["name"], frame["value"], strict=True))
    assert values["temp_directory"] == "" and values["allowed_directories"] == "[]"
    assert values["enable_external_access"] == "false" and values["lock_configuration"] == "true"
