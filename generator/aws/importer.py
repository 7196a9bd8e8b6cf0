"""The reads of `ecrgen import`: every repository (all pages), then each selected one's
lifecycle policy, repository policy and tags, concurrently, through one counted client."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from generator.adopt.importer import LiveRepository
from generator.aws.client import lifecycle_policy_text, repository_policy_text
from generator.aws.ecr import describe, failures
from generator.aws.implicit import all_pages

PAGE_SIZE = 1000  # DescribeRepositories' largest page: the fewest calls


def list_repositories(ecr: Any, filters: Sequence[str]) -> list[dict[str, Any]]:
    """DescribeRepositories, every page; only the names that match a filter (all without one)."""
    found = [repo for page in ecr.get_paginator("describe_repositories").paginate(
        PaginationConfig={"PageSize": PAGE_SIZE})
             for repo in page["repositories"]]
    return [repo for repo in found
            if not filters or any(fnmatch.fnmatchcase(repo["repositoryName"], f) for f in filters)]


def read(ecr: Any, described: Sequence[dict[str, Any]],
         concurrency: int) -> tuple[list[LiveRepository], dict[str, str]]:
    """Each repository with its policies and tags; a repository whose reads fail is left out,
    with the error (name -> error)."""
    readers = (lifecycle_policy_text, repository_policy_text, _tags)
    calls = [(repo, reader) for repo in described for reader in readers]
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda call: _call(ecr, call[0], call[1]), calls))
    out, errors = [], {}
    for index, repo in enumerate(described):
        (lifecycle, e1), (policy, e2), (tags, e3) = results[index * 3:index * 3 + 3]
        error = e1 or e2 or e3
        if error:
            errors[repo["repositoryName"]] = error
            continue
        encryption = repo.get("encryptionConfiguration") or {}
        out.append(LiveRepository(
            name=repo["repositoryName"], arn=repo.get("repositoryArn", ""),
            image_tag_mutability=repo.get("imageTagMutability", "MUTABLE"),
            exclusion_filters=tuple(f["filter"] for f in repo.get("imageTagMutabilityExclusionFilters", [])),
            scan_on_push=bool(repo.get("imageScanningConfiguration", {}).get("scanOnPush", False)),
            encryption_type=encryption.get("encryptionType", "AES256"), kms_key=encryption.get("kmsKey"),
            lifecycle_text=lifecycle, policy_text=policy, tags=tags or ()))
    return out, errors


def read_implicit(ecr: Any, filters: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                           dict[str, str]]:
    """The pull-through cache rules and creation templates whose prefix matches a filter (all
    without one), every page; what could not be read is left out, with the error."""
    found: dict[str, list[dict[str, Any]]] = {}
    errors = {}
    for what, operation, key, field in (
            ("pull-through cache rules", "describe_pull_through_cache_rules", "pullThroughCacheRules",
             "ecrRepositoryPrefix"),
            ("creation templates", "describe_repository_creation_templates", "repositoryCreationTemplates",
             "prefix")):
        try:
            items = [item for _, item in all_pages(ecr, operation, key)]
        except failures() as exc:
            errors[what] = describe(exc)
            items = []
        found[what] = [item for item in items
                       if not filters or any(fnmatch.fnmatchcase(item[field], f) for f in filters)]
    return found["pull-through cache rules"], found["creation templates"], errors


def _tags(ecr: Any, repo: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    response = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])
    return tuple((tag["Key"], tag["Value"]) for tag in response.get("tags", []))


def _call(ecr: Any, repo: dict[str, Any], reader: Any) -> tuple[Any, str | None]:
    try:
        if reader is _tags:
            return reader(ecr, repo), None
        return reader(ecr, repo["repositoryName"]), None
    except failures() as exc:
        return None, describe(exc)
