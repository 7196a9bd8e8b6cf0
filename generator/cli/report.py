"""`ecrgen report`: what the registry costs, what its lifecycle policies free and what is at risk."""

from __future__ import annotations

import json
import math
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from generator.base.errors import InputError, Problem
from generator.cli import aws_options, in_use_options

if TYPE_CHECKING:
    from generator.report.figures import Report

COMMAND = "report"


class Output(StrEnum):
    html = "html"
    json = "json"
    markdown = "markdown"


def report(
    config: Path = typer.Option(None, "--config", "-c", metavar="FILE",
                                help="Report on the repositories of this ecr.yaml, against its settings."),
    stack_name: list[str] = typer.Option([], "--stack-name", "-s", show_default=False, metavar="NAME",
                                         help="Report on a deployed stack's repositories, against the stack "
                                              "(repeatable; a glob means every live stack it matches)."),
    repository: list[str] = typer.Option([], "--repository", "-r", show_default=False, metavar="NAME",
                                         help="Report on this repository (repeatable)."),
    every: bool = typer.Option(False, "--all", help="Report on every repository in the account and region."),
    out: Path = typer.Option(None, "--out", metavar="FILE",
                             help="Write the report to FILE, atomically (default: stdout)."),
    output: Output = typer.Option(None, "--output", "-o", show_default=False,
                                  help="html (the default with --out), json, or markdown (the default "
                                       "on stdout)."),
    price_per_gb: float = typer.Option(0.10, "--price-per-gb", metavar="USD",
                                       help="Standard storage price in USD per GB-month."),
    archive_price_per_gb: float = typer.Option(0.10, "--archive-price-per-gb", metavar="USD",
                                               help="Archive storage price in USD per GB-month (0.10 for the "
                                                    "first 150 TB a month, 0.07 above)."),
    now: str = typer.Option(None, "--now", metavar="TIME", show_default="the current time",
                            help="Evaluate ages and lifecycle policies at this ISO 8601 time."),
    region: str = aws_options.REGION,
    profile: str = aws_options.PROFILE,
    endpoint_url: str = aws_options.ENDPOINT_URL,
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, metavar="N",
                                    help="Parallel API calls (1-64)."),
    in_use: str = in_use_options.IN_USE,
    pulled_within: int = in_use_options.PULLED_WITHIN,
    in_use_file: Path = in_use_options.IN_USE_FILE,
) -> None:
    """One page on the registry: storage and its monthly cost, what each current lifecycle policy
    expires or archives at ECR's next evaluation, images by age, scan coverage and findings of
    each newest image, and each repository's status against ecr.yaml or the stack. With
    --in-use, --pulled-within, --in-use-file (or `in_use:` in --config's ecr.yaml), also the
    images in use and those of them the policy expires or archives: the outage risk.

    Reads only (DescribeRepositories, GetLifecyclePolicy, DescribeImages, and post-deploy's read
    against ecr.yaml or the stack; with images in use, the discovery's reads); never writes.
    Exit codes: 0 reported, 1 some repository could not be read (it is listed; the rest is
    reported), 2 bad input, no repository matched, or the images in use cannot be found.
    """
    from generator.aws import ecr as aws_ecr
    from generator.aws import report as aws_report
    from generator.aws.client import make_client, make_session, user_errors
    from generator.aws.in_use import DiscoveryError
    from generator.base.fileio import write_atomic
    from generator.cli.progress import PROGRESS_FROM, show_progress
    from generator.report import figures

    at = _check_flags(config, stack_name, repository, every, price_per_gb, archive_price_per_gb, now)
    at = time.time() if at is None else at
    fmt = output or (Output.html if out is not None else Output.markdown)
    wishes = configured = None
    if config:
        from generator.model import config as config_module
        from generator.reconcile import desired

        cfg = config_module.load(config)
        wishes, configured = desired.from_config(cfg), cfg.in_use
    sought = in_use_options.sources(in_use, pulled_within, in_use_file, configured)  # flags, else in_use:
    uses = in_use_options.file_uses(sought)  # a bad file costs no call
    aws = {"region": region or None, "profile": profile or None, "endpoint_url": endpoint_url or None}
    counter = aws_ecr.CallCounter()
    with user_errors(COMMAND):
        session = make_session(aws["profile"])
        if stack_name:
            from generator.aws.stack import read_stack
            from generator.aws.stack_names import expand
            from generator.reconcile import desired

            cfn = make_client("cloudformation", session=session, **aws)
            counter.attach(cfn)
            wishes = desired.merge(settings for settings, _ in (read_stack(cfn, name)
                                                                for name in expand(cfn, stack_name)))
        ecr = make_client("ecr", pool_size=concurrency, session=session, **aws)
        counter.attach(ecr)
        search = None
        if sought:
            clients = {service: counter.attach(make_client(service, session=session, **aws))
                       for service in sought.services}
            search = aws_report.InUseSearch(sought, clients, uses, at)
        with show_progress(PROGRESS_FROM) as start:
            try:
                reading = aws_report.read(
                    ecr, wishes=wishes, names=list(dict.fromkeys(repository)) if repository else None,
                    concurrency=concurrency, in_use=search,
                    progress=lambda what, total: start(what, total) if total >= PROGRESS_FROM else None)
            except DiscoveryError as exc:
                raise InputError(COMMAND, f"cannot find the images in use: {exc}") from None
    scope = _scope(config, stack_name, repository, ecr.meta.region_name)
    unreadable = {**reading.unreadable, **{name: "repository not found in this account and region"
                                           for name in reading.missing}}
    if not reading.repositories and not reading.unreadable:
        raise InputError(COMMAND, f"no repositories matched: {scope}")
    seen = None
    if sought:
        from generator.report.in_use import InUseSeen

        seen = InUseSeen(sought.describe(), reading.in_use.other_registries if reading.in_use else 0)
    prices = figures.Prices(price_per_gb, archive_price_per_gb)
    result = figures.build(reading.repositories, at, prices, scope, unreadable, counter.counts, seen)
    text = _render(result, fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
        typer.echo(f"wrote {out} ({fmt.value}): {_summary_line(result)}", err=True)
    raise typer.Exit(1 if result.unreadable else 0)


def _check_flags(config: Path | None, stack_name: list[str], repository: list[str], every: bool,
                 price_per_gb: float, archive_price_per_gb: float, now: str | None) -> float | None:
    """Every wrong flag at once, before anything is read; returns the --now time (epoch seconds)."""
    from generator.model.lifecycle import parse_timestamp

    problems = []
    at = None
    if sum(map(bool, (config, stack_name, repository, every))) != 1:
        problems.append(Problem("give exactly one of --config FILE, --stack-name NAME..., "
                                "--repository NAME..., --all"))
    for flag, price in (("--price-per-gb", price_per_gb), ("--archive-price-per-gb", archive_price_per_gb)):
        if not 0 <= price < math.inf:
            problems.append(Problem(f"must be a price of zero or more, got {price}", field=flag))
    if now is not None:
        try:
            at = parse_timestamp(now)
        except ValueError as exc:
            problems.append(Problem(str(exc), field="--now"))
    if problems:
        raise InputError(COMMAND, problems)
    return at


def _scope(config: Path | None, stack_name: list[str], repository: list[str], region: str) -> str:
    """What the report covers, in words: `ecr.yaml in us-east-1`."""
    if config:
        what = f"{config}"
    elif stack_name:
        what = f"stack {', '.join(stack_name)}"
    elif repository:
        what = ", ".join(dict.fromkeys(repository))
    else:
        what = "every repository"
    return f"{what} in {region}"


def _render(result: Report, fmt: Output) -> str:
    from generator.report import figures

    if fmt is Output.json:
        return json.dumps(figures.to_json(result), indent=2) + "\n"
    if fmt is Output.markdown:
        from generator.report import markdown

        return markdown.render(result)
    from generator.report import html

    return html.render_page(result)


def _summary_line(result: Report) -> str:
    from generator.base.wording import binary_size, plural
    from generator.report import units

    return (f"{plural(len(result.repositories), 'repository')}, {binary_size(result.total('bytes'))}, "
            f"{units.usd(result.total('monthly_cost'))} per month; policies free "
            f"{binary_size(result.total('freed.expiring_bytes'))}"
            + (f"; {_at_risk_phrase(result)}" if result.in_use else "")
            + (f"; {len(result.unreadable)} unreadable" if result.unreadable else ""))


def _at_risk_phrase(result: Report) -> str:
    """`in use: 9 images, 2 at risk` (expired or archived at ECR's next evaluation)."""
    from generator.base.wording import plural
    from generator.report import figures

    total = figures.in_use_total(result)
    return f"in use: {plural(total.images, 'image', thousands=True)}, {len(total.at_risk):,} at risk"
