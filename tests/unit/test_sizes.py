"""STYLE.md rule 12, enforced: no module over 300 lines, no function over 40, in product code."""

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

FOLDERS = ("portal", "store", "pages")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 40


def _sources() -> Iterator[Path]:
    for folder in FOLDERS:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _functions(tree: ast.AST) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones included, with a dotted name (Class.method)."""

    def walk(
        node: ast.AST, prefix: str
    ) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield prefix + child.name, child
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    return walk(tree, "")


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    # From the `def` line (decorators not counted) to the last line of the body, docstring included.
    return (node.end_lineno or node.lineno) - node.lineno + 1


def long_modules() -> dict[str, int]:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _sources()}
    return {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}


def long_functions() -> dict[str, int]:
    found = {}
    for path in _sources():
        rel = path.relative_to(ROOT)
        for name, node in _functions(ast.parse(path.read_text())):
            if _function_lines(node) > MAX_FUNCTION_LINES:
                found[f"{rel}:{node.lineno} {name}"] = _function_lines(node)
    return found


def test_no_module_is_over_300_lines():
    assert long_modules() == {}, "split these modules (lines): " + _listing(long_modules())


def test_no_function_is_over_40_lines():
    assert long_functions() == {}, "split these functions (lines): " + _listing(long_functions())


def test_the_measure_counts_nested_functions_and_methods():
    source = (
        "class A:\n    def m(self):\n        def inner():\n            pass\n        return 1\n"
    )
    found = {name: _function_lines(node) for name, node in _functions(ast.parse(source))}
    assert found == {"A.m": 4, "A.m.inner": 2}


def _listing(found: dict[str, int]) -> str:
    return "".join(f"\n  {name}: {n}" for name, n in sorted(found.items(), key=lambda kv: -kv[1]))
