"""E9513: a pull-through cache rule's credential is a secret whose name starts `ecr-pullthroughcache/`."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import PULL_THROUGH_CACHE_TYPE, values_of
from generator.model.pull_through_cache import SECRET_PREFIX, SECRET_SUFFIX


class PullThroughCacheCredentialName(CloudFormationLintRule):
    id = "E9513"
    shortdesc = "A pull-through cache credential must be a secret named ecr-pullthroughcache/..."
    description = (
        "ECR reads the upstream registry's credentials only from a Secrets Manager secret whose name "
        "starts with 'ecr-pullthroughcache/'; a CredentialArn naming any other secret fails when the "
        "rule is created. The name is read from the ARN, also inside an Fn::Sub."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-creating-secret.html"
    tags = ("resources", "ecr", "pull-through-cache")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        credentials = values_of(cfn, {PULL_THROUGH_CACHE_TYPE: ("CredentialArn",)}, sub_as_text=True)
        for rule, arn, path in credentials:
            if not isinstance(arn, str) or ":secret:" not in arn:
                continue
            name = SECRET_SUFFIX.sub("", arn.split(":secret:", 1)[1])
            if not name.startswith(SECRET_PREFIX):
                matches.append(RuleMatch(path, f"pull-through cache rule {rule.name}: the secret {name!r} is "
                                         f"not named {SECRET_PREFIX}<name>, so ECR cannot use it"))
        return matches
