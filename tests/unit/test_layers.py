"""The import rule of STYLE.md: the domain and the store never import streamlit."""

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
