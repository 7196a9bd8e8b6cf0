"""`registry.pull_time_exclusions` as `AWS::ECR::PullTimeUpdateExclusion` resources, one per principal.

Unlike the registry's documents, an exclusion is one principal's entry, not a shared document:
creating it touches no other team's, so it is a plain resource whatever `registry.via` says.
"""

from __future__ import annotations

from troposphere import ecr

from generator.model.registry_settings import exclusion_id

ID_PREFIX = "EcrgenPullTimeExclusion"


def resource_id(principal_arn: str) -> str:
    """`arn:aws:iam::111122223333:role/scanner` -> `EcrgenPullTimeExclusion111122223333RoleScanner`."""
    return ID_PREFIX + exclusion_id(principal_arn)


def resources(principals: tuple[str, ...] | list[str]) -> list[ecr.PullTimeUpdateExclusion]:
    return [ecr.PullTimeUpdateExclusion(resource_id(arn), PrincipalArn=arn) for arn in principals]
