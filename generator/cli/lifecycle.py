"""`ecrgen lifecycle preview|validate`: what a lifecycle policy deletes, before it deletes it."""

from __future__ import annotations

import gc
import json
import math
import sys
import time
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from generator.base.errors import InputError, Problem
from generator.base.wording import plural

if TYPE_CHECKING:
    from generator.model.lifecycle import Evaluation, Image, Policy, Rule

app = typer.Typer(help="Preview and validate lifecycle policies.", no_args_is_help=True)
COMMAND = "lifecycle preview"


class Output(StrEnum):
    text = "text"
    json = "json"


@app.command()
def preview(
    policy: Path = typer.Option(None, "--policy", metavar="FILE",
                                help="A raw AWS lifecycle policy JSON file."),
    config: Path = typer.Option(None, "--config", "-c", metavar="FILE",
                                help="An ecr.yaml; preview the policy of --repository."),
    repository: str = typer.Option(None, "--repository", "-r", metavar="NAME",
                                   help="The repository: its name in ecr.yaml or in ECR."),
    images: str = typer.Option(None, "--images", "-i", metavar="FILE",
                               help="`aws ecr describe-images` JSON output; '-' reads stdin."),
    live: bool = typer.Option(False, "--live", help="Read the repository's images (and, without --policy "
                              "or --config, its current policy) from ECR."),
    now: str = typer.Option(None, "--now", metavar="TIME", help="Evaluate at this ISO 8601 time.",
                            show_default="the current time"),
    price_per_gb: float = typer.Option(0.10, "--price-per-gb", metavar="USD",
                                       help="Storage price in USD per GB-month."),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text for people, json for scripts."),
    region: str = typer.Option(None, "--region", metavar="REGION", help="AWS region for --live."),
    profile: str = typer.Option(None, "--profile", metavar="PROFILE", help="AWS profile for --live."),
    endpoint_url: str = typer.Option(None, "--endpoint-url", metavar="URL", help="ECR endpoint for --live."),
) -> None:
    """Show which images a policy expires or archives, by which rule, and what that saves.

    The policy comes from --policy, from --config with --repository, or (with --live) from the
    repository itself; the images from --images or --live. Exit codes: 0 done, 2 bad input.
    """
    from generator.model.lifecycle import evaluate, parse_timestamp

    # A short-lived run over up to 10**5 acyclic records: the cycle collector would only rescan
    # them again and again (it doubles the run time at that size).
    gc.disable()
    _check_flags(policy, config, repository, images, live, price_per_gb)
    try:
        at = time.time() if now is None else parse_timestamp(now)
    except ValueError as exc:
        raise InputError(COMMAND, Problem(str(exc), field="--now")) from None
    ecr = None
    if live:
        from generator.aws.client import make_client

        ecr = make_client("ecr", region=region, profile=profile, endpoint_url=endpoint_url)
    chosen, name = _policy(policy, config, repository, ecr)
    found = _images(images, ecr, name)
    result = evaluate(chosen, found, at)
    if output is Output.json:
        typer.echo(json.dumps(result.to_preview(price_per_gb), indent=2))
    else:
        typer.echo(_render(chosen, result, len(found), at, price_per_gb))


@app.command()
def validate(files: list[Path] = typer.Argument(..., metavar="FILE", hidden=True)) -> None:
    """Check raw AWS lifecycle policy JSON files (each FILE) against every constraint ECR documents.

    The verdicts go to stdout: `FILE: valid (N rules)`, or one line per problem naming the file,
    line, rule priority and field. A file that cannot be read or is not JSON goes to stderr.
    Exit codes: 0 all valid, 1 a policy is invalid, 2 a file cannot be read.
    """
    from generator.model.lifecycle.reading import read_file

    invalid = unreadable = False
    for path in files:
        try:
            policy, problems = read_file(path)
        except InputError as exc:
            typer.echo(exc.render(), err=True)
            unreadable = True
            continue
        for problem in problems:
            typer.echo(problem.render(str(path)))
        if policy is None:
            invalid = True
        else:
            typer.echo(f"{path}: valid ({plural(len(policy.rules), 'rule')})")
    raise typer.Exit(2 if unreadable else 1 if invalid else 0)


def _check_flags(policy: Path | None, config: Path | None, repository: str | None, images: str | None,
                 live: bool, price_per_gb: float) -> None:
    """Every wrong combination of flags at once, before anything is read."""
    problems = []
    if policy is not None and config is not None:
        problems.append(Problem("give --policy or --config, not both", field="--policy"))
    if config is not None and not repository:
        problems.append(Problem("--config needs --repository NAME to pick the policy", field="--repository"))
    if policy is None and config is None and not live:
        problems.append(Problem("give the policy: --policy FILE, --config ecr.yaml --repository NAME, "
                                "or --live --repository NAME for the repository's own", field="--policy"))
    if (images is None) == (not live):
        problems.append(Problem("give the images: either --images FILE (or - for stdin) or --live",
                                field="--images"))
    if live and not repository:
        problems.append(Problem("--live needs --repository NAME", field="--repository"))
    if not 0 <= price_per_gb < math.inf:
        problems.append(Problem(f"must be a price of zero or more, got {price_per_gb}",
                                field="--price-per-gb"))
    if problems:
        raise InputError(COMMAND, problems)


