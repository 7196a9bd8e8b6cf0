"""`ecrgen --version` and `--help` of every command, as a user sees them."""

from __future__ import annotations

import re
import subprocess
import sys

import click
import pytest
import typer

from generator import __version__
from generator.cli import app

# What Typer shows when an option or argument has no metavar: the Python type.
PYTHON_TYPE = re.compile(r"<(str|int|float|bool|path|Path|list\[.*?\]|dict\[.*?\])>|\blist\[|\bPath\b")


def _commands() -> list[list[str]]:
    """Every command path, subcommands included, read from the app itself (so new ones are covered)."""
    found: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_version_prints_the_version_and_exits_0(ecrgen) -> None:
    result = ecrgen("--version")
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, f"ecrgen {__version__}", "")


@pytest.mark.parametrize("command", _commands(), ids=lambda path: " ".join(path) or "ecrgen")
def test_help_shows_no_python_types(ecrgen, command: list[str]) -> None:
    result = ecrgen(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert not PYTHON_TYPE.search(result.stdout), result.stdout


def test_commands_are_all_found() -> None:
    assert {" ".join(path) for path in _commands()} >= {"", "template", "lint", "post-deploy", "lifecycle",
                                                        "lifecycle preview", "lifecycle validate"}


def test_starting_ecrgen_loads_no_heavy_library() -> None:
    """`ecrgen --help`, `--version` and `lint --rules-dir` answer at once: the SDK, the template
    and lint libraries and the config models are loaded by the commands that use them."""
    heavy = ("boto3", "botocore", "cfnlint", "troposphere", "pydantic", "rich")
    probe = f"import sys, generator.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []
