"""I9502: EmptyOnDelete true makes deleting the repository delete every image in it."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import literal, repositories


class EmptyOnDelete(CloudFormationLintRule):
    id = "I9502"
    shortdesc = "EmptyOnDelete deletes every image with the repository"
    description = (
        "Without EmptyOnDelete, CloudFormation cannot delete a repository that still holds "
        "images. With EmptyOnDelete true, deleting the stack (DeletionPolicy Delete or absent) "
        "or replacing the resource (UpdateReplacePolicy Delete or absent) deletes the repository "
        "and every image in it. Quiet when both policies are Retain, since then CloudFormation "
        "never deletes the repository."
    )
    source_url = ("https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
                  "aws-resource-ecr-repository.html#cfn-ecr-repository-emptyondelete")
    tags = ("resources", "ecr", "deletionpolicy")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            empty, path = repo.prop("EmptyOnDelete")
            if str(empty).lower() != "true":  # CloudFormation also takes booleans as strings
                continue
            deleted_by = [attribute for attribute in ("DeletionPolicy", "UpdateReplacePolicy")
                          if literal(repo.resource.get(attribute)) in (None, "Delete")]
            if deleted_by:
                matches.append(RuleMatch(path, f"repository {repo.name} has EmptyOnDelete true and "
                                         f"{' and '.join(f'{a} Delete' for a in deleted_by)}: "
                                         "CloudFormation deletes it with every image in it; set "
                                         "EmptyOnDelete false or both policies Retain to keep them"))
        return matches
