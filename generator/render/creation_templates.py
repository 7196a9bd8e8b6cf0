"""Repository creation templates as `AWS::ECR::RepositoryCreationTemplate` resources.

The lifecycle policy is rendered as the same readable, indented JSON as a repository's
`LifecyclePolicyText`, and the repository policy likewise (an `Fn::Sub` when it names this
account, region or partition, as a Lambda statement does).
"""

from __future__ import annotations

from typing import Any

from troposphere import Sub, Tags, ecr

from generator.model.creation_templates import CreationTemplate
from generator.model.repository import SYSTEM_NAME_PLACEHOLDER
from generator.render.pull_through_cache import resource_id, sub

ID_PREFIX = "EcrgenCreationTemplate"
AWS_PLACEHOLDERS = ("${AWS::AccountId}", "${AWS::Region}", "${AWS::Partition}")


def resources(templates: tuple[CreationTemplate, ...]) -> list[ecr.RepositoryCreationTemplate]:
    return [_template(template) for template in templates]


def _template(template: CreationTemplate) -> ecr.RepositoryCreationTemplate:
    encryption = {"EncryptionType": template.encryption.type}
    if template.encryption.kms_key:
        encryption["KmsKey"] = template.encryption.kms_key
    props: dict[str, Any] = {
        "Prefix": sub(template.prefix), "AppliedFor": list(template.applied_for),
        "ImageTagMutability": template.image_tag_mutability,
        "EncryptionConfiguration": ecr.EncryptionConfiguration(**encryption)}
    if template.mutability_exclusions:
        props["ImageTagMutabilityExclusionFilters"] = [
            ecr.ImageTagMutabilityExclusionFilter(ImageTagMutabilityExclusionFilterType="WILDCARD",
                                                  ImageTagMutabilityExclusionFilterValue=value)
            for value in template.mutability_exclusions]
    if template.lifecycle_policy:
        props["LifecyclePolicy"] = template.lifecycle_policy.to_text()
    if template.repository_policy:
        props["RepositoryPolicy"] = _policy_text(template.repository_policy.to_text())
    if template.description:
        props["Description"] = template.description
    if template.custom_role_arn:
        props["CustomRoleArn"] = template.custom_role_arn
    if template.resource_tags:
        props["ResourceTags"] = Tags(dict(template.resource_tags))
    return ecr.RepositoryCreationTemplate(resource_id(ID_PREFIX, template.prefix), **props)


def _policy_text(text: str) -> Any:
    """The policy text, as an `Fn::Sub` when it names this account, region or partition; any other
    `${...}` (an IAM policy variable) escaped as `${!...}` so that Fn::Sub leaves it alone."""
    if not any(p in text for p in AWS_PLACEHOLDERS):
        return text
    escaped = text.replace("${", "${!")
    for placeholder in (*AWS_PLACEHOLDERS, SYSTEM_NAME_PLACEHOLDER):
        escaped = escaped.replace("${!" + placeholder[2:], placeholder)
    return Sub(escaped)
