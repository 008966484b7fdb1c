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
