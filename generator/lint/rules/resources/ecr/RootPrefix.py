"""W9512: a ROOT creation template or pull-through cache rule in a template acts on the whole registry."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import CREATION_TEMPLATE_TYPE, PULL_THROUGH_CACHE_TYPE, repositories
from generator.model.pull_through_cache import ROOT

PREFIX_PROPERTIES = {CREATION_TEMPLATE_TYPE: "Prefix", PULL_THROUGH_CACHE_TYPE: "EcrRepositoryPrefix"}


class RootPrefix(CloudFormationLintRule):
    id = "W9512"
    shortdesc = "A ROOT creation template or pull-through cache rule belongs to the registry's owner"
    description = (
        "A repository creation template with Prefix ROOT applies to every repository ECR creates that "
        "no other template matches, every team's; a pull-through cache rule with EcrRepositoryPrefix "
        "ROOT caches into unprefixed names that any team may use. There is one of each per account and "
        "region: keep them in the stack of whoever owns the registry, not in a team's template."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html"
    tags = ("resources", "ecr", "registry")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for resource_type, key in PREFIX_PROPERTIES.items():
            for resource in repositories(cfn, resource_type):
                prefix, path = resource.prop(key)
                if prefix == ROOT:
                    matches.append(RuleMatch(path, f"{resource_type} {resource.name} with {key} ROOT acts on "
                                             "every team's repositories in the registry"))
        return matches
