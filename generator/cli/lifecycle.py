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
from generator.base.wording import binary_size, plural
from generator.cli import in_use_options

if TYPE_CHECKING:
    from generator.aws.in_use import InUse
    from generator.model.in_use import Sources
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
    in_use: str = in_use_options.IN_USE,
    pulled_within: int = in_use_options.PULLED_WITHIN,
    in_use_file: Path = in_use_options.IN_USE_FILE,
    fail_on_in_use: bool = typer.Option(False, "--fail-on-in-use",
                                        help="Exit 1 when the policy expires or archives an image in use."),
) -> None:
    """Show which images a policy expires or archives, by which rule, and what that saves.

    The policy comes from --policy, from --config with --repository, or (with --live) from the
    repository itself; the images from --images or --live. With --live, --in-use (or `in_use:`
    in --config's ecr.yaml), --pulled-within and --in-use-file mark the images in use.
    Exit codes: 0 done, 1 an image in use is expired or archived and --fail-on-in-use, 2 bad input.
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
    flagged = in_use_options.sources(in_use, pulled_within, in_use_file)
    if flagged and not live:
        raise InputError(COMMAND, Problem("finding images in use needs --live", field="--in-use"))
    aws = {"region": region, "endpoint_url": endpoint_url}
    ecr = session = None
    if live:
        from generator.aws.client import make_client, make_session

        session = make_session(profile)
        ecr = make_client("ecr", session=session, **aws)
    chosen, name, configured = _policy(policy, config, repository, ecr)
    sought = flagged or (configured if live and configured else flagged)  # the flags, else in_use:
    if fail_on_in_use and not sought:
        raise InputError(COMMAND, Problem("needs a source of images in use: --in-use ecs,lambda, "
                                          "--pulled-within DAYS, --in-use-file FILE or in_use: in ecr.yaml",
                                          field="--fail-on-in-use"))
    uses = in_use_options.file_uses(sought)
    found, account = _images(images, ecr, name)
    marks = None
    if sought and name is not None:
        from generator.aws.client import make_client

        marks = _in_use(ecr, lambda service: make_client(service, session=session, **aws), account, name,
                        found, sought, uses, at)
    evaluated = _shielded(chosen, found, marks)
    result = evaluate(chosen, evaluated, at)
    if output is Output.json:
        typer.echo(json.dumps(_json(result, price_per_gb, chosen, evaluated, marks), indent=2))
    else:
        typer.echo(_render(chosen, result, len(found), at, price_per_gb, marks))
    if fail_on_in_use and marks is not None and _victims(result, marks):
        raise typer.Exit(1)


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
            ecr: Any) -> tuple[Policy, str | None, Sources | None]:
    """The policy to preview, the repository's name in ECR (when known) and the config's in-use
    sources (`in_use:`, None without one)."""
    from generator.model.lifecycle import PolicyError, parse_text
    from generator.model.lifecycle.reading import load_file

    if policy is not None:
        return load_file(policy), repository, None
    if config is not None:
        from generator.model import config as config_module

        cfg = config_module.load(config)
        for repo in cfg.repositories:
            physical = repo.physical_name(cfg.system_name)
            if repository in (repo.name, physical):
                if repo.policy is None:
                    raise InputError(str(config), Problem(f"{repo.name!r} has no lifecycle policy",
                                                          field="repositories"))
                return repo.policy, physical, cfg.in_use
        names = ", ".join(repo.name for repo in cfg.repositories)
        raise InputError(str(config), Problem(f"no repository {repository!r}; known: {names}",
                                              field="repositories"))
    from generator.aws.images import current_policy_text

    try:
        return parse_text(current_policy_text(ecr, repository)), repository, None
    except PolicyError as exc:
        raise InputError(f"{repository} (live policy)", [Problem(p.message, field=p.where())
                                                         for p in exc.problems]) from None


def _images(images: str | None, ecr: Any, repository: str | None) -> tuple[list[Image], str | None]:
    """The images, and the account whose registry holds them (live images only)."""
    from generator.model.lifecycle import load_images, parse_images

    if images == "-":
        return load_images(sys.stdin.read(), "<stdin>"), None
    if images is not None:
        from generator.base.source import read_text

        return load_images(read_text(images), images), None
    from generator.aws.images import describe_images

    details = describe_images(ecr, repository)
    account = next((d["registryId"] for d in details if d.get("registryId")), None)
    return parse_images(details, f"{repository} (live images)"), account


# --- images in use --------------------------------------------------------------------------

def _in_use(ecr: Any, make_client: Any, account: str | None, repository: str, found: list[Image],
            sought: Sources, uses: Any, now: float) -> InUse:
    """The repository's images in use. A repository without images needs no discovery."""
    from generator.aws.client import user_errors
    from generator.aws.in_use import DiscoveryError, InUse, images_in_use
    from generator.model.in_use import Registry, Resolved

    if account is None:
        return InUse({repository: Resolved({})}, 0, sought)
    with user_errors("find images in use"):
        clients = {service: make_client(service) for service in sought.services}
        try:
            return images_in_use(ecr, clients, Registry(account, ecr.meta.region_name), [repository], sought,
                                 file_uses=uses, images={repository: found}, now=now)
        except DiscoveryError as exc:
            raise InputError(COMMAND, f"cannot find the images in use: {exc}") from None


