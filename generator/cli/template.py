"""`ecrgen template`: ecr.yaml -> CloudFormation template, written atomically, then linted."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from generator.base.errors import InputError
from generator.base.wording import plural

if TYPE_CHECKING:
    from generator.lint.helper import Helper


class Format(StrEnum):
    yaml = "yaml"
    json = "json"


def template(
    config: Path = typer.Option(Path("ecr.yaml"), "--config", "-c", metavar="FILE",
                                help="The ecr.yaml to read."),
    out: str = typer.Option(None, "--out", "-o", show_default="templates/ecr.yaml", metavar="FILE",
                            help="Where to write the template; '-' for stdout. Several stacks go "
                                 "beside it: ecr-01.yaml, ecr-02.yaml ... and the index ecr.stacks.json."),
    fmt: Format = typer.Option(Format.yaml, "--format", "-f", help="Template format."),
    no_lint: bool = typer.Option(False, "--no-lint", help="Skip linting the written template."),
    jobs: int = typer.Option(None, "--jobs", "-j", min=1, show_default="the usable cores",
                             help="Templates linted at once, each in a worker process; 1: one after "
                                  "another, in this process."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Lint every template again: neither read nor "
                                  "write the lint cache (see docs/lint.md)."),
) -> None:
    """Write the CloudFormation template for every repository in ecr.yaml, then lint it.

    More repositories than one stack holds (or `max_per_stack`) make one template per stack,
    assigned so that no repository ever moves between stacks (see README). They are linted at
    once, and a template whose exact bytes were linted before is not linted again (`ecrgen lint`).

    Exit codes: 0 written and clean, 1 lint errors, 2 bad input (or a template that could not be
    linted: its worker process died).
    """
    if no_lint:
        if jobs is not None or no_cache:
            raise InputError("template", "--jobs and --no-cache say how to lint; not with --no-lint")
        _write_and_lint(config, out, fmt, no_lint, 1, no_cache, None)
        return
    from generator.lint import pool
    from generator.lint.helper import helping

    jobs = jobs or pool.usable_cores()
    with helping(jobs) as helper:  # cfn-lint loads in a helper process meanwhile
        _write_and_lint(config, out, fmt, no_lint, jobs, no_cache, helper)


def _write_and_lint(config: Path, out: str | None, fmt: Format, no_lint: bool, jobs: int, no_cache: bool,
                    helper: Helper | None) -> None:
    from generator.base.fileio import write_atomic
    from generator.model import config as config_module
    from generator.model import stack_limits
    from generator.render import shards

    cfg = config_module.load(config)
    if cfg.registry is not None and cfg.targets is not None:
        from generator.model import registry

        for warning in registry.self_destinations(cfg.registry, cfg.targets.regions, cfg.targets.accounts):
            typer.echo(f"warning: {config}: {warning}", err=True)
    target = Path(out if out not in (None, "-") else f"templates/ecr.{fmt.value}")
    try:
        rendered, index = shards.render_all(cfg, target, fmt.value, config.name)
    except stack_limits.TemplateLimitError as exc:
        raise InputError(str(config), str(exc)) from None
    too_big = [r for r in rendered if len(r.text.encode()) > stack_limits.MAX_BODY_BYTES]
    if too_big:
        raise InputError(str(config), f"{too_big[0].path.name} would be {len(too_big[0].text.encode()):,} "
                         f"bytes; CloudFormation accepts at most {stack_limits.MAX_BODY_BYTES:,}: set "
                         "max_per_stack lower")
    if out == "-":
        if index is not None:
            raise InputError("--out", "the repositories need several stacks: give a file, not '-'")
        sys.stdout.write(rendered[0].text)
    else:
        for part in rendered:
            write_atomic(part.path, part.text)
            size = len(part.text.encode())
            repositories = plural(part.repositories, "repository")
            typer.echo(f"wrote {part.path} ({repositories}, {size:,} bytes)", err=True)
        if index is not None:
            write_atomic(shards.index_path(target), index)
            typer.echo(f"wrote {shards.index_path(target)} ({plural(len(rendered), 'stack')})", err=True)
    if no_lint:
        direct_limit = stack_limits.MAX_DIRECT_BODY_BYTES
        for part in rendered:
            size = len(part.text.encode())
            if size > direct_limit:  # linting says so itself (W9504)
                typer.echo(f"warning: {part.path.name} is {size:,} bytes, over the {direct_limit:,} that a "
                           "direct deploy accepts: `aws cloudformation deploy` needs --s3-bucket", err=True)
        return
    from generator.cli.lint import warn_cache
    from generator.cli.progress import bar
    from generator.lint.runner import Template, lint_many

    names = [str(part.path) if out != "-" else "<stdout>" for part in rendered]
    with bar("linting", len(rendered)) as done:
        linted = lint_many([Template(name, part.text) for name, part in zip(names, rendered, strict=True)],
                           jobs=jobs, cache=not no_cache, done=done, run=helper.run if helper else None)
    warn_cache(linted.cache_error)
    worst = 0
    for name, outcome in zip(names, linted.outcomes, strict=True):
        for finding in outcome.findings:
            typer.echo(finding.render(), err=True)
        error = outcome.error(name)
        if error:
            typer.echo(error.render(), err=True)
        worst = max(worst, 2 if error else 1 if any(f.level == "error" for f in outcome.findings) else 0)
    if worst:
        raise typer.Exit(worst)
