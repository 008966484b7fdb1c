"""The import rules of STYLE.md and DESIGN.md, checked on every module of portal, store, pages."""

import ast
from pathlib import Path

from tests.conftest import ROOT

ALLOWED = {ROOT / "portal" / "app.py", ROOT / "portal" / "asgi.py"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def _modules(path: Path) -> set[str]:
    """The modules a file imports, in full: `from portal import errors` names portal.errors."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in {"portal", "store"}:  # packages: what is taken from them is a module
                names |= {f"{node.module}.{a.name}" for a in node.names}
            else:
                names.add(node.module)
    return names


def _product_files() -> list[Path]:
    return [p for folder in ("portal", "store", "pages") for p in (ROOT / folder).rglob("*.py")]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_portal_and_store_never_import_streamlit():
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("portal", "store")
        for p in (ROOT / folder).rglob("*.py")
        if p not in ALLOWED and "ui" not in p.relative_to(ROOT).parts and "streamlit" in _imports(p)
    ]
    assert offenders == []


def test_pages_never_touch_sql_bcrypt_or_pyotp():
    banned = {"duckdb", "bcrypt", "pyotp", "store"}
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & banned)
        for p in (ROOT / "pages").glob("*.py")
        if _imports(p) & banned
    }
    assert offenders == {}


def test_only_totp_imports_pyotp():
    users = [
        str(p.relative_to(ROOT)) for p in (ROOT / "portal").rglob("*.py") if "pyotp" in _imports(p)
    ]
    assert users == ["portal/twofactor/totp.py"]


def test_no_wall_clock_outside_the_clock_module():
    offenders = []
    for folder in ("portal", "store", "pages"):
        for p in (ROOT / folder).rglob("*.py"):
            text = p.read_text()
            if p.name != "clock.py" and ("datetime.now(" in text or "time.time(" in text):
                offenders.append(str(p.relative_to(ROOT)))
    assert offenders == []


def test_store_imports_only_models_and_errors_from_portal():
    allowed = {"portal.models", "portal.errors"}
    offenders = {
        _rel(p): sorted(found)
        for p in (ROOT / "store").rglob("*.py")
        if (found := {m for m in _modules(p) if m.split(".")[0] == "portal"} - allowed)
    }
    assert offenders == {}


def test_the_ui_never_imports_the_store():
    offenders = [
        _rel(p)
        for folder in ("portal/ui", "pages")
        for p in (ROOT / folder).rglob("*.py")
        if "store" in _imports(p)
    ]
    assert offenders == []


def test_only_the_duckdb_backend_and_the_explore_sandbox_import_duckdb():
    users = sorted(_rel(p) for p in _product_files() if "duckdb" in _imports(p))
    assert users == [
        "portal/manager/sandbox.py",
        "portal/manager/sandbox_worker.py",
        "store/backends/duckdb.py",
    ]


def test_services_and_store_are_typed_against_the_seam_not_the_driver():
    drivers = {"store/backends/duckdb.py", "portal/manager/sandbox_worker.py"}
    offenders = [
        _rel(p)
        for p in _product_files()
        if "DuckDBPyConnection" in p.read_text() and _rel(p) not in drivers
    ]
    assert offenders == []