def _shielded(policy: Policy, found: list[Image], marks: InUse | None) -> list[Image]:
    """With the in-use shield rule and the images in use known, the images as post-deploy will
    leave them: shield tags on exactly the images in use (never removing a last tag)."""
    from generator.model import protection

    if marks is None or not protection.is_protected(policy):
        return found
    (resolved,) = marks.repositories.values()
    return protection.shielded(found, protection.plan(found, resolved.users))


def _users(marks: InUse) -> dict[str, tuple[str, ...]]:
    (resolved,) = marks.repositories.values()
    return dict(resolved.users)


def _victims(result: Evaluation, marks: InUse) -> list[Any]:
    users = _users(marks)
    return [d for d in result.decisions if d.image.digest in users]


def _json(result: Evaluation, price_per_gb: float, policy: Policy, evaluated: list[Image],
          marks: InUse | None) -> dict[str, Any]:
    """ECR's preview shape, plus (with discovery) each result's `inUse` users, the count of
    images in use that the policy acts on, what discovery saw, and the images the shield keeps."""
    report = result.to_preview(price_per_gb)
    if marks is None:
        return report
    users = _users(marks)
    for entry in report["previewResults"]:  # type: ignore[attr-defined]
        entry["inUse"] = list(users.get(entry["imageDigest"], ()))
    report["summary"]["inUseImageTotalCount"] = len(_victims(result, marks))  # type: ignore[index]
    (resolved,) = marks.repositories.values()
    report["inUse"] = {"sources": marks.sources.describe(), "imagesInUse": len(users),
                       "otherRegistries": marks.other_registries,
                       "unknownReferences": [{"reference": str(use.reference), "user": use.user}
                                             for use in resolved.unknown]}
    shield = _shield_rule(policy)
    if shield is not None:
        report["shielded"] = [{"imageDigest": image.digest, "imageTags": list(image.tags),
                               "appliedRulePriority": shield.priority,
                               "inUse": list(users.get(image.digest, ()))}
                              for image in _kept_by_shield(evaluated)]
    return report


def _shield_rule(policy: Policy) -> Rule | None:
    from generator.model import protection

    return next((rule for rule in policy.rules if protection.is_shield_rule(rule)), None)


def _kept_by_shield(images: list[Image]) -> list[Image]:
    from generator.model.lifecycle.images import ACTIVE
    from generator.model.protection import is_shield_tag

    return [image for image in images if image.status == ACTIVE and any(map(is_shield_tag, image.tags))]


