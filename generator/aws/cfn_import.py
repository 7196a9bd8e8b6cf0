"""`ecrgen import --execute`: take the imported repositories under CloudFormation with an IMPORT
change set (create it, wait for it, execute it, wait for the import), as the printed commands do.

A template over 51,200 bytes cannot go in the call itself: it is uploaded to S3 first
(`--s3-bucket`) and the change set reads it from its URL, as `aws cloudformation deploy
--s3-bucket` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from generator.aws.ecr import describe, failures

CHANGE_SET = "ecrgen-import"


class ImportFailed(Exception):
    """The change set could not be made or executed: the message says at which step and why."""


def template_key(stack: str, file_name: str) -> str:
    """The S3 key of the import template: one per stack, so runs for other stacks never collide."""
    return f"{stack}/{file_name}"


def template_url(s3: Any, bucket: str, key: str) -> str:
    """The URL CloudFormation reads the uploaded template from: the S3 endpoint of the client's
    region, path style, as the AWS CLI makes it for `deploy --s3-bucket`."""
    return f"{s3.meta.endpoint_url}/{bucket}/{quote(key)}"


def bucket_problem(s3: Any, bucket: str) -> str | None:
    """Why the template cannot be uploaded to `bucket` (None: it can), asked before anything is
    written."""
    try:
        s3.head_bucket(Bucket=bucket)
    except failures() as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            return "no such bucket"
        if code in ("403", "AccessDenied"):
            return "access denied"
        return describe(exc)
    return None


def upload_template(s3: Any, bucket: str, key: str, body: str) -> str:
    """Put the template in S3; its URL for the change set."""
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/x-yaml")
    except failures() as exc:
        raise ImportFailed(f"upload to s3://{bucket}/{key}: {describe(exc)}") from None
    return template_url(s3, bucket, key)


def import_stack(cfn: Any, stack: str, template: Mapping[str, str], resources: Sequence[dict[str, Any]],
                 parameters: Mapping[str, str]) -> None:
    """Create the IMPORT change set (a new stack or an existing one), wait, execute, wait.

    `template` is `{"TemplateBody": text}` or `{"TemplateURL": url}`; `parameters` are the
    template's own (none when it declares none: CloudFormation refuses an unknown one).
    """
    from botocore.exceptions import WaiterError

    names = {"StackName": stack, "ChangeSetName": CHANGE_SET}
    given = [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()]
    step = "create-change-set"
    try:
        cfn.create_change_set(**names, ChangeSetType="IMPORT", **template, ResourcesToImport=list(resources),
                              **({"Parameters": given} if given else {}))
        step = "wait for the change set"
        cfn.get_waiter("change_set_create_complete").wait(**names, WaiterConfig={"Delay": 5})
        step = "execute-change-set"
        cfn.execute_change_set(**names)
        step = "wait for the import"
        cfn.get_waiter("stack_import_complete").wait(StackName=stack, WaiterConfig={"Delay": 5})
    except WaiterError as exc:
        reason = exc.last_response.get("StatusReason") or exc.last_response.get("Stacks", [{}])[0].get(
            "StackStatusReason") or str(exc)
        raise ImportFailed(f"{step}: {reason}") from None
    except failures() as exc:
        raise ImportFailed(f"{step}: {describe(exc)}") from None
