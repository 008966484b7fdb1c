"""Request text reaches markdown only through plain(): a scan of the UI code, like test_layers.

It looks at f-strings handed to anything that renders markdown (or to a flash message) and
flags an interpolated attribute that holds request text (`who.display_name`, `n.source`...)
unless it goes through plain(). Values built earlier in a variable are left to the AppTests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

RENDERS_MARKDOWN = {
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "success",
    "info",
    "warning",
    "error",
    "toast",
    "write",
    "flash",
    "_run",  # manager_actions: flashes its message on success
}
FROM_REQUEST = {"display_name", "username", "source", "actor", "subject", "detail", "by", "email"}


def ui_files(root: Path = ROOT) -> list[Path]:
    return [
        *(root / "pages").glob("*.py"),
        *(root / "portal" / "ui").glob("*.py"),
        root / "portal" / "app.py",
    ]


def raw_values(tree: ast.AST) -> Iterator[str]:
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        name = (
            call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        )
        if name not in RENDERS_MARKDOWN:
            continue
        for node in ast.walk(call):
            if isinstance(node, ast.FormattedValue) and _raw(node.value):
                yield ast.unparse(node.value)


def _raw(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Call) and getattr(expr.func, "id", "") == "plain":
        return False
    return any(isinstance(n, ast.Attribute) and n.attr in FROM_REQUEST for n in ast.walk(expr))


def offenders(root: Path = ROOT) -> dict[str, list[str]]:
    found = {
        str(p.relative_to(root)): list(raw_values(ast.parse(p.read_text()))) for p in ui_files(root)
    }
    return {path: values for path, values in found.items() if values}


def test_request_text_in_markdown_goes_through_plain() -> None:
    assert offenders() == {}
