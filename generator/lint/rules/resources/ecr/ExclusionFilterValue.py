"""E9505: an exclusion filter value is 1 to 128 of [0-9a-zA-Z._*-], and nothing else."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import repositories
from generator.model.repository import EXCLUSION_FILTER


class ExclusionFilterValue(CloudFormationLintRule):
    id = "E9505"
    shortdesc = "ImageTagMutabilityExclusionFilterValue must match [0-9a-zA-Z._*-]{1,128}"
    description = (
        "A filter value is a tag or a wildcard pattern of 1 to 128 letters, digits, '.', '_', '-' "
        "and '*'. cfn-lint's schema pattern is not anchored, so a value with a space or a '/' "
        "passes it and fails at deploy time."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html"
    tags = ("resources", "ecr", "mutability")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            filters, _ = repo.prop("ImageTagMutabilityExclusionFilters")
            for index in range(len(filters) if isinstance(filters, list) else 0):
                value, path = repo.prop("ImageTagMutabilityExclusionFilters", index,
                                        "ImageTagMutabilityExclusionFilterValue")
                if isinstance(value, str) and not EXCLUSION_FILTER.match(value):
                    matches.append(RuleMatch(path, f"exclusion filter {value!r} must be 1 to 128 of "
                                             "0-9 a-z A-Z . _ - *"))
        return matches
