"""Live ECR: read repository settings in batches, execute a plan's writes, count every call.

All calls go through one shared client (see `generator.aws.client.make_client`), whose botocore
retry mode rides out throttling. A failure that outlives the retries is confined to the
repositories it concerns: they are recorded with the AWS error code and the rest goes on.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from generator.aws.client import error_code, exception_text, lifecycle_policy_text, repository_policy_text
from generator.reconcile import diff
from generator.reconcile.desired import RepositorySettings
from generator.reconcile.diff import Change, LiveRepository, LiveState

DESCRIBE_BATCH = 100  # DescribeRepositories takes at most 100 names
# Errors that one name in a batch causes for the whole DescribeRepositories call.
NAME_SPECIFIC = frozenset({"RepositoryNotFoundException", "AccessDeniedException",
                           "InvalidParameterException"})
Progress = Callable[[int], None]


class CallCounter:
    """API operations made through the clients it is attached to (retries are not extra calls)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> Any:
        """Count the client's calls from now on; returns the client."""
        client.meta.events.register_first("before-call.*.*", self._count)
        return client

    def _count(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.counts[event_name.rsplit(".", 1)[-1]] += 1


def failures() -> tuple[type[Exception], ...]:
    """Errors that concern the call's repositories only: AWS answered no, or the call was lost."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.parsers import ResponseParserError

    return ClientError, HTTPClientError, ResponseParserError


def describe(exc: Exception) -> str:
    """`AccessDeniedException: <message>` for the report; never includes credentials."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        message = response.get("Error", {}).get("Message", "")
    else:
        message = exception_text(exc)
    return f"{error_code(exc)}: {message}" if message else error_code(exc)


def read(ecr: Any, names: Sequence[str], policy_wanted: Collection[str], concurrency: int,
         progress: Progress | None = None, repository_policy_wanted: Collection[str] = ()) -> LiveState:
    """Live settings of `names`; lifecycle policies only of those in `policy_wanted`, repository
    policies only of those in `repository_policy_wanted`, all policy reads at once."""
    found: dict[str, LiveRepository] = {}
    missing: set[str] = set()
    errors: dict[str, str] = {}
    batches = [list(names[i:i + DESCRIBE_BATCH]) for i in range(0, len(names), DESCRIBE_BATCH)]
    with ThreadPoolExecutor(concurrency) as pool:
        for batch_found, batch_missing, batch_errors in pool.map(lambda b: _describe(ecr, b), batches):
            found.update((repo.name, repo) for repo in batch_found)
            missing.update(batch_missing)
            errors.update(batch_errors)
        _read_policies(ecr, pool, found, errors, policy_wanted, repository_policy_wanted, progress)
    return LiveState(found, frozenset(missing), errors)


def read_described(ecr: Any, described: Sequence[dict[str, Any]], policy_wanted: Collection[str],
                   repository_policy_wanted: Collection[str], concurrency: int) -> LiveState:
    """`read`'s result for repositories already described (by a listing of every repository)."""
    found = {repo["repositoryName"]: live_repository(repo) for repo in described}
    errors: dict[str, str] = {}
    with ThreadPoolExecutor(concurrency) as pool:
        _read_policies(ecr, pool, found, errors, policy_wanted, repository_policy_wanted, None)
    return LiveState(found, frozenset(), errors)


def _read_policies(ecr: Any, pool: ThreadPoolExecutor, found: dict[str, LiveRepository],
                   errors: dict[str, str], policy_wanted: Collection[str],
                   repository_policy_wanted: Collection[str], progress: Progress | None) -> None:
    """Each wanted policy of the `found` repositories into them, at once; a failed read into `errors`."""
    reads = [(name, "lifecycle_text", lifecycle_policy_text) for name in found if name in policy_wanted]
    reads += [(name, "repository_policy_text", repository_policy_text)
              for name in found if name in repository_policy_wanted]
    results = pool.map(lambda r: read_policy(ecr, r[0], r[2]), reads)
    for (name, field, _), (text, error) in zip(reads, results, strict=True):
        if error:
            errors[name] = error
        else:
            found[name] = replace(found[name], **{field: text})
        if progress:
            progress(1)


def _describe(ecr: Any, batch: list[str]) -> tuple[list[LiveRepository], set[str], dict[str, str]]:
    """One DescribeRepositories call per batch, and a few more only when some names fail.

    ECR fails the whole call when one name is unknown (or denied) and usually names it in the
    message: that name is set aside and the rest retried. A failure that names nothing is
    narrowed down by halving. Any other failure (throttling that outlived the retries, a lost
    connection) concerns the call, not a name: every name of the batch fails with it.
    """
    try:
        response = ecr.describe_repositories(repositoryNames=batch)
    except failures() as exc:
        code = error_code(exc)
        if code not in NAME_SPECIFIC:
            return [], set(), dict.fromkeys(batch, describe(exc))
        missing_code = code == "RepositoryNotFoundException"
        if len(batch) == 1:
            return ([], set(batch), {}) if missing_code else ([], set(), {batch[0]: describe(exc)})
        named = [name for name in batch if f"'{name}'" in describe(exc)]
        if len(named) == 1:
            found, missing, errors = _describe(ecr, [n for n in batch if n != named[0]])
            if missing_code:
                missing.add(named[0])
            else:
                errors[named[0]] = describe(exc)
            return found, missing, errors
        found, missing, errors = _describe(ecr, batch[:len(batch) // 2])
        more = _describe(ecr, batch[len(batch) // 2:])
        return found + more[0], missing | more[1], {**errors, **more[2]}
    return [live_repository(repo) for repo in response["repositories"]], set(), {}


def live_repository(repo: dict[str, Any]) -> LiveRepository:
    """The settings of one repository as DescribeRepositories gives it (policies not read yet)."""
    return LiveRepository(
        name=repo["repositoryName"], image_tag_mutability=repo.get("imageTagMutability", "MUTABLE"),
        exclusion_filters=frozenset(f["filter"] for f in repo.get("imageTagMutabilityExclusionFilters", [])),
        scan_on_push=bool(repo.get("imageScanningConfiguration", {}).get("scanOnPush", False)),
        arn=repo.get("repositoryArn", ""))


def read_policy(ecr: Any, name: str,
                reader: Callable[[Any, str], str | None]) -> tuple[str | None, str | None]:
    """One policy of a repository through `reader` (`client.lifecycle_policy_text`, ...): (its
    text or None when it has none, None) or, when AWS refuses or the call is lost, (None, error)."""
    try:
        return reader(ecr, name), None
    except failures() as exc:
        return None, describe(exc)


def apply(ecr: Any, changes: Sequence[Change], concurrency: int,
          progress: Progress | None = None) -> dict[Change, str | None]:
    """Make each change's write call, concurrently; change -> None when applied, else the error."""
    def write(change: Change) -> str | None:
        try:
            getattr(ecr, change.operation)(**change.params)
            return None
        except failures() as exc:
            return describe(exc)
        finally:
            if progress:
                progress(1)

    with ThreadPoolExecutor(concurrency) as pool:
        return dict(zip(changes, pool.map(write, changes), strict=True))


def reconcile(ecr: Any, wishes: Sequence[RepositorySettings], concurrency: int, write: bool,
              progress: Callable[[str, int], Progress | None] = lambda what, total: None,
              hold: Callable[[LiveState, diff.Plan], Collection[Change]] | None = None,
              ) -> tuple[LiveState, diff.Plan, dict[Change, str | None] | None]:
    """Read the live state of `wishes` (with only the policies they want), plan, and write when
    `write`. Returns the live state, the plan, and what apply returned (None: nothing written).
    `hold` (the in-use guard) sees the plan first and names the changes not to write."""
    policy_wanted = {w.name for w in wishes if w.lifecycle_policy is not None}
    access_wanted = {w.name for w in wishes if w.repository_policy is not None}
    live = read(ecr, [w.name for w in wishes], policy_wanted, concurrency,
                progress("reading policies", len(policy_wanted) + len(access_wanted)),
                repository_policy_wanted=access_wanted)
    plan = diff.plan(wishes, live)
    held = hold(live, plan) if hold is not None else ()
    if not write:
        return live, plan, None
    changes = [change for change in plan.changes if change not in held]
    return live, plan, apply(ecr, changes, concurrency, progress("writing changes", len(changes)))
