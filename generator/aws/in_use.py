"""In-use discovery: the images that ECS and Lambda use in this account and region.

- ECS: `ListClusters`; per cluster `ListServices` and `ListTasks` (its default desired status,
  RUNNING, covers running and pending tasks); `DescribeServices` 10 services a call and
  `DescribeTasks` 100 tasks a call; `DescribeTaskDefinition` once per task definition, however
  many services and tasks share it. A service uses the task definitions of its deployments
  (PRIMARY and ACTIVE) and task sets, by `ecs:CLUSTER/SERVICE`; a task its own and, where ECS
  reports it, each container's `imageDigest`, by its service or else `ecs:CLUSTER/TASK_ID`.
- Lambda: `ListFunctions`; for each function with `PackageType: Image`, `ListAliases` and
  `GetFunction` of `$LATEST` and of every version an alias points to (routing weights included),
  each read once: `ResolvedImageUri`, else `ImageUri`, by `lambda:FUNCTION:ALIAS`.
Every list call follows every page; the calls of each step run concurrently.

`images_in_use` is the entry point for whoever needs the images in use of some repositories
(the lifecycle preview, the report): discovery, then each repository's images (read here unless
given), then every reference resolved to a digest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from generator.aws import protection as aws_protection
from generator.aws.client import error_code
from generator.aws.ecr import describe, failures
from generator.model import protection
from generator.model.in_use import (
    Index,
    Reference,
    Registry,
    Resolved,
    Sources,
    Use,
    index,
    parse_reference,
    resolve,
)
from generator.model.lifecycle import Image, parse_images
from generator.reconcile.desired import RepositorySettings
from generator.reconcile.diff import Change, LiveState, Plan
from generator.reconcile.in_use import Verdict, judge

SERVICES_BATCH = 10    # DescribeServices takes at most 10 services
TASKS_BATCH = 100      # DescribeTasks takes at most 100 tasks
ECS_PAGE = 100         # ListClusters, ListServices, ListTasks: at most 100 a page
FUNCTIONS_PAGE = 50    # ListFunctions answers at most 50 a page
ALIASES_PAGE = 10_000  # ListAliases' largest MaxItems
LATEST = "$LATEST"
GONE = frozenset({"ClusterNotFoundException", "ResourceNotFoundException"})  # deleted since listed
T = TypeVar("T")
R = TypeVar("R")


class DiscoveryError(Exception):
    """A discovery call failed past botocore's retries: the images in use are not known."""


def discover(clients: Mapping[str, Any], services: Sequence[str], concurrency: int = 8,
             extra: Iterable[Use] = ()) -> tuple[Use, ...]:
    """Every image reference the services' workloads use (`clients` by service name), plus
    `extra` (an in-use file's). Raises DiscoveryError naming the call that failed."""
    readers: dict[str, Callable[[Any, int], list[Use]]] = {"ecs": _ecs, "lambda": _lambda}
    with ThreadPoolExecutor(max(len(services), 1)) as pool:
        found = list(pool.map(lambda service: _reading(service, readers[service], clients[service],
                                                       concurrency), services))
    return (*(use for uses in found for use in uses), *extra)


def _reading(service: str, reader: Callable[[Any, int], list[Use]], client: Any,
             concurrency: int) -> list[Use]:
    try:
        return reader(client, concurrency)
    except failures() as exc:
        operation = getattr(exc, "operation_name", "") or "a call"
        raise DiscoveryError(f"{service} {operation}: {describe(exc)}") from None


def _pages(client: Any, operation: str, key: str, page_size: int, **params: Any) -> list[Any]:
    """Every item of every page of a list call; none of a cluster or function deleted since it
    was listed."""
    from botocore.exceptions import ClientError

    pages = client.get_paginator(operation).paginate(**params, PaginationConfig={"PageSize": page_size})
    try:
        return [item for page in pages for item in page.get(key, [])]
    except ClientError as exc:
        if params and error_code(exc) in GONE:
            return []
        raise


def _batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _each(pool: ThreadPoolExecutor, call: Callable[[T], R], items: Iterable[T]) -> list[R]:
    return list(pool.map(call, items))


