"""W9511: a repository policy names the actions it allows, never `ecr:*` or `*`."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator import access
from generator.cfn_rules._helpers import repositories
from generator.cfn_rules._policy import policy_parts, wildcard_actions


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
        matches = []
        for repo in repositories(cfn):
            for part in policy_parts(repo):
                wild = wildcard_actions(part.statement) if part.statement else []
                if not wild:
                    continue
                match = RuleMatch(part.path, f"repository policy statement {part.name} allows "
                                  f"{', '.join(wild)}: name the actions instead (pull: "
                                  f"{', '.join(access.READ_ACTIONS)})")
                if part.location:
                    match.location = part.location
                matches.append(match)
        return matches
