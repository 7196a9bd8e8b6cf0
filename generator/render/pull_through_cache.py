"""Pull-through cache rules as `AWS::ECR::PullThroughCacheRule` resources.

One resource per rule, its logical id from its prefix (stable across edits). A prefix or a
credential that names `${SystemName}` or this account and region is an `Fn::Sub`.
"""

from __future__ import annotations

from typing import Any

from troposphere import Sub, ecr

from generator.model.implicit import prefix_id
from generator.model.pull_through_cache import PullThroughCacheRule

ID_PREFIX = "EcrgenPullThroughCache"


def resource_id(kind: str, prefix: str) -> str:
    """`EcrgenPullThroughCache` + `myapp-ecr-hub` -> `EcrgenPullThroughCacheEcrHub` (the SystemName
    is left out: the id must not change with the parameter)."""
    return kind + prefix_id(prefix)


def sub(value: str) -> Any:
    """A value naming `${SystemName}` or `${AWS::...}` as an `Fn::Sub`, any other text as itself."""
    return Sub(value) if "${" in value else value


def resources(rules: tuple[PullThroughCacheRule, ...]) -> list[ecr.PullThroughCacheRule]:
    out = []
    for rule in rules:
        props: dict[str, Any] = {"EcrRepositoryPrefix": sub(rule.prefix),
                                 "UpstreamRegistry": rule.upstream_registry,
                                 "UpstreamRegistryUrl": rule.upstream_url}
        if rule.credential_arn:
            props["CredentialArn"] = sub(rule.credential_arn)
        if rule.custom_role_arn:
            props["CustomRoleArn"] = rule.custom_role_arn
        if rule.upstream_repository_prefix:
            props["UpstreamRepositoryPrefix"] = rule.upstream_repository_prefix
        out.append(ecr.PullThroughCacheRule(resource_id(ID_PREFIX, rule.prefix), **props))
    return out
