"""`ecrgen import --execute`: take the imported repositories under CloudFormation with an IMPORT
change set (create it, wait for it, execute it, wait for the import), as the printed commands do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.aws.ecr import describe, failures

CHANGE_SET = "ecrgen-import"


class ImportFailed(Exception):
    """The change set could not be made or executed: the message says at which step and why."""


def import_stack(cfn: Any, stack: str, template_body: str, resources: Sequence[dict[str, Any]],
                 system_name: str) -> None:
    """Create the IMPORT change set (a new stack or an existing one), wait, execute, wait."""
    from botocore.exceptions import WaiterError

    names = {"StackName": stack, "ChangeSetName": CHANGE_SET}
    step = "create-change-set"
    try:
        cfn.create_change_set(**names, ChangeSetType="IMPORT", TemplateBody=template_body,
                              ResourcesToImport=list(resources),
                              Parameters=[{"ParameterKey": "SystemName", "ParameterValue": system_name}])
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
