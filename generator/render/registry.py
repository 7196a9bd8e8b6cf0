"""`registry.via: template`: the registry documents as CloudFormation singletons.

Each of `AWS::ECR::RegistryScanningConfiguration`, `ReplicationConfiguration`, `RegistryPolicy` and
`SigningConfiguration`
REPLACES the whole document of the account and region, every other team's part included: this
route is for those who own the whole registry (lint's W9510 warns about it everywhere else).
"""

from __future__ import annotations

from typing import Any

from troposphere import AWSObject, Ref, Sub, ecr

from generator.model.config import Config
from generator.model.registry import TARGET_PLACEHOLDERS
from generator.model.repository import SYSTEM_NAME_PLACEHOLDER


def resources(config: Config) -> list[AWSObject]:
    """The singletons the config's registry section asks for; none unless `via: template`."""
    section = config.registry
    if section is None or section.via != "template":
        return []
    scanning = section.scanning
    rules = [ecr.ScanningRule(ScanFrequency=frequency, RepositoryFilters=[
                 ecr.RepositoryFilter(Filter=_sub(value), FilterType="WILDCARD") for value in values])
             for frequency, values in (("SCAN_ON_PUSH", scanning.scan_on_push),
                                       ("CONTINUOUS_SCAN", scanning.continuous)) if values]
    out: list[Any] = []
    if scanning.type or rules:
        out.append(ecr.RegistryScanningConfiguration("EcrgenRegistryScanning",
                                                     ScanType=scanning.type or "BASIC", Rules=rules))
    if section.replication:
        out.append(ecr.ReplicationConfiguration("EcrgenReplication", ReplicationConfiguration=(
            ecr.ReplicationConfigurationProperty(Rules=[ecr.ReplicationRule(
                Destinations=[ecr.ReplicationDestination(Region=d.region,
                                                         RegistryId=d.registry_id or Ref("AWS::AccountId"))
                              for d in rule.destinations],
                RepositoryFilters=[ecr.RepositoryFilter(Filter=_sub(prefix), FilterType="PREFIX_MATCH")
                                   for prefix in rule.prefixes]) for rule in section.replication]))))
    if section.policy_statements:
        out.append(ecr.RegistryPolicy("EcrgenRegistryPolicy", PolicyText={
            "Version": "2012-10-17", "Statement": [_sub(s) for s in section.policy_statements]}))
    if section.signing is not None:
        out.append(ecr.SigningConfiguration("EcrgenSigning", Rules=[ecr.Rule(
            SigningProfileArn=rule.signing_profile,
            RepositoryFilters=[ecr.RepositoryFilter(Filter=_sub(value), FilterType="WILDCARD_MATCH")
                               for value in rule.filters]) for rule in section.signing]))
    return out


def _sub(value: Any) -> Any:
    """Strings that name ${SystemName}, ${AWS::Region}, ${AWS::AccountId} or ${AWS::Partition}
    become `!Sub` (any other `${...}`, a policy variable, escaped), in any nesting."""
    live = (SYSTEM_NAME_PLACEHOLDER, *TARGET_PLACEHOLDERS)
    if isinstance(value, str) and any(placeholder in value for placeholder in live):
        text = value.replace("${", "${!")
        for placeholder in live:
            text = text.replace(placeholder.replace("${", "${!"), placeholder)
        return Sub(text)
    if isinstance(value, list):
        return [_sub(item) for item in value]
    if isinstance(value, dict):
        return {key: _sub(item) for key, item in value.items()}
    return value
