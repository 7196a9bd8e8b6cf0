"""`ecrgen post-deploy --stack-set`: the same reconcile in every stack instance of a StackSet."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from generator.model.roles import DEFAULT_EXECUTION_ROLE
from generator.model.targets import Targets

if TYPE_CHECKING:
    from generator.aws.in_use import GuardRequest


def run(stack_sets: Sequence[str], accounts: Sequence[str], regions: Sequence[str], role: str | None,
        aws: Mapping[str, Any], concurrency: int, write: bool, check: bool, as_json: bool,
        targets: Targets | None = None, guard: GuardRequest | None = None) -> int:
    """Reconcile every instance (each with the in-use `guard`, when given); print the fleet
    report; the exit code.

    Flags win over `targets` from ecr.yaml; a self-managed `targets` narrows to its accounts.
    """
    from generator.aws import fleet
    from generator.aws.client import make_client, make_session, user_errors
    from generator.aws.ecr import CallCounter
    from generator.reconcile import fleet as fleet_report

    if targets is not None:
        stack_sets = stack_sets or [targets.stack_set]
        accounts = accounts or targets.accounts or []
        regions = regions or targets.regions
        role = role or targets.execution_role
    gate, counter = fleet.CallGate(concurrency), CallCounter()
    options = {"endpoint_url": aws.get("endpoint_url")}
    with user_errors("post-deploy"):
        session = make_session(aws.get("profile"))
        admin = [make_client(service, region=aws.get("region"), pool_size=concurrency, session=session,
                             **options) for service in ("cloudformation", "sts")]
        for client in admin:
            counter.attach(client)
            gate.attach(client)
        cfn, sts = admin
        found = [target for name in dict.fromkeys(stack_sets)
                 for target in fleet.list_targets(cfn, name, accounts, regions)]
        credentials = fleet.assume_roles(sts, [t.account for t in found], role or DEFAULT_EXECUTION_ROLE,
                                         concurrency)
        settings = fleet.Fleet(session, options, concurrency, write, guard)
        sections = fleet.reconcile(settings, found, credentials, gate)
    result = fleet_report.build(sections, counter.counts)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        fleet_report.render_text(result, sys.stdout)
    for line in fleet_report.failures(result):
        print(line, file=sys.stderr)
    return fleet_report.exit_code(result, check)
