"""E9512: no other account may delete images or change a repository's policies."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._policy import PolicyPart, destructive_actions, other_principals, policy_matches


class CrossAccountDestructiveActions(CloudFormationLintRule):
    id = "E9512"
    shortdesc = "RepositoryPolicyText must not let other accounts delete or change policies"
    description = (
        "A repository policy that allows ecr:BatchDeleteImage, ecr:DeleteRepository, "
        "ecr:SetRepositoryPolicy, ecr:DeleteRepositoryPolicy, ecr:PutLifecyclePolicy or "
        "ecr:DeleteLifecyclePolicy (by name or by wildcard) to another account, a service or "
        "everyone hands over the repository: its images and who else gets in. Principals "
        "written with ${AWS::AccountId} are this account; values known only at deploy time "
        "are skipped."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html"
    tags = ("resources", "ecr", "iam", "security")

    def match(self, cfn: Template) -> list[RuleMatch]:
        return policy_matches(cfn, _messages)


def _messages(part: PolicyPart) -> list[str]:
    if part.statement is None:
        return []
    others = other_principals(part.statement)
    actions = destructive_actions(part.statement) if others else []
    if not actions:
        return []
    return [f"repository policy statement {part.name} allows {', '.join(actions)} to "
            f"{', '.join(others)}: other accounts may pull and push, never delete images or change policies"]
