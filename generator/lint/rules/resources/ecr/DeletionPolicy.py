"""I9501: deleting the stack (or replacing the resource) deletes the repository's images."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import literal, repositories


class DeletionPolicy(CloudFormationLintRule):
    id = "I9501"
    shortdesc = "ECR repository images are deleted with the stack"
    description = (
        "For AWS::ECR::Repository an absent DeletionPolicy means Delete: deleting the stack or "
        "removing the resource deletes the repository, and with EmptyOnDelete every image in it "
        "(without EmptyOnDelete the stack deletion fails on a non-empty repository). Set "
        "DeletionPolicy: Retain to keep the images."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"
    tags = ("resources", "ecr", "deletionpolicy")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            policy = literal(repo.resource.get("DeletionPolicy"))
            if policy in (None, "Delete"):
                matches.append(RuleMatch([*repo.path, "DeletionPolicy"], f"repository {repo.name} is "
                                         f"deleted with the stack (DeletionPolicy {policy or 'absent'}): "
                                         "set DeletionPolicy Retain to keep its images"))
        return matches
