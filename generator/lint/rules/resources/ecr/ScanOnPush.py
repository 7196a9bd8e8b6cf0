"""W9502: scan on push is free, so it should be on."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import UNRESOLVED, repositories


class ScanOnPush(CloudFormationLintRule):
    id = "W9502"
    shortdesc = "ECR scan on push should be on"
    description = (
        "Basic scanning on push costs nothing and finds known vulnerabilities as soon as an image "
        "lands. Set ImageScanningConfiguration.ScanOnPush to true (absent means off). Quiet when "
        "the resource's Metadata.ecrgen records scanOnPush true, which ecrgen post-deploy enforces."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html"
    tags = ("resources", "ecr", "scanning")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            scan, path = repo.setting(["ImageScanningConfiguration", "ScanOnPush"], "scanOnPush")
            if scan is not UNRESOLVED and str(scan).lower() != "true":
                matches.append(RuleMatch(path, f"repository {repo.name} does not scan images on push: "
                                         "set ImageScanningConfiguration.ScanOnPush to true"))
        return matches