def _reference(image: Any, digest: Any = None) -> Reference | None:
    """The image a container names (pinned to `digest` when ECS reports one); None when AWS
    gives something no reference can be read from (nothing that could name our images)."""
    if not isinstance(image, str):
        return None
    try:
        reference = parse_reference(image)
    except ValueError:
        return None
    return replace(reference, digest=digest) if isinstance(digest, str) and digest else reference


# --- ECS ------------------------------------------------------------------------------------

def _ecs(ecs: Any, concurrency: int) -> list[Use]:
    clusters = _pages(ecs, "list_clusters", "clusterArns", ECS_PAGE)
    with ThreadPoolExecutor(concurrency) as pool:
        lists = [(cluster, operation, key) for cluster in clusters
                 for operation, key in (("list_services", "serviceArns"), ("list_tasks", "taskArns"))]
        listed = _each(pool, lambda job: (*job[:2], _pages(ecs, job[1], job[2], ECS_PAGE, cluster=job[0])),
                       lists)
        jobs = [(cluster, operation, batch) for cluster, operation, arns in listed
                for batch in _batches(arns, SERVICES_BATCH if operation == "list_services" else TASKS_BATCH)]
        described = _each(pool, lambda job: _describe(ecs, *job), jobs)
        definitions: dict[str, set[str]] = {}  # task definition -> users
        uses: list[Use] = []
        for (cluster, _, _), found in zip(jobs, described, strict=True):
            name = cluster.rsplit("/", 1)[-1]
            for item in found:
                _ecs_item(name, item, definitions, uses)
        images = _each(pool, lambda arn: _definition_images(ecs, arn), definitions)
    for (_, users), refs in zip(definitions.items(), images, strict=True):
        uses += [Use(reference, user) for reference in refs for user in sorted(users)]
    return uses


def _describe(ecs: Any, cluster: str, listed_by: str, arns: Sequence[str]) -> list[dict[str, Any]]:
    if listed_by == "list_services":
        return ecs.describe_services(cluster=cluster, services=list(arns)).get("services", [])  # type: ignore[no-any-return]
    return ecs.describe_tasks(cluster=cluster, tasks=list(arns)).get("tasks", [])  # type: ignore[no-any-return]


def _ecs_item(cluster: str, item: dict[str, Any], definitions: dict[str, set[str]], uses: list[Use]) -> None:
    """A described service or task: its task definitions to read, its reported digests."""
    if "serviceName" in item:
        if item.get("status") == "INACTIVE":
            return
        user = f"ecs:{cluster}/{item['serviceName']}"
        wanted = {item.get("taskDefinition")}
        wanted |= {d.get("taskDefinition") for d in item.get("deployments", [])
                   if d.get("status") in ("PRIMARY", "ACTIVE")}
        wanted |= {t.get("taskDefinition") for t in item.get("taskSets", [])
                   if t.get("status") in ("PRIMARY", "ACTIVE")}
    else:
        group = item.get("group", "")
        user = (f"ecs:{cluster}/{group.removeprefix('service:')}" if group.startswith("service:")
                else f"ecs:{cluster}/{item.get('taskArn', '').rsplit('/', 1)[-1]}")
        wanted = {item.get("taskDefinitionArn")}
        for container in item.get("containers", []):
            reference = _reference(container.get("image"), container.get("imageDigest"))
            if reference is not None and reference.digest:
                uses.append(Use(reference, user))
    for arn in sorted(wanted - {None, ""}):  # type: ignore[type-var]
        definitions.setdefault(arn, set()).add(user)  # type: ignore[arg-type]


def _definition_images(ecs: Any, arn: str) -> list[Reference]:
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    found = [_reference(container.get("image")) for container in definition.get("containerDefinitions", [])]
    return [reference for reference in found if reference is not None]


# --- Lambda ---------------------------------------------------------------------------------

