"""`ecrgen lint` (issue 5): placeholder until the ECR rules land."""

from __future__ import annotations

from pathlib import Path

import typer


def lint(paths: list[Path] = typer.Argument(..., help="Templates to lint.")) -> None:
    """Lint CloudFormation templates with cfn-lint plus ecrgen's ECR rules."""
    from generator.lint import lint_text

    findings = [f for path in paths for f in lint_text(path.read_text(), str(path))]
    for finding in findings:
        typer.echo(finding.render())
    raise typer.Exit(1 if any(f.level == "error" for f in findings) else 0)
