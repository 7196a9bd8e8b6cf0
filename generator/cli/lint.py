"""`ecrgen lint`: cfn-lint plus ecrgen's ECR rules on any CloudFormation template."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from generator.base.errors import InputError, Problem

if TYPE_CHECKING:
    from generator.lint.runner import Finding


class Format(StrEnum):
    text = "text"
    json = "json"


def lint(
    # Hidden from the Arguments table, which would show the Python type; the docstring says it.
    paths: list[Path] | None = typer.Argument(None, show_default=False, metavar="PATH", hidden=True),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="text: file:line:column: RULE message; "
                               "json: {findings, unreadable, summary} on stdout."),
    rules_dir: bool = typer.Option(False, "--rules-dir", help="Print the folder of ecrgen's cfn-lint rules "
                                   "(for cfn-lint --append-rules) and exit."),
) -> None:
    """Lint CloudFormation templates (each PATH, YAML or JSON) with cfn-lint plus ecrgen's ECR rules.

    Every file is linted, even after one that cannot be read. Exit codes (the worst wins):
    0 no error-level finding (warnings and notes allowed), 1 error-level findings,
    2 bad input (unreadable file, not a template).
    """
    if rules_dir:
        if paths:
            raise InputError("ecrgen lint", Problem("prints the rules folder and takes no PATH; lint "
                                                    "templates without --rules-dir", field="--rules-dir"))
        from generator.lint.rules import RULES_DIR

        typer.echo(RULES_DIR)
        return
    if not paths:
        raise InputError("ecrgen lint", "give at least one template PATH (or --rules-dir)")
    from generator.lint.runner import lint_path

    findings: list[Finding] = []
    unreadable: list[InputError] = []
    for path in paths:
        try:
            findings += lint_path(path)
        except InputError as exc:
            typer.echo(exc.render(), err=True)
            unreadable.append(exc)
    if fmt is Format.json:
        levels = ("error", "warning", "informational")
        summary = {level: sum(f.level == level for f in findings) for level in levels}
        problems = [{"filename": exc.source, "line": p.line, "message": p.message}
                    for exc in unreadable for p in exc.problems]
        typer.echo(json.dumps({"findings": [f.to_json() for f in findings], "unreadable": problems,
                               "summary": summary}, indent=2))
    else:
        for finding in findings:
            typer.echo(finding.render())
    raise typer.Exit(2 if unreadable else 1 if any(f.level == "error" for f in findings) else 0)
