"""`ecrgen lint`: cfn-lint plus ecrgen's ECR rules on any CloudFormation template."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from generator.errors import InputError


class Format(StrEnum):
    text = "text"
    json = "json"


def lint(
    # Hidden from the Arguments table, which would show the Python type; the docstring says it.
    paths: list[Path] | None = typer.Argument(None, show_default=False, metavar="PATH", hidden=True),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="text: file:line:column: RULE message; "
                               "json: {findings, summary} on stdout."),
    rules_dir: bool = typer.Option(False, "--rules-dir", help="Print the folder of ecrgen's cfn-lint rules "
                                   "(for cfn-lint --append-rules) and exit."),
) -> None:
    """Lint CloudFormation templates (each PATH, YAML or JSON) with cfn-lint plus ecrgen's ECR rules.

    Exit codes: 0 no error-level finding (warnings and notes allowed), 1 error-level findings,
    2 bad input (unreadable file, not a template).
    """
    if rules_dir:
        from generator.cfn_rules import RULES_DIR

        typer.echo(RULES_DIR)
        return
    if not paths:
        raise InputError("ecrgen lint", "give at least one template PATH (or --rules-dir)")
    from generator.lint import lint_path

    findings = [finding for path in paths for finding in lint_path(path)]
    if fmt is Format.json:
        levels = ("error", "warning", "informational")
        summary = {level: sum(f.level == level for f in findings) for level in levels}
        typer.echo(json.dumps({"findings": [f.to_json() for f in findings], "summary": summary}, indent=2))
    else:
        for finding in findings:
            typer.echo(finding.render())
    raise typer.Exit(1 if any(f.level == "error" for f in findings) else 0)
