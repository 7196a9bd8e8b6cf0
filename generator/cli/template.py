"""`ecrgen template`: ecr.yaml -> CloudFormation template, written atomically, then linted."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from generator.errors import InputError
from generator.wording import plural


class Format(StrEnum):
    yaml = "yaml"
    json = "json"


def template(
    config: Path = typer.Option(Path("ecr.yaml"), "--config", "-c", metavar="FILE",
                                help="The ecr.yaml to read."),
    out: str = typer.Option(None, "--out", "-o", show_default="templates/ecr.yaml", metavar="FILE",
                            help="Where to write the template; '-' for stdout."),
    fmt: Format = typer.Option(Format.yaml, "--format", "-f", help="Template format."),
    no_lint: bool = typer.Option(False, "--no-lint", help="Skip linting the written template."),
) -> None:
    """Write the CloudFormation template for every repository in ecr.yaml, then lint it.

    Exit codes: 0 written and clean, 1 lint errors, 2 bad input.
    """
    from generator import config as config_module
    from generator import template as template_module
    from generator.fileio import write_atomic

    cfg = config_module.load(config)
    try:
        text = template_module.render(template_module.build(cfg), fmt.value, source=config.name)
    except template_module.TemplateLimitError as exc:
        raise InputError(str(config), str(exc)) from None
    size = len(text.encode())
    if size > template_module.MAX_BODY_BYTES:
        raise InputError(str(config), f"the template would be {size:,} bytes; CloudFormation accepts "
                         f"at most {template_module.MAX_BODY_BYTES:,}: split the repositories "
                         "across several ecr.yaml files")
    target = out or f"templates/ecr.{fmt.value}"
    if target == "-":
        sys.stdout.write(text)
    else:
        write_atomic(target, text)
        repositories = plural(len(cfg.repositories), "repository")
        typer.echo(f"wrote {target} ({repositories}, {size:,} bytes)", err=True)
    if no_lint:
        direct_limit = template_module.MAX_DIRECT_BODY_BYTES
        if size > direct_limit:  # linting says so itself (W9504)
            typer.echo(f"warning: the template is {size:,} bytes, over the {direct_limit:,} that a direct "
                       "deploy accepts: `aws cloudformation deploy` needs --s3-bucket", err=True)
        return
    from generator.lint import lint_text

    findings = lint_text(text, target if target != "-" else "<stdout>")
    for finding in findings:
        typer.echo(finding.render(), err=True)
    if any(f.level == "error" for f in findings):
        raise typer.Exit(1)
