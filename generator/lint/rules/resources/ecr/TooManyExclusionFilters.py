"""E9504: ECR takes at most 5 tag mutability exclusion filters."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import repositories
from generator.model.repository import MAX_EXCLUSIONS


class TooManyExclusionFilters(CloudFormationLintRule):
    id = "E9504"
    shortdesc = f"At most {MAX_EXCLUSIONS} ImageTagMutabilityExclusionFilters"
    description = f"A repository can have at most {MAX_EXCLUSIONS} tag mutability exclusion filters."
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"
    tags = ("resources", "ecr", "mutability")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            filters, path = repo.prop("ImageTagMutabilityExclusionFilters")
            if isinstance(filters, list) and len(filters) > MAX_EXCLUSIONS:
                matches.append(RuleMatch(path, f"ImageTagMutabilityExclusionFilters has {len(filters)} "
                                         f"filters; ECR allows at most {MAX_EXCLUSIONS}"))
        return matches
