"""`ecrgen lint`: cfn-lint plus ecrgen's ECR rules on any CloudFormation template."""

from __future__ import annotations

import json
import re
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
    include_checks: list[str] = typer.Option([], "--include-checks", "-c", metavar="RULES",
                                             help="As cfn-lint's: also run these rules (ids or prefixes, "
                                                  "comma-separated or repeated). ecrgen runs every E, W "
                                                  "and I rule already."),
    ignore_checks: list[str] = typer.Option([], "--ignore-checks", "-i", metavar="RULES",
                                            help="As cfn-lint's: skip these rules (ids or prefixes)."),
    regions: list[str] = typer.Option([], "--regions", "-r", metavar="REGIONS",
                                      help="As cfn-lint's: the regions to check against (or ALL_REGIONS); "
                                           "default: AWS_REGION, else us-east-1."),
    jobs: int = typer.Option(None, "--jobs", "-j", min=1, show_default="the usable cores",
                             help="Templates linted at once, each in a worker process; 1: one after "
                                  "another, in this process."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Lint every template again: neither read nor "
                                  "write the lint cache (see docs/lint.md)."),
    rules_dir: bool = typer.Option(False, "--rules-dir", help="Print the folder of ecrgen's cfn-lint rules "
                                   "(for cfn-lint --append-rules) and exit."),
) -> None:
    """Lint CloudFormation templates (each PATH, YAML or JSON) with cfn-lint plus ecrgen's ECR rules.

    Several templates are linted at once, and a template whose exact bytes were linted before
    with the same cfn-lint, rules and options is not linted again: its findings come from the
    cache. Every file is linted, even after one that cannot be read. Exit codes (the worst
    wins): 0 no error-level finding (warnings and notes allowed), 1 error-level findings,
    2 bad input (unreadable file, not a template, a wrong option) or a template whose worker
    process died.
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
    from generator.cli.progress import bar
    from generator.lint import pool
    from generator.lint.runner import Options, Template, lint_many

    options = Options(_split(include_checks), _split(ignore_checks), _split(regions))
    _no_values_as_paths(paths)
    with bar("linting", len(paths)) as done:
        linted = lint_many([Template(str(path)) for path in paths], options, jobs or pool.usable_cores(),
                           cache=not no_cache, done=done)
    warn_cache(linted.cache_error)
    findings: list[Finding] = []
    unreadable: list[InputError] = []
    for path, outcome in zip(paths, linted.outcomes, strict=True):
        error = outcome.error(str(path))
        if error:
            typer.echo(error.render(), err=True)
            unreadable.append(error)
        findings += outcome.findings
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


def _split(values: list[str]) -> tuple[str, ...]:
    """`-i W3005,W3010 -i E3012` -> (W3005, W3010, E3012), as cfn-lint splits them."""
    return tuple(part for value in values for part in value.split(",") if part)


def _no_values_as_paths(paths: list[Path]) -> None:
    """cfn-lint takes `--ignore-checks A B` (several values after one flag); here B would be a
    PATH. Refuse a PATH that does not exist and reads as a rule id or a region, saying why."""
    for path in paths:
        name = str(path)
        if not path.exists() and re.fullmatch(r"[EWI]\d{1,4}|[a-z]{2,4}(-[a-z]+)+-\d|ALL_REGIONS", name):
            raise InputError(name, Problem("no such file; it reads as a rule id or a region: give several "
                                           "with commas (--ignore-checks W3005,W3010) or repeat the option, "
                                           "as one value follows each option here", field="PATH"))


def warn_cache(error: str | None) -> None:
    """One warning on stderr when the lint cache could not be written; the lint went on without it."""
    if error:
        typer.echo(f"warning: the lint cache was not written ({error}); set ECRGEN_CACHE_DIR to a "
                   "writable folder, or lint with --no-cache", err=True)
