"""Migrations per dialect: shared numbered files, a dialect's own file replaces the same number."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import migrate
from tests.store.conftest import connect_unmigrated


def _folder(tmp_path: Path, backend: str) -> Path:
    root = tmp_path / "migrations"
    (root / backend).mkdir(parents=True)
    (root / "elsewhere").mkdir()
    (root / "0001_first.sql").write_text("-- shared\nCREATE TABLE one (id INTEGER);\n")
    (root / "0002_second.sql").write_text("CREATE TABLE shared_two (id INTEGER);")
    (root / backend / "0002_second.sql").write_text("CREATE TABLE own_two (id BIGINT);")
    (root / "elsewhere" / "0002_second.sql").write_text("CREATE TABLE other_dialect (id INTEGER);")
    (root / "notes.txt").write_text("not a migration")
    return root


def test_a_dialect_file_replaces_the_shared_file_of_the_same_number(tmp_path, backend):
    chosen = migrate.for_dialect(backend, _folder(tmp_path, backend))
    assert [(v, name) for v, name, _ in chosen] == [(1, "first"), (2, "second")]
    assert "own_two" in chosen[1][2]


def test_the_override_is_applied_and_recorded_once(tmp_path, backend):
    folder = _folder(tmp_path, backend)
    db = connect_unmigrated(backend, tmp_path)
    try:
        assert migrate.apply(db, folder) == [1, 2]
        assert migrate.apply(db, folder) == []
        with db.read() as cur:
            tables = {
                r[0]
                for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()
            }
            versions = cur.execute("SELECT version, name FROM schema_version ORDER BY 1").fetchall()
        assert {"one", "own_two"} <= tables and not {"shared_two", "other_dialect"} & tables
        assert versions == [(1, "first"), (2, "second")]
    finally:
        db.close()


def test_a_dialect_file_needs_a_shared_file_of_the_same_number_and_name(tmp_path, backend):
    folder = _folder(tmp_path, backend)
    (folder / backend / "0003_only_here.sql").write_text("CREATE TABLE only_here (id INTEGER);")
    with pytest.raises(ValueError, match="0003_only_here"):
        migrate.for_dialect(backend, folder)


def test_each_dialect_runs_its_own_file_and_no_other(tmp_path, backend):
    chosen = migrate.for_dialect("elsewhere", _folder(tmp_path, backend))
    assert [(v, n) for v, n, _ in chosen] == [(1, "first"), (2, "second")]
    assert "other_dialect" in chosen[1][2] and "own_two" not in chosen[1][2]
