"""`ecrgen post-deploy`: make live ECR match what the stack (or ecr.yaml) wants, writing only drift."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from generator.errors import InputError

PROGRESS_FROM = 50  # repositories: below this a run is too short for a progress bar


class Output(StrEnum):
    text = "text"
    json = "json"


def post_deploy(
    stack_name: list[str] = typer.Option([], "--stack-name", "-s", show_default=False, metavar="NAME",
                                         help="Deployed stack to enforce (repeatable)."),
    config: Path = typer.Option(None, "--config", "-c", metavar="FILE",
                                help="Enforce ecr.yaml instead of a stack."),
    system_name: str = typer.Option(None, "--system-name", metavar="NAME",
                                    help="With --config: the SystemName the stack was deployed with."),
    region: str = typer.Option(None, "--region", metavar="REGION", help="AWS region (default: AWS_REGION)."),
    profile: str = typer.Option(None, "--profile", metavar="PROFILE",
                                help="AWS profile (default: AWS_PROFILE)."),
    endpoint_url: str = typer.Option(None, "--endpoint-url", metavar="URL",
                                     help="Endpoint (default: AWS_ENDPOINT_URL[_ECR])."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    check: bool = typer.Option(False, "--check", help="Print the plan, write nothing; exit 1 on drift."),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text (a table) or json."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, metavar="N",
                                    help="Parallel API calls (1-64)."),
) -> None:
    """Reconcile live ECR with the desired tag mutability, scan on push, lifecycle and repository policy.

    A setting that a hand-written template gives through something ecrgen cannot resolve exactly
    (a NoEcho parameter, a dynamic reference, Fn::GetAtt) is reported unmanaged, with the reason.

    Exit codes: 0 in sync or fixed (or planned with --dry-run; unmanaged settings alone), 1 drift
    found with --check or a repository failed or is missing, 2 bad input (flags, config, stack,
    credentials, region, endpoint).
    """
    from generator import desired, diff, report
    from generator.aws import ecr as aws_ecr
    from generator.aws.client import make_client, user_errors

    if not stack_name and not config:
        raise InputError("post-deploy", "give --stack-name NAME (repeatable) or --config FILE")
    if stack_name and config:
        raise InputError("post-deploy", "give --stack-name NAME (repeatable) or --config FILE, not both")
    if system_name and not config:
        raise InputError("post-deploy", "--system-name only applies with --config")
    wishes = None
    if config:
        from generator import config as config_module

        wishes = desired.from_config(config_module.load(config), system_name)
    aws = {"region": region or None, "profile": profile or None, "endpoint_url": endpoint_url or None}
    counter = aws_ecr.CallCounter()
    with user_errors("post-deploy"):
        ecr = make_client("ecr", pool_size=concurrency, **aws)
        counter.attach(ecr)
        if wishes is None:
            from generator.aws.stack import desired_from_stack

            cfn = make_client("cloudformation", **aws)
            counter.attach(cfn)
            wishes = desired.merge(desired_from_stack(cfn, name) for name in dict.fromkeys(stack_name))
        with _progress(len(wishes)) as progress:
            policy_wanted = {w.name for w in wishes if w.lifecycle_policy is not None}
            access_wanted = {w.name for w in wishes if w.repository_policy is not None}
            live = aws_ecr.read(ecr, [w.name for w in wishes], policy_wanted, concurrency,
                                progress("reading policies", len(policy_wanted) + len(access_wanted)),
                                repository_policy_wanted=access_wanted)
            plan = diff.plan(wishes, live)
            results = None
            if not (dry_run or check):
                results = aws_ecr.apply(ecr, plan.changes, concurrency,
                                        progress("writing changes", len(plan.changes)))
    result = report.build(plan, results, counter.counts)
    if output is Output.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        report.render_text(result, sys.stdout)
    raise typer.Exit(report.exit_code(result, check))


@contextmanager
def _progress(repositories: int) -> Iterator[Callable[[str, int], Callable[[int], None] | None]]:
    """Progress on stderr for long runs: a bar at a terminal, one line per phase in a pipeline log.

    `start(what, total)` begins a phase and gives its callback.
    """
    if repositories < PROGRESS_FROM:
        yield lambda what, total: None
        return
    if not sys.stderr.isatty():
        def announce(what: str, total: int) -> None:
            if total:
                print(f"{what}: {total}", file=sys.stderr, flush=True)

        yield announce
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        def start(what: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(what, total=total)
            return lambda n: bar.advance(task, n)

        yield start