def _lambda(lam: Any, concurrency: int) -> list[Use]:
    functions = [f["FunctionName"] for f in _pages(lam, "list_functions", "Functions", FUNCTIONS_PAGE)
                 if f.get("PackageType") == "Image"]
    with ThreadPoolExecutor(concurrency) as pool:
        aliases = _each(pool, lambda name: _pages(lam, "list_aliases", "Aliases", ALIASES_PAGE,
                                                  FunctionName=name), functions)
        jobs: list[tuple[str, str, list[str]]] = []  # (function, version, users)
        for name, found in zip(functions, aliases, strict=True):
            versions: dict[str, list[str]] = {LATEST: [f"lambda:{name}:{LATEST}"]}
            for alias in found:
                weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
                for version in (alias["FunctionVersion"], *weights):
                    versions.setdefault(version, []).append(f"lambda:{name}:{alias['Name']}")
            jobs += [(name, version, users) for version, users in versions.items()]
        codes = _each(pool, lambda job: _code(lam, job[0], job[1]), jobs)
    uses = []
    for (_, _, users), code in zip(jobs, codes, strict=True):
        reference = _reference(code.get("ResolvedImageUri") or code.get("ImageUri"))
        if reference is not None:
            uses += [Use(reference, user) for user in users]
    return uses


def _code(lam: Any, name: str, version: str) -> dict[str, Any]:
    """The function version's `Code`; empty when it was deleted since it was listed."""
    try:
        return lam.get_function(FunctionName=name, Qualifier=version).get("Code", {})  # type: ignore[no-any-return]
    except lam.exceptions.ResourceNotFoundException:
        return {}


# --- the in-use set of some repositories ----------------------------------------------------

@dataclass(frozen=True)
class InUse:
    """The images in use of each repository asked for, and what discovery saw besides."""

    repositories: Mapping[str, Resolved]
    other_registries: int  # references to images elsewhere (Docker Hub, other accounts or regions)
    sources: Sources


def read_images(ecr: Any, repositories: Sequence[str], concurrency: int = 8) -> dict[str, list[Image] | str]:
    """Each repository's images (every page, active and archived), or why they cannot be read."""
    from generator.aws.images import describe_images
    from generator.base.errors import InputError

    def one(name: str) -> list[Image] | str:
        try:
            return parse_images(describe_images(ecr, name), f"{name} (live images)")
        except InputError as exc:
            return "; ".join(p.message for p in exc.problems)

    with ThreadPoolExecutor(concurrency) as pool:
        return dict(zip(repositories, pool.map(one, repositories), strict=True))


def images_in_use(ecr: Any, clients: Mapping[str, Any], registry: Registry, repositories: Sequence[str],
                  sources: Sources, *, file_uses: Iterable[Use] = (),
                  images: Mapping[str, Sequence[Image]] | Callable[[], Mapping[str, Sequence[Image]]]
                  | None = None, concurrency: int = 8, now: float | None = None) -> InUse:
    """The images in use in each of `repositories` of `registry`: discovery from `sources`
    (`clients` holds an `ecs` and a `lambda` client as they name them), the repositories'
    images (read here unless `images` gives them, or is the caller's own read, called while
    discovery runs), every reference resolved. Raises DiscoveryError when discovery fails; a
    repository whose images cannot be read is left out."""
    now = time.time() if now is None else now
    with ThreadPoolExecutor(2) as pool:
        found = pool.submit(discover, clients, sources.services, concurrency, file_uses)
        if callable(images):
            images = images()
        read = dict(images) if images is not None else {
            name: value for name, value in read_images(ecr, repositories, concurrency).items()
            if not isinstance(value, str)}
        where: Index = index(found.result(), registry)
    days = sources.pulled_within_days
    return InUse({name: resolve(where.by_repository.get(name, ()), read[name], now, days)
                  for name in repositories if name in read}, where.other_registries, sources)


# --- post-deploy's guard ----------------------------------------------------------------------