# --- text rendering -------------------------------------------------------------------------

def _render(policy: Policy, result: Evaluation, total: int, now: float, price_per_gb: float,
            marks: InUse | None = None) -> str:
    from generator.model.lifecycle.images import format_timestamp

    users = _users(marks) if marks is not None else {}

    lines = [f"{plural(total, 'image')} evaluated at {format_timestamp(now)} against "
             f"{plural(len(policy.rules), 'rule')}", ""]
    by_rule: dict[int, list[Image]] = {rule.priority: [] for rule in policy.rules}
    for decision in result.decisions:
        by_rule[decision.rule.priority].append(decision.image)
    shield = _shield_rule(policy)
    for rule in policy.by_priority():
        if rule is shield:
            guarded = _kept_by_shield(list(result.kept))
            lines.append(f"rule {rule.priority} ({_describe(rule)}): keeps {_count(guarded)} (shield tags)")
            lines += [_image_line(image, now, users) for image in guarded]
            continue
        acted = by_rule[rule.priority]
        verb = "archives" if rule.action == "transition" else "expires"
        size = binary_size(sum(image.size for image in acted))
        lines.append(f"rule {rule.priority} ({_describe(rule)}): {verb} {_count(acted)}, {size}")
        lines += [_image_line(image, now, users) for image in acted]
    kept_size = binary_size(sum(image.size for image in result.kept))
    lines += ["", f"kept: {_count(result.kept)}, {kept_size}"]
    lines += [_image_line(image, now, users) for image in result.kept]
    freed = result.bytes_freed
    saving = result.monthly_saving(price_per_gb)
    lines += ["", f"freed: {binary_size(freed)} ({plural(freed, 'byte', thousands=True)}), saving "
              f"{saving:.2f} USD per month at {price_per_gb:.2f} USD per GB-month"]
    archived = [d.image for d in result.decisions if d.rule.action == "transition"]
    if archived:
        lines.append(f"archived: {_count(archived)}, {binary_size(sum(i.size for i in archived))} moved to "
                     "archive storage (still billed, at the archive price; not in the saving)")
    if marks is not None:
        lines.append(_in_use_line(result, marks))
    return "\n".join(lines)


def _in_use_line(result: Evaluation, marks: InUse) -> str:
    """What the policy does to the images in use, and what discovery looked at."""
    users = _users(marks)
    victims = _victims(result, marks)
    (resolved,) = marks.repositories.values()
    seen = (f"{plural(len(users), 'image')} of this repository in use ({marks.sources.describe()}); "
            f"{plural(marks.other_registries, 'reference')} to other registries ignored")
    if resolved.unknown:
        gone = ", ".join(f"{use.reference} ({use.user})" for use in resolved.unknown[:5])
        seen += f"; {plural(len(resolved.unknown), 'reference')} to no image of it: {gone}"
    if not victims:
        return f"in use: no image in use is expired or archived; {seen}"
    verb = "expires or archives" if any(d.rule.action == "transition" for d in victims) else "expires"
    return f"IN USE: the policy {verb} {plural(len(victims), 'image')} in use; {seen}"


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


def _image_line(image: Image, now: float, users: dict[str, tuple[str, ...]] | None = None) -> str:
    """One image; its shield tag is shown as `(shielded)`, its users after `in use by`."""
    from generator.model.protection import is_shield_tag

    own = [tag for tag in image.tags if not is_shield_tag(tag)]
    tags = ", ".join(own) or "<untagged>"
    if len(own) < len(image.tags):
        tags += " (shielded)"
    age = (now - image.pushed_at) / 86_400
    line = f"  {image.digest[:19]:<19}  {tags:<30}  {age:>7.1f} days  {binary_size(image.size):>10}"
    found = (users or {}).get(image.digest)
    return f"{line}  in use by {', '.join(found)}" if found else line

