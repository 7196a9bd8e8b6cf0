"""`ecrgen post-deploy`: make live ECR match what the stack (or ecr.yaml) wants, writing only drift."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from generator.base.errors import InputError
from generator.cli import aws_options, in_use_options
from generator.cli.progress import show_progress
from generator.model.roles import DEFAULT_EXECUTION_ROLE


class Output(StrEnum):
    text = "text"
    json = "json"


def post_deploy(
    stack_name: list[str] = typer.Option([], "--stack-name", "-s", show_default=False, metavar="NAME",
                                         help="Deployed stack to enforce (repeatable; a glob such as "
                                              "'myapp-ecr-*' means every live stack it matches)."),
    config: Path = typer.Option(None, "--config", "-c", metavar="FILE",
                                help="Enforce ecr.yaml instead of a stack (with `targets:`, its StackSet)."),
    stack_set: list[str] = typer.Option([], "--stack-set", show_default=False, metavar="NAME",
                                        help="Enforce every stack instance of this StackSet (repeatable)."),
    accounts: list[str] = typer.Option([], "--accounts", show_default=False, metavar="ID[,ID...]",
                                       help="With --stack-set: only these accounts."),
    regions: list[str] = typer.Option([], "--regions", show_default=False, metavar="REGION[,REGION...]",
                                      help="With --stack-set: only these regions."),
    execution_role: str = typer.Option(None, "--execution-role", metavar="ROLE",
                                       help="With --stack-set: the role to assume in each account "
                                            f"(default: {DEFAULT_EXECUTION_ROLE})."),
    system_name: str = typer.Option(None, "--system-name", metavar="NAME",
                                    help="With --config: the SystemName the stack was deployed with."),
    region: str = aws_options.REGION,
    profile: str = aws_options.PROFILE,
    endpoint_url: str = aws_options.ENDPOINT_URL,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    check: bool = typer.Option(False, "--check", help="Print the plan, write nothing; exit 1 on drift."),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text (a table) or json."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, metavar="N",
                                    help="Parallel API calls (1-64)."),
    in_use: str = in_use_options.IN_USE,
    pulled_within: int = in_use_options.PULLED_WITHIN,
    in_use_file: Path = in_use_options.IN_USE_FILE,
    allow_expiring_in_use: bool = typer.Option(False, "--allow-expiring-in-use",
                                               help="Write a lifecycle policy that expires images in use."),
) -> None:
    """Reconcile live ECR with the desired tag mutability, scan on push, lifecycle and repository policy.

    A setting that a hand-written template gives through something ecrgen cannot resolve exactly
    (a NoEcho parameter, a dynamic reference, Fn::GetAtt) is reported unmanaged, with the reason.
    With `registry:` in ecr.yaml (or the stack's Metadata), also merges this config's part of the
    registry's scanning, replication and policy documents, leaving every other team's part alone.

    With --in-use, --pulled-within, --in-use-file (or `in_use:` in ecr.yaml), a lifecycle policy
    that would expire or archive an image in use is not written, and a policy in sync that will
    is reported at-risk; repositories with protect_in_use get shield tags on their images in use.

    Exit codes: 0 in sync or fixed (or planned with --dry-run; unmanaged settings alone), 1 drift
    found with --check, a repository or registry document failed, a repository is missing, at risk
    or not scanned on push as wanted, 2 bad input (flags, config, stack, credentials, region, endpoint).
    """
    from generator.aws import ecr as aws_ecr
    from generator.aws import implicit as aws_implicit
    from generator.aws import post_deploy as aws_post_deploy
    from generator.aws.client import make_client, make_session, user_errors
    from generator.model import implicit, registry
    from generator.reconcile import desired, report
    from generator.reconcile.in_use import require_discovery

    if not stack_name and not config and not stack_set:
        raise InputError("post-deploy", "give --stack-name NAME (repeatable) or --config FILE "
                         "(or --stack-set NAME)")
    if stack_name and (config or stack_set):
        raise InputError("post-deploy", "give --stack-name NAME (repeatable) or --config FILE, not both "
                         "(or --stack-set NAME)")
    if system_name and not config:
        raise InputError("post-deploy", "--system-name only applies with --config")
    aws = {"region": region or None, "profile": profile or None, "endpoint_url": endpoint_url or None}
    wishes = None
    targets = None
    parts: list[registry.Part] = []
    sought = in_use_options.sources(in_use, pulled_within, in_use_file)
    created = implicit.Implicit()  # pull-through cache rules and creation templates
    if config:
        from generator.model import config as config_module

        cfg = config_module.load(config)
        targets = cfg.targets
        if targets is None and stack_set:
            raise InputError(str(config), "--stack-set with --config needs a targets: section in the config")
        wishes = desired.from_config(cfg, system_name)
        sought = in_use_options.sources(in_use, pulled_within, in_use_file, cfg.in_use)
        system = system_name or cfg.system_name
        if cfg.registry is not None and cfg.registry.via == "post-deploy":
            parts.append(registry.resolve(cfg.registry, cfg.name_pattern, system, source="--system-name",
                                          ownership=cfg.owner))
        created = cfg.implicit.for_system(system, implicit.owner_part(cfg.name_pattern, system, cfg.owner))
    if allow_expiring_in_use and not sought:
        raise InputError("--allow-expiring-in-use", "only applies with in-use discovery: --in-use, "
                         "--pulled-within, --in-use-file or in_use: in ecr.yaml")
    guard = in_use_options.guard_request(sought, allow_expiring_in_use)
    if stack_set or targets is not None:
        from generator.cli import post_deploy_fleet

        raise typer.Exit(post_deploy_fleet.run(
            stack_set, _split(accounts), _split(regions), execution_role, aws, concurrency,
            write=not (dry_run or check), check=check, as_json=output is Output.json, targets=targets,
            guard=guard))
    if accounts or regions or execution_role:
        raise InputError("post-deploy", "--accounts, --regions and --execution-role only apply with "
                         "--stack-set or a config with targets")
    counter = aws_ecr.CallCounter()
    with user_errors("post-deploy"):
        session = make_session(aws["profile"])  # one for both clients: each session reads every model
        ecr = make_client("ecr", pool_size=concurrency, session=session, **aws)
        counter.attach(ecr)
        if wishes is None:
            from generator.aws.stack import read_whole_stack
            from generator.aws.stack_names import expand

            cfn = make_client("cloudformation", session=session, **aws)
            counter.attach(cfn)
            stacks = [read_whole_stack(cfn, name) for name in expand(cfn, stack_name)]
            wishes = desired.merge(settings for settings, _, _ in stacks)
            parts = registry.distinct([part for _, part, _ in stacks if part is not None])
            created = implicit.merged([found for _, _, found in stacks])
        aws_implicit.wanted_settings(parts)  # bad input before any write
        require_discovery(wishes, guard is not None)
        start_guard = None
        if guard is not None:
            clients = {service: counter.attach(make_client(service, session=session, **aws))
                       for service in sought.services}
            start_guard = guard.starter(ecr, clients, wishes, write=not (dry_run or check),
                                        concurrency=concurrency)
        with show_progress(len(wishes)) as progress:
            result = aws_post_deploy.reconcile(ecr, wishes, parts, concurrency, not (dry_run or check),
                                               counter.counts, progress, start_guard, created)
    if output is Output.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        report.render_text(result, sys.stdout)
    raise typer.Exit(report.exit_code(result, check))


def _split(values: list[str]) -> list[str]:
    """`--accounts a,b --accounts c` -> [a, b, c]."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
