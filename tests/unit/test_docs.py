"""The README keeps up with the code: every setting, every command, the two first commands."""

import dataclasses
import re

from portal.cli import build_parser
from portal.settings import Settings, env_name
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_setting_and_its_variable_is_documented():
    for field in dataclasses.fields(Settings):
        assert f"`{field.name}`" in README, field.name
        assert f"`{env_name(field.name)}`" in README, field.name


def test_every_cli_command_is_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        nested = [a for a in command._actions if a.dest == "action"]
        names = [f"portal {name} {n}" for n in nested[0].choices] if nested else [f"portal {name}"]
        for full in names:
            assert f"`{full}" in README, full


def test_readme_starts_with_exactly_two_commands_serve_then_test():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert "portal serve" in blocks[0]
    assert "pytest" in blocks[1]
    first_heading = README.index("\n## ")
    assert README[:first_heading].count("```sh") == 2


def map_entries(block: str) -> set[str]:
    """The paths a code-block map names: indentation nests, an entry is a first word ending in
    '/' or '.py', anything else (descriptions, continuation lines, '...' comments) is prose."""
    entries: set[str] = set()
    parents: list[tuple[int, str]] = []
    for line in block.splitlines():
        words = line.split()
        if not words or words[0].startswith("...") or not words[0].endswith(("/", ".py")):
            continue
        indent = len(line) - len(line.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = (parents[-1][1] if parents else "") + words[0]
        entries.add(path)
        if path.endswith("/"):
            parents.append((indent, path))
    return entries


def _readme_map() -> set[str]:
    section = README[README.index("## How it is built") :]
    return map_entries(re.search(r"```\n(.*?)\n```", section, flags=re.S).group(1))


def test_the_map_parser_nests_by_indentation_and_skips_prose():
    block = (
        "portal/   the domain\n"
        "  access/ getting in: accounts,\n"
        "          throttle (continued prose)\n"
        "  ...     the shared kernel\n"
        "  demo.py trainer demo\n"
        "    stray words\n"
        "store/    SQL: migrations/\n"
    )
    assert map_entries(block) == {"portal/", "portal/access/", "portal/demo.py", "store/"}


def test_every_path_in_the_readme_map_exists():
    missing = [
        path
        for path in sorted(_readme_map())
        if not ((ROOT / path).is_dir() if path.endswith("/") else (ROOT / path).is_file())
    ]
    assert missing == [], f"the README map names what the tree lacks: {missing}"


def test_every_package_is_named_in_the_readme_map():
    named = _readme_map()
    packages = [
        f"{init.parent.relative_to(ROOT).as_posix()}/"
        for folder in ("portal", "store")
        for init in sorted((ROOT / folder).rglob("__init__.py"))
    ]
    unnamed = [package for package in packages if package not in named]
    assert unnamed == [], f"the README map does not name these packages: {unnamed}"