@dataclass(frozen=True)
class GuardRequest:
    """What post-deploy's guard looks for (the sources, the in-use file's references, read once)
    and whether it may expire what it finds: one for a stack, the same for every target of a fleet."""

    sources: Sources
    file_uses: tuple[Use, ...] = ()
    allow: bool = False

    def starter(self, ecr: Any, clients: Mapping[str, Any], wishes: Sequence[RepositorySettings], *,
                write: bool, concurrency: int) -> Callable[[ThreadPoolExecutor], Guard]:
        """`aws.post_deploy.reconcile`'s `start_guard`: discovery through `clients` (one per
        source service, made by the caller in its own thread) starts in the reconcile's pool,
        beside the repositories' reads, and the guard waits for it."""
        def start(pool: ThreadPoolExecutor) -> Guard:
            discovery = pool.submit(discover, clients, self.sources.services, concurrency, self.file_uses)
            return Guard(ecr, wishes, discovery, self.sources, allow=self.allow, write=write,
                         concurrency=concurrency)
        return start


class Guard:
    """post-deploy's in-use guard, called between its plan and its writes (`aws.ecr.reconcile`'s
    `hold`): it returns the lifecycle writes to hold back, and keeps each repository's verdict.

    For every repository with a lifecycle policy (the one to write, or the one in sync) it reads
    the images (every page), takes the discovery's result, writes a protected repository's
    shield tags first (before any policy that relies on them; only when the run writes), then
    judges the policy on the images as they now are (`reconcile.in_use.judge`)."""

    def __init__(self, ecr: Any, wishes: Sequence[RepositorySettings], discovery: Future[tuple[Use, ...]],
                 sources: Sources, *, allow: bool, write: bool, concurrency: int) -> None:
        self.ecr, self.wishes, self.discovery, self.sources = ecr, wishes, discovery, sources
        self.allow, self.write, self.concurrency = allow, write, concurrency
        self.verdicts: dict[str, Verdict] = {}
        self.references = self.other_registries = 0

    def for_wishes(self, wishes: Sequence[RepositorySettings]) -> Callable[[LiveState, Plan], set[Change]]:
        """This guard (its discovery and options) for more repositories, those the enforced
        creation templates govern, found after the named ones; their verdicts join this one's."""
        other = Guard(self.ecr, wishes, self.discovery, self.sources, allow=self.allow, write=self.write,
                      concurrency=self.concurrency)

        def hold(live: LiveState, plan: Plan) -> set[Change]:
            held = other(live, plan)
            self.verdicts.update(other.verdicts)
            return held
        return hold

    def __call__(self, live: LiveState, plan: Plan) -> set[Change]:
        wishes = [w for w in self.wishes if w.lifecycle_policy is not None and w.name in live.repositories]
        if not wishes:
            return set()
        changes = {c.repository: c for c in plan.changes if c.setting == "lifecyclePolicy"}
        images = read_images(self.ecr, [w.name for w in wishes], self.concurrency)
        try:
            uses, error = self.discovery.result(), None
        except DiscoveryError as exc:
            uses, error = (), str(exc)
        where = index(uses, Registry.of_arn(live.repositories[wishes[0].name].arn))
        self.references, self.other_registries = len(uses), where.other_registries
        now = time.time()

        def one(wish: RepositorySettings) -> Verdict:
            change, found = changes.get(wish.name), images[wish.name]
            if error is not None or isinstance(found, str):
                return Verdict(wish.name, change, error=error or f"cannot read its images: {found}")
            named = where.by_repository.get(wish.name, ())
            users = resolve(named, found, now, self.sources.pulled_within_days).users
            planned = protection.plan(found, users) if wish.protect_in_use else None
            written, shield_error = planned, None
            if planned and self.write:
                written, shield_error = aws_protection.write(self.ecr, wish.name, planned)
            verdict = judge(wish.name, wish.lifecycle_policy, change, found, users, now,  # type: ignore[arg-type]
                            self.allow, written, shield_error)
            return replace(verdict, shield=planned)

        with ThreadPoolExecutor(self.concurrency) as pool:
            self.verdicts = {verdict.name: verdict for verdict in pool.map(one, wishes)}
        return {v.refused for v in self.verdicts.values() if v.refused is not None}

    def summary(self) -> dict[str, Any]:
        """The report's `inUse` section: what was looked at and found."""
        return {"sources": self.sources.describe(), "references": self.references,
                "otherRegistries": self.other_registries, "allowExpiringInUse": self.allow}