def _policy(policy: Path | None, config: Path | None, repository: str | None,
            ecr: Any) -> tuple[Policy, str | None]:
    """The policy to preview and the repository's name in ECR (when known)."""
    from generator.model.lifecycle import PolicyError, parse_text
    from generator.model.lifecycle.reading import load_file

    if policy is not None:
        return load_file(policy), repository
    if config is not None:
        from generator.model import config as config_module

        cfg = config_module.load(config)
        for repo in cfg.repositories:
            physical = repo.physical_name(cfg.system_name)
            if repository in (repo.name, physical):
                if repo.policy is None:
                    raise InputError(str(config), Problem(f"{repo.name!r} has no lifecycle policy",
                                                          field="repositories"))
                return repo.policy, physical
        names = ", ".join(repo.name for repo in cfg.repositories)
        raise InputError(str(config), Problem(f"no repository {repository!r}; known: {names}",
                                              field="repositories"))
    from generator.aws.images import current_policy_text

    try:
        return parse_text(current_policy_text(ecr, repository)), repository
    except PolicyError as exc:
        raise InputError(f"{repository} (live policy)", [Problem(p.message, field=p.where())
                                                         for p in exc.problems]) from None


def _images(images: str | None, ecr: Any, repository: str | None) -> list[Image]:
    from generator.model.lifecycle import load_images, parse_images

    if images == "-":
        return load_images(sys.stdin.read(), "<stdin>")
    if images is not None:
        from generator.base.source import read_text

        return load_images(read_text(images), images)
    from generator.aws.images import describe_images

    return parse_images(describe_images(ecr, repository), f"{repository} (live images)")


# --- text rendering -------------------------------------------------------------------------

def _render(policy: Policy, result: Evaluation, total: int, now: float, price_per_gb: float) -> str:
    from generator.model.lifecycle.images import format_timestamp

    lines = [f"{plural(total, 'image')} evaluated at {format_timestamp(now)} against "
             f"{plural(len(policy.rules), 'rule')}", ""]
    by_rule: dict[int, list[Image]] = {rule.priority: [] for rule in policy.rules}
    for decision in result.decisions:
        by_rule[decision.rule.priority].append(decision.image)
    for rule in policy.by_priority():
        acted = by_rule[rule.priority]
        verb = "archives" if rule.action == "transition" else "expires"
        size = _size(sum(image.size for image in acted))
        lines.append(f"rule {rule.priority} ({_describe(rule)}): {verb} {_count(acted)}, {size}")
        lines += [_image_line(image, now) for image in acted]
    kept_size = _size(sum(image.size for image in result.kept))
    lines += ["", f"kept: {_count(result.kept)}, {kept_size}"]
    lines += [_image_line(image, now) for image in result.kept]
    freed = result.bytes_freed
    saving = result.monthly_saving(price_per_gb)
    lines += ["", f"freed: {_size(freed)} ({plural(freed, 'byte', thousands=True)}), saving "
              f"{saving:.2f} USD per month at {price_per_gb:.2f} USD per GB-month"]
    archived = [d.image for d in result.decisions if d.rule.action == "transition"]
    if archived:
        lines.append(f"archived: {_count(archived)}, {_size(sum(i.size for i in archived))} moved to "
                     "archive storage (still billed, at the archive price; not in the saving)")
    return "\n".join(lines)


def _describe(rule: Rule) -> str:
    """The rule's own description, or one made from its selection."""
    from generator.model.lifecycle.policy import TIME_COUNT_TYPES

    if rule.description:
        return rule.description
    if rule.tag_status == "tagged":
        what = "tags " + " and ".join([p + "*" for p in rule.tag_prefixes] or rule.tag_patterns)
    else:
        what = {"any": "all images", "untagged": "untagged images"}[rule.tag_status]
    count = {"imageCountMoreThan": "keep the newest {}", "sinceImagePushed": "pushed over {} ago",
             "sinceImagePulled": "not pulled for {}",
             "sinceImageTransitioned": "archived over {} ago"}[rule.count_type]
    days = rule.count_type in TIME_COUNT_TYPES
    number = plural(rule.count_number, "day") if days else str(rule.count_number)
    return f"{what}, {count.format(number)}"


def _count(images: Sequence[Image]) -> str:
    return plural(len(images), "image")


def _image_line(image: Image, now: float) -> str:
    tags = ", ".join(image.tags) or "<untagged>"
    age = (now - image.pushed_at) / 86_400
    return f"  {image.digest[:19]:<19}  {tags:<30}  {age:>7.1f} days  {_size(image.size):>10}"


def _size(size: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    step = 0
    while size >= 1024 and step < len(units) - 1:
        size, step = size / 1024, step + 1
    return f"{size:.0f} B" if step == 0 else f"{size:.1f} {units[step]}"
