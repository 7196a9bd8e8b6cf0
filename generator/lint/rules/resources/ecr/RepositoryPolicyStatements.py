"""E9511: every statement of a repository policy is one that ECR and ecrgen can read."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._policy import policy_matches


class RepositoryPolicyStatements(CloudFormationLintRule):
    id = "E9511"
    shortdesc = "RepositoryPolicyText must be a policy that can be read statement by statement"
    description = (
        "cfn-lint checks that RepositoryPolicyText is JSON, not what is inside. This rule reads "
        "the policy with ecrgen's policy model, the one post-deploy compares live policies with: "
        "Version, and in each statement Effect, Principal or NotPrincipal, Action or NotAction, "
        "Resource, Condition, with no other keys. Each problem is a finding at the line of its "
        "statement (inside a YAML block literal too); the other rules skip such a statement."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html"
    tags = ("resources", "ecr", "iam")

    def match(self, cfn: Template) -> list[RuleMatch]:
        return policy_matches(cfn, lambda part: [f"repository policy: {p}" for p in part.problems])
