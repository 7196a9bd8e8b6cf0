"""E9514: an upstream registry that needs authentication gets a credential."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import PULL_THROUGH_CACHE_TYPE, UNRESOLVED, repositories
from generator.model.pull_through_cache import NEEDS_CREDENTIAL, upstream_of


class PullThroughCacheCredentialMissing(CloudFormationLintRule):
    id = "E9514"
    shortdesc = "A pull-through cache rule for an authenticated upstream needs a CredentialArn"
    description = (
        "Docker Hub, GitHub Container Registry, GitLab Container Registry, Azure Container Registry "
        "and Chainguard only serve ECR with credentials: without CredentialArn, ECR refuses the rule "
        "(UnsupportedUpstreamRegistryException) and the deploy fails. The upstream is read from "
        "UpstreamRegistry, else from UpstreamRegistryUrl."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-creating-rule.html"
    tags = ("resources", "ecr", "pull-through-cache")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for rule in repositories(cfn, PULL_THROUGH_CACHE_TYPE):
            upstream, path = rule.prop("UpstreamRegistry")
            url, url_path = rule.prop("UpstreamRegistryUrl")
            if upstream is None and isinstance(url, str):
                upstream, path = upstream_of(url), url_path
            credential, _ = rule.prop("CredentialArn")
            if upstream in NEEDS_CREDENTIAL and credential is None and credential is not UNRESOLVED:
                matches.append(RuleMatch(path, f"pull-through cache rule {rule.name}: {upstream} needs a "
                                         "CredentialArn (a Secrets Manager secret named "
                                         "ecr-pullthroughcache/...)"))
        return matches
