"""W9511: a repository policy names the actions it allows, never `ecr:*` or `*`."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._policy import PolicyPart, policy_matches, wildcard_actions
from generator.model import access


class WildcardPolicyActions(CloudFormationLintRule):
    id = "W9511"
    shortdesc = "RepositoryPolicyText should not Allow wildcard actions"
    description = (
        "An Allow of 'ecr:*', '*', any action with a wildcard, or NotAction grants more than "
        "pulling or pushing needs, including deleting images and rewriting the policy itself. "
        "Pulling needs ecr:BatchGetImage, ecr:GetDownloadUrlForLayer and "
        "ecr:BatchCheckLayerAvailability; pushing adds the four upload actions."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html"
    tags = ("resources", "ecr", "iam", "security")

    def match(self, cfn: Template) -> list[RuleMatch]:
        return policy_matches(cfn, _messages)


def _messages(part: PolicyPart) -> list[str]:
    wild = wildcard_actions(part.statement) if part.statement else []
    if not wild:
        return []
    return [f"repository policy statement {part.name} allows {', '.join(wild)}: name the actions "
            f"instead (pull: {', '.join(access.READ_ACTIONS)})"]
