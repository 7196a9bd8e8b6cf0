"""Desired settings from a deployed CloudFormation stack: its template plus its physical names."""

from __future__ import annotations

from typing import Any

from generator import desired, registry
from generator.aws.client import error_code
from generator.errors import InputError


def desired_from_stack(cfn: Any, stack: str) -> list[desired.RepositorySettings]:
    """Read the stack's template (GetTemplate) and resources (ListStackResources, every page)."""
    return read_stack(cfn, stack)[0]


def read_stack(cfn: Any, stack: str) -> tuple[list[desired.RepositorySettings], registry.Part | None]:
    """Each repository's desired settings, and the registry part the template's top-level
    `Metadata.ecrgen` asks for (None without one): from one GetTemplate."""
    from botocore.exceptions import ClientError

    where = f"stack {stack}"
    try:
        body = cfn.get_template(StackName=stack)["TemplateBody"]
        names = {
            resource["LogicalResourceId"]: resource["PhysicalResourceId"]
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
            for resource in page["StackResourceSummaries"]
            if resource["ResourceType"] == desired.REPOSITORY_TYPE and resource.get("PhysicalResourceId")
            and resource.get("ResourceStatus") != "DELETE_COMPLETE"
        }
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        if error_code(exc) == "ValidationError" and "does not exist" in message:
            region = cfn.meta.region_name
            raise InputError(where, f"no such stack in region {region}") from None
        raise InputError(where, f"cannot read the stack: {error_code(exc)}: {message}") from None
    template = desired.parse_template(body, where)
    return desired.from_template(template, names, where), registry.from_template(template, where)
