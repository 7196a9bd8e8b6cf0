"""Live reads for `ecrgen report`, read-only, with the fewest calls.

Per run: DescribeRepositories (in batches of 100 names, or every page of the registry for
`--all`), then per repository one GetLifecyclePolicy and every page of DescribeImages (1,000
images a page, archived ones included). Against ecr.yaml or a stack, the repositories and the
policies they want are read by post-deploy's own `reconcile(..., write=False)`, which also
gives each repository's status; a repository policy is read only where one is wanted, as
post-deploy does. Nothing is ever written. A repository that cannot be read is set aside with
the reason and the rest go on.

With in-use sources (`InUseSearch`), discovery (`aws.in_use.images_in_use`) runs while the
images are read, and resolves its references against those very images: DescribeImages is
never called twice for a repository.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from generator.aws import ecr as aws_ecr
from generator.aws.client import error_code, lifecycle_policy_text
from generator.aws.in_use import InUse, images_in_use
from generator.base.errors import InputError
from generator.model.in_use import Registry, Sources, Use
from generator.model.lifecycle import Image
from generator.reconcile import report as post_deploy_report
from generator.reconcile.desired import RepositorySettings
from generator.reconcile.diff import LiveRepository
from generator.report.figures import RepositoryReading, parse_images

PAGE_SIZE = 1000  # the most DescribeRepositories and DescribeImages return in one page
# post-deploy's status of a repository -> the report's; `missing` and `failed` are not read.
STATUS_OF = {"in-sync": "in-sync", "planned": "drifted", "unmanaged": "unmanaged"}
Phase = Callable[[str, int], "aws_ecr.Progress | None"]


@dataclass(frozen=True)
class InUseSearch:
    """Where to look for the images in use, and when."""

    sources: Sources
    clients: Mapping[str, Any]  # a client per service of `sources` (`ecs`, `lambda`)
    file_uses: Sequence[Use] = ()  # the in-use file's references, read before any call
    now: float | None = None  # the time `--pulled-within` counts back from


@dataclass
class Reading:
    """The repositories read, and the names that could not be (name -> reason)."""

    repositories: list[RepositoryReading] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    in_use: InUse | None = None  # what discovery found, when it was asked for


def read(ecr: Any, *, wishes: Sequence[RepositorySettings] | None = None, names: Sequence[str] | None = None,
         concurrency: int = 8, progress: Phase = lambda what, total: None,
         in_use: InUseSearch | None = None) -> Reading:
    """Against `wishes` (ecr.yaml or stacks), the repositories `names`, or (neither) every one;
    with `in_use`, each repository's images in use too. Raises `aws.in_use.DiscoveryError`
    when discovery fails."""
    reading = Reading()
    statuses: dict[str, str] = {}
    policies: dict[str, str | None] = {}
    if wishes is not None:
        live, plan, _ = aws_ecr.reconcile(ecr, wishes, concurrency, write=False, progress=progress)
        for entry in post_deploy_report.build(plan, None, {})["repositories"]:
            name, status = entry["repositoryName"], entry["status"]
            if status in STATUS_OF:
                statuses[name] = STATUS_OF[status]
            elif status == "missing":
                reading.missing.append(name)
            else:
                reading.unreadable[name] = entry.get("error") or "could not be read"
        policies = {w.name: live.repositories[w.name].lifecycle_text for w in wishes
                    if w.lifecycle_policy is not None and w.name in statuses}
        found = live.repositories
    elif names is not None:
        live = aws_ecr.read(ecr, names, set(names), concurrency, progress("reading policies", len(names)))
        reading.missing += sorted(live.missing)
        reading.unreadable.update(live.errors)
        found = live.repositories
        policies = {name: repo.lifecycle_text for name, repo in found.items()}
        statuses = dict.fromkeys(found, "unmanaged")
    else:
        found = _every_repository(ecr)
        statuses = dict.fromkeys(found, "unmanaged")
    found = {name: repo for name, repo in found.items() if name in statuses}
    if in_use is None or not found:
        _read_found(ecr, found, statuses, policies, reading, concurrency, progress)
        return reading

    def images() -> dict[str, Sequence[Image]]:
        """Every readable repository's images, read while discovery runs and parsed here once,
        for the references to resolve and for the figures."""
        _read_found(ecr, found, statuses, policies, reading, concurrency, progress)
        reading.repositories = [_parsed(repository) for repository in reading.repositories]
        return {r.name: r.parsed for r in reading.repositories if r.parsed is not None}

    registry = Registry.of_arn(next(iter(found.values())).arn)
    reading.in_use = images_in_use(ecr, in_use.clients, registry, list(found), in_use.sources,
                                   file_uses=in_use.file_uses, images=images, concurrency=concurrency,
                                   now=in_use.now)
    reading.repositories = [replace(r, in_use=reading.in_use.repositories.get(r.name))
                            for r in reading.repositories]
    return reading


def _parsed(repository: RepositoryReading) -> RepositoryReading:
    """The reading with its images parsed; as it was when they cannot be (the figures say why)."""
    try:
        return replace(repository, parsed=parse_images(repository.name, repository.images))
    except InputError:
        return repository


def _read_found(ecr: Any, found: Mapping[str, LiveRepository], statuses: Mapping[str, str],
                policies: dict[str, str | None], reading: Reading, concurrency: int, progress: Phase) -> None:
    """The policies not read yet and every page of images of `found`, into `reading`."""
    with ThreadPoolExecutor(concurrency) as pool:
        unread = [name for name in found if name not in policies]
        advance = progress("reading policies", len(unread)) if unread else None
        texts = pool.map(lambda n: _policy(ecr, n, advance), unread)
        for name, (text, error) in zip(unread, texts, strict=True):
            if error:
                reading.unreadable[name] = error
            else:
                policies[name] = text
        readable = [name for name in found if name not in reading.unreadable]
        advance = progress("reading images", len(readable))
        for name, (images, error) in zip(readable, pool.map(lambda n: _images(ecr, n, advance), readable),
                                         strict=True):
            if error is None:
                reading.repositories.append(RepositoryReading(name, statuses[name], found[name].scan_on_push,
                                                              policies[name], images))
            elif error_code(error) == "RepositoryNotFoundException":  # deleted while being read
                reading.missing.append(name)
            else:
                reading.unreadable[name] = aws_ecr.describe(error)


def _every_repository(ecr: Any) -> dict[str, LiveRepository]:
    """Every repository of the registry; a refused listing is the user's to fix (exit 2)."""
    from botocore.exceptions import ClientError

    pages = ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
    try:
        return {repo["repositoryName"]: aws_ecr.live_repository(repo)
                for page in pages for repo in page["repositories"]}
    except ClientError as exc:
        raise InputError("--all", f"cannot list the repositories: {aws_ecr.describe(exc)}") from None


def _policy(ecr: Any, name: str, advance: aws_ecr.Progress | None) -> tuple[str | None, str | None]:
    """(lifecycle policy text or None, error or None)."""
    try:
        return aws_ecr.read_policy(ecr, name, lifecycle_policy_text)
    finally:
        if advance:
            advance(1)


def _images(ecr: Any, name: str, advance: aws_ecr.Progress | None
            ) -> tuple[list[Mapping[str, Any]], Exception | None]:
    """Every image of the repository, active and archived; or the error that stopped the read."""
    pages = ecr.get_paginator("describe_images").paginate(
        repositoryName=name, filter={"imageStatus": "ANY"}, PaginationConfig={"PageSize": PAGE_SIZE})
    try:
        return [detail for page in pages for detail in page.get("imageDetails", [])], None
    except aws_ecr.failures() as exc:
        return [], exc
    finally:
        if advance:
            advance(1)
