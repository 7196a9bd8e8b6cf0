"""`ecrgen findings`: ECR's scan findings of the image about to ship, as a pipeline gate."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from generator.base.errors import InputError
from generator.cli import aws_options

COMMAND = "findings"


class Output(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"


def findings(
    stack_name: list[str] = typer.Option([], "--stack-name", "-s", show_default=False, metavar="NAME",
                                         help="Deployed stack whose repositories to check (repeatable)."),
    config: Path = typer.Option(None, "--config", "-c", metavar="FILE",
                                help="Check the repositories of this ecr.yaml."),
    repository: list[str] = typer.Option([], "--repository", "-r", show_default=False, metavar="NAME",
                                         help="Repository name in ECR (repeatable)."),
    tag: str = typer.Option(None, "--tag", metavar="TAG",
                            help="The image with this tag (default: the latest push)."),
    digest: str = typer.Option(None, "--digest", metavar="DIGEST", help="The image with this digest."),
    fail_on: Severity = typer.Option(None, "--fail-on", metavar="SEVERITY", case_sensitive=False,
                                     help="Exit 1 on a finding at or above this severity "
                                          "(CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL), or on a missing, "
                                          "failed or unfinished scan."),
    wait: float = typer.Option(0, "--wait", min=0, metavar="SECONDS",
                               help="Wait up to this long for a scan still in progress."),
    ignore: Path = typer.Option(None, "--ignore", metavar="FILE",
                                help="YAML list of accepted findings, each with a reason (ecrgen's or "
                                     "trivy's .trivyignore.yaml words)."),
    vex: list[Path] = typer.Option([], "--vex", show_default=False, metavar="FILE",
                                   help="OpenVEX document (repeatable): not_affected and fixed statements "
                                        "suppress the vulnerability where they say."),
    ignore_unfixed: bool = typer.Option(False, "--ignore-unfixed",
                                        help="Suppress findings that no version fixes yet (Inspector's "
                                             "fixAvailable NO)."),
    exploitable_only: bool = typer.Option(False, "--exploitable-only",
                                          help="Suppress findings with no known exploit (Inspector's "
                                               "exploitAvailable NO): gate on exploitable ones only."),
    show_suppressed: bool = typer.Option(False, "--show-suppressed",
                                         help="List suppressed findings in the text output too (JSON and "
                                              "SARIF always carry them, marked)."),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text, json or sarif."),
    region: str = aws_options.REGION,
    profile: str = aws_options.PROFILE,
    endpoint_url: str = aws_options.ENDPOINT_URL,
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, metavar="N",
                                    help="Repositories read in parallel (1-64)."),
) -> None:
    """Scan findings of the latest (or given) image of each repository; a gate for pipelines.

    Exit codes: 0 nothing at or above --fail-on (or no --fail-on) that is not suppressed, 1
    something is, or a scan is missing, failed or still running after --wait; 2 bad input.
    """
    from generator.aws import ecr as aws_ecr
    from generator.aws import findings as aws_findings
    from generator.aws.client import make_client, make_session, user_errors
    from generator.findings import gate as core
    from generator.findings import ignore as ignore_file
    from generator.findings import suppress
    from generator.findings import vex as vex_file

    if sum(map(bool, (stack_name, config, repository))) != 1:
        raise InputError(COMMAND, "give exactly one of --stack-name NAME..., --config FILE, "
                                  "--repository NAME...")
    if tag and digest:
        raise InputError(COMMAND, "give --tag or --digest, not both")
    options = suppress.Options(rules=ignore_file.load(ignore) if ignore else [],
                               vex=[statement for path in vex for statement in vex_file.load(path)],
                               ignore_unfixed=ignore_unfixed, exploitable_only=exploitable_only)
    names = list(dict.fromkeys(repository))
    if config:
        from generator.model import config as config_module
        from generator.reconcile import desired

        names = [wish.name for wish in desired.from_config(config_module.load(config))]
    aws = {"region": region or None, "profile": profile or None, "endpoint_url": endpoint_url or None}
    counter = aws_ecr.CallCounter()
    with user_errors(COMMAND):
        session = make_session(aws["profile"])  # one for both clients: each session reads every model
        if stack_name:
            from generator.aws.stack import desired_from_stack

            cfn = make_client("cloudformation", session=session, **aws)
            counter.attach(cfn)
            names = list(dict.fromkeys(wish.name for stack in dict.fromkeys(stack_name)
                                       for wish in desired_from_stack(cfn, stack)))
        ecr = make_client("ecr", pool_size=concurrency, session=session, **aws)
        counter.attach(ecr)
        images = aws_findings.read(ecr, names, tag=tag, digest=digest, wait=wait, concurrency=concurrency)
    images, warnings = suppress.apply(images, options, dt.datetime.now(dt.UTC).date())
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    threshold = fail_on.value if fail_on else None
    if output is Output.json:
        sys.stdout.write(json.dumps(core.build(images, threshold, counter.counts), indent=2) + "\n")
    elif output is Output.sarif:
        from generator.findings import sarif

        log, warnings = sarif.render(images)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        sys.stdout.write(json.dumps(log, indent=2) + "\n")
    else:
        core.render_text(images, threshold, sys.stdout, show_suppressed=show_suppressed)
    raise typer.Exit(core.exit_code(images, threshold))
