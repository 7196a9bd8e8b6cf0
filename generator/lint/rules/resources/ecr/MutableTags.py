"""W9501: tags left mutable (MUTABLE, or all but a few) lose the link from a running image to its commit."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import repositories

# Modes that leave most tags mutable, as the finding describes them.
_MUTABLE = {
    None: "no ImageTagMutability (MUTABLE)",
    "MUTABLE": "MUTABLE",
    "MUTABLE_WITH_EXCLUSION": "MUTABLE_WITH_EXCLUSION (all but the excluded)",
}


class MutableTags(CloudFormationLintRule):
    id = "W9501"
    shortdesc = "ECR image tags should not be MUTABLE or MUTABLE_WITH_EXCLUSION"
    description = (
        "With MUTABLE tags (also what an absent ImageTagMutability means) a tag can be pushed "
        "again, so a running task no longer traces back to one image and commit. "
        "MUTABLE_WITH_EXCLUSION protects only the tags its filters match and leaves every other "
        "tag mutable. Use IMMUTABLE, or IMMUTABLE_WITH_EXCLUSION to keep a few tags such as "
        "'latest' mutable. Quiet when the resource's Metadata.ecrgen records a different mode "
        "that ecrgen post-deploy enforces."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"
    tags = ("resources", "ecr", "mutability")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            mode, path = repo.setting(["ImageTagMutability"], "imageTagMutability")
            if mode in _MUTABLE:
                matches.append(RuleMatch(path, f"repository {repo.name} has {_MUTABLE[mode]} tags: "
                                         "use IMMUTABLE or IMMUTABLE_WITH_EXCLUSION"))
        return matches
