"""W9503: without a lifecycle policy ECR keeps every image, and storage grows forever."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import repositories


class NoLifecyclePolicy(CloudFormationLintRule):
    id = "W9503"
    shortdesc = "ECR repositories should have a lifecycle policy"
    description = (
        "ECR never deletes an image by itself and storage is billed per GB-month, so a repository "
        "without LifecyclePolicy.LifecyclePolicyText grows forever. Quiet when the resource's "
        "Metadata.ecrgen records a lifecycle policy that ecrgen post-deploy applies."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html"
    tags = ("resources", "ecr", "lifecycle")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            policy, path = repo.setting(["LifecyclePolicy", "LifecyclePolicyText"], "lifecyclePolicy")
            if policy is None:
                matches.append(RuleMatch(path, f"repository {repo.name} has no lifecycle policy: "
                                         "old images are kept (and billed) forever"))
        return matches
