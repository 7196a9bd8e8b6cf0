"""E9503: exclusion filters only mean something with a *_WITH_EXCLUSION tag mutability."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import UNRESOLVED, repositories
from generator.model.repository import EXCLUSION_MODES


class FiltersWithoutExclusionMode(CloudFormationLintRule):
    id = "E9503"
    shortdesc = "ImageTagMutabilityExclusionFilters need a *_WITH_EXCLUSION tag mutability"
    description = (
        "ECR accepts exclusion filters only with ImageTagMutability IMMUTABLE_WITH_EXCLUSION or "
        "MUTABLE_WITH_EXCLUSION; beside MUTABLE, IMMUTABLE or no mode (MUTABLE) they are rejected."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"
    tags = ("resources", "ecr", "mutability")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            mode, _ = repo.prop("ImageTagMutability")
            filters, path = repo.prop("ImageTagMutabilityExclusionFilters")
            if filters and filters is not UNRESOLVED and mode is not UNRESOLVED \
                    and mode not in EXCLUSION_MODES:
                matches.append(RuleMatch(path, "ImageTagMutabilityExclusionFilters need ImageTagMutability "
                                         f"{' or '.join(EXCLUSION_MODES)}, not {mode or 'MUTABLE (absent)'}"))
        return matches
