"""W9510: a registry-wide ECR singleton in a template replaces every other team's part of it."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

SINGLETONS = ("AWS::ECR::RegistryScanningConfiguration", "AWS::ECR::ReplicationConfiguration",
              "AWS::ECR::RegistryPolicy", "AWS::ECR::SigningConfiguration")


class RegistrySingleton(CloudFormationLintRule):
    id = "W9510"
    shortdesc = "Registry-wide ECR document owned by one stack"
    description = (
        "AWS::ECR::RegistryScanningConfiguration, ReplicationConfiguration, RegistryPolicy and "
        "SigningConfiguration each hold the one document of the account and region. Deploying one "
        "replaces the whole document: every other team's scanning filters, replication rules, policy "
        "statements or signing rules are lost. Keep "
        "them out of shared accounts, or let `ecrgen post-deploy` merge only this config's part "
        "(`registry:` in ecr.yaml without `via: template`)."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-settings.html"
    tags = ("resources", "ecr", "registry")

    def match(self, cfn: Template) -> list[RuleMatch]:
        return [RuleMatch(["Resources", name], f"{resource.get('Type')} {name} replaces the registry's whole "
                          "document, every other team's part included")
                for name, resource in cfn.get_resources(list(SINGLETONS)).items()]
