"""E9502: a *_WITH_EXCLUSION tag mutability needs exclusion filters."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import UNRESOLVED, repositories
from generator.model.repository import EXCLUSION_MODES


class ExclusionModeWithoutFilters(CloudFormationLintRule):
    id = "E9502"
    shortdesc = "A *_WITH_EXCLUSION tag mutability needs ImageTagMutabilityExclusionFilters"
    description = (
        "IMMUTABLE_WITH_EXCLUSION and MUTABLE_WITH_EXCLUSION make the tags matched by the "
        "exclusion filters behave the other way; ECR rejects the mode without any filter."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"
    tags = ("resources", "ecr", "mutability")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            mode, path = repo.prop("ImageTagMutability")
            filters, _ = repo.prop("ImageTagMutabilityExclusionFilters")
            if mode in EXCLUSION_MODES and filters is not UNRESOLVED and not filters:
                matches.append(RuleMatch(path, f"ImageTagMutability {mode} needs "
                                         "ImageTagMutabilityExclusionFilters (1 to 5 filters)"))
        return matches
