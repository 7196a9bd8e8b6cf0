"""Desired settings from a deployed CloudFormation stack: its template plus its physical names."""

from __future__ import annotations

from typing import Any

from generator.aws.client import error_code, unreadable_reply
from generator.base import template_body
from generator.base.errors import InputError
from generator.model import implicit, registry, registry_metadata
from generator.reconcile import desired


def desired_from_stack(cfn: Any, stack: str) -> list[desired.RepositorySettings]:
    """Each repository's desired settings in the stack."""
    return read_stack(cfn, stack)[0]


def read_stack(cfn: Any, stack: str) -> tuple[list[desired.RepositorySettings], registry.Part | None]:
    """Each repository's desired settings, and the registry part the template's top-level
    `Metadata.ecrgen` asks for (None without one), for the SystemName the stack was deployed with."""
    settings, part, _ = read_whole_stack(cfn, stack)
    return settings, part


def read_whole_stack(cfn: Any, stack: str) -> tuple[list[desired.RepositorySettings], registry.Part | None,
                                                   implicit.Implicit]:
    """`read_stack`'s, and the pull-through cache rules and creation templates the template's
    top-level `Metadata.ecrgen` records, for the same SystemName.

    Reads the stack's template (one GetTemplate, the Processed stage: what CloudFormation made of
    transforms such as AWS::LanguageExtensions' Fn::ForEach) and resources (ListStackResources,
    every page),
    and its parameters (DescribeStacks) only when a repository setting uses an intrinsic function
    or the template has a registry part (or rules or templates).
    """
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.parsers import ResponseParserError

    where = f"stack {stack}"
    try:
        template = template_body.parse(
            cfn.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"], where)
        names = {
            resource["LogicalResourceId"]: resource["PhysicalResourceId"]
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
            for resource in page["StackResourceSummaries"]
            if resource["ResourceType"] == desired.REPOSITORY_TYPE and resource.get("PhysicalResourceId")
            and resource.get("ResourceStatus") != "DELETE_COMPLETE"
        }
        described = (cfn.describe_stacks(StackName=stack)["Stacks"][0]
                     if desired.needs_stack_values(template) or registry_metadata.in_template(template)
                     or implicit.in_template(template) else None)
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        if error_code(exc) == "ValidationError" and "does not exist" in message:
            region = cfn.meta.region_name
            raise InputError(where, f"no such stack in region {region}") from None
        raise InputError(where, f"cannot read the stack: {error_code(exc)}: {message}") from None
    except (ResponseParserError, HTTPClientError) as exc:
        raise InputError(where, f"cannot read the stack: {unreadable_reply(exc)}") from None
    system_name = next((p.get("ParameterValue") for p in (described or {}).get("Parameters") or []
                        if p.get("ParameterKey") == "SystemName"), None)
    return (desired.from_template(template, names, where, described),
            registry_metadata.from_template(template, where, system_name),
            implicit.from_template(template, where, system_name))
