"""W9501: tags left MUTABLE with no exclusions lose the link between a running image and its commit."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.cfn_rules._helpers import repositories


class MutableTags(CloudFormationLintRule):
    id = "W9501"
    shortdesc = "ECR image tags should not be plain MUTABLE"
    description = (
        "With MUTABLE tags (also what an absent ImageTagMutability means) a tag can be pushed "
        "again, so a running task no longer traces back to one image and commit. Use IMMUTABLE, "
        "or IMMUTABLE_WITH_EXCLUSION to keep a few tags such as 'latest' mutable. Quiet when the "
        "resource's Metadata.ecrgen records a different mode that ecrgen post-deploy enforces."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"
    tags = ("resources", "ecr", "mutability")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            mode, path = repo.setting(["ImageTagMutability"], "imageTagMutability")
            if mode in (None, "MUTABLE"):
                matches.append(RuleMatch(path, f"repository {repo.name} has "
                                         f"{'MUTABLE' if mode else 'no ImageTagMutability (MUTABLE)'} "
                                         "tags: use IMMUTABLE or IMMUTABLE_WITH_EXCLUSION"))
        return matches
