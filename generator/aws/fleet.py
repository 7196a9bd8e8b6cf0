"""post-deploy across a CloudFormation StackSet: every stack instance, every account and region.

`ListStackInstances` (every page) names the targets; the caller's own account is used as it is
(`GetCallerIdentity`, once) and every other account through its StackSet execution role
(`AssumeRole`, once per account). Each instance's stack is then read and reconciled exactly as
`post-deploy --stack-name` does (`aws.post_deploy.reconcile`: the repositories and the registry
part, for that account and region), all targets at once, with one bound on the API calls in flight
across the whole fleet (`CallGate`). A target that fails (role not assumable, stack missing,
throttled past the retries) fails alone; the others complete. Assumed credentials live in memory
only, in the clients that use them, and are never printed.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator.aws import ecr as aws_ecr
from generator.aws import post_deploy
from generator.aws.client import error_code, make_client
from generator.aws.ecr import failures
from generator.aws.stack import read_whole_stack
from generator.aws.stack_names import live_statuses
from generator.base.errors import InputError
from generator.model import registry
from generator.model.implicit import Implicit
from generator.reconcile import desired, report
from generator.reconcile.diff import Plan
from generator.reconcile.in_use import require_discovery

if TYPE_CHECKING:
    from generator.aws.in_use import GuardRequest

INSTANCES_PAGE = 100  # ListStackInstances' MaxResults
ROLE_SESSION_NAME = "ecrgen-post-deploy"


@dataclass(frozen=True)
class Target:
    """One stack instance: its StackSet, where it lives, the stack id ListStackInstances gives."""

    stack_set: str
    account: str
    region: str
    stack_id: str

    @property
    def label(self) -> str:
        return f"{self.stack_set} {self.account}/{self.region}"


class CallGate:
    """At most `limit` API calls in flight across every client attached, however many threads."""

    _MARK = "ecrgen_gate"

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-call.*.*", self._enter)
        events.register("after-call.*.*", self._leave)
        events.register("after-call-error.*.*", self._leave)

    def _enter(self, context: dict[str, Any], **_: Any) -> None:
        self._slots.acquire()
        context[self._MARK] = True

    def _leave(self, context: dict[str, Any], **_: Any) -> None:
        if context.pop(self._MARK, False):
            self._slots.release()


def list_targets(cfn: Any, stack_set: str, accounts: Sequence[str] = (),
                 regions: Sequence[str] = ()) -> list[Target]:
    """Every stack instance of `stack_set` (every page), narrowed to `accounts` and `regions`."""
    from botocore.exceptions import ClientError

    try:
        summaries = [summary for page in cfn.get_paginator("list_stack_instances").paginate(
                         StackSetName=stack_set, PaginationConfig={"PageSize": INSTANCES_PAGE})
                     for summary in page["Summaries"]]
    except ClientError as exc:
        if error_code(exc) == "StackSetNotFoundException":
            raise InputError(f"stack set {stack_set}", f"no such StackSet in region {cfn.meta.region_name}: "
                             "give the region the StackSet was created in (--region)") from None
        raise InputError(f"stack set {stack_set}",
                         f"cannot list its instances: {aws_ecr.describe(exc)}") from None
    targets = [Target(stack_set, s["Account"], s["Region"], s.get("StackId") or "") for s in summaries
               if (not accounts or s["Account"] in accounts) and (not regions or s["Region"] in regions)]
    if not targets:
        narrowed = " matching --accounts/--regions" if accounts or regions else ""
        raise InputError(f"stack set {stack_set}", f"has no stack instances{narrowed}")
    return sorted(targets, key=lambda t: (t.account, t.region))


Credentials = dict[str, str] | str | None  # keys for create_client; None: the caller's own; str: the error


def assume_roles(sts: Any, accounts: Sequence[str], role: str, concurrency: int) -> dict[str, Credentials]:
    """Account -> credentials for it (None: the caller's own account), or why there are none."""
    identity = sts.get_caller_identity()
    partition = identity["Arn"].split(":")[1]

    def assume(account: str) -> Credentials:
        if account == identity["Account"]:
            return None
        arn = f"arn:{partition}:iam::{account}:role/{role}"
        try:
            found = sts.assume_role(RoleArn=arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
        except failures() as exc:
            return f"cannot assume {arn}: {aws_ecr.describe(exc)}"
        return {"aws_access_key_id": found["AccessKeyId"], "aws_secret_access_key": found["SecretAccessKey"],
                "aws_session_token": found["SessionToken"]}

    unique = list(dict.fromkeys(accounts))
    with ThreadPoolExecutor(max(1, min(len(unique), concurrency))) as pool:
        return dict(zip(unique, pool.map(assume, unique), strict=True))


def instance_stack(cfn: Any, target: Target) -> tuple[list[desired.RepositorySettings], registry.Part | None,
                                                     Implicit]:
    """The desired settings of the instance's stack, its registry part, its pull-through cache rules
    and creation templates (see `read_whole_stack`).

    ListStackInstances' StackId names the stack on AWS (`StackSet-<name>-<uuid>`); where it
    names nothing (moto names the stack `StackSet:<name>`), the stack is found by name instead.
    """
    try:
        if not target.stack_id:
            raise InputError(target.label, "the stack instance has no stack (its last operation failed?)")
        return read_whole_stack(cfn, target.stack_id)
    except InputError as by_id:
        name = re.escape(target.stack_set)
        own = re.compile(rf"StackSet(:{name}|-{name}-[0-9a-f-]{{36}})\Z")
        live = [s["StackName"] for page in cfn.get_paginator("list_stacks").paginate(
                    StackStatusFilter=live_statuses(cfn))
                for s in page["StackSummaries"] if own.match(s["StackName"])]
        if len(live) != 1:
            raise by_id from None
        return read_whole_stack(cfn, live[0])


@dataclass
class Fleet:
    """What `reconcile` needs besides the targets: how to make clients, and what to do."""

    session: Any                        # one botocore session for every client (see make_client)
    client_options: Mapping[str, Any]   # endpoint_url, as make_client takes it
    concurrency: int
    write: bool
    guard: GuardRequest | None = None  # the in-use guard, run in every target on its own workloads

    @property
    def services(self) -> tuple[str, ...]:
        """The clients each target needs: its stack, its ECR, and the in-use sources' services."""
        return ("cloudformation", "ecr", *(self.guard.sources.services if self.guard else ()))


def reconcile(fleet: Fleet, targets: Sequence[Target], credentials: Mapping[str, Credentials],
              gate: CallGate) -> list[dict[str, Any]]:
    """Each target's report section, in `targets` order; every target runs, whatever the others do.

    Clients are made first, in this thread (a botocore session is not thread-safe), then every
    target runs in the pool. With the in-use guard, each target's discovery reads its own
    account and region's ECS and Lambda, and its guard judges its own repositories.
    """
    def clients(target: Target) -> dict[str, Any] | str:
        creds = credentials[target.account]
        if isinstance(creds, str):
            return creds
        made = {service: make_client(service, region=target.region, session=fleet.session, credentials=creds,
                                     pool_size=fleet.concurrency, **fleet.client_options)
                for service in fleet.services}
        for client in made.values():
            gate.attach(client)
        return made

    from botocore.exceptions import BotoCoreError

    def one(target: Target, made: dict[str, Any] | str) -> dict[str, Any]:
        counter = aws_ecr.CallCounter()
        if isinstance(made, str):
            return section(target, None, counter.counts, made)
        for client in made.values():
            counter.attach(client)
        cfn, ecr, guard = made["cloudformation"], made["ecr"], fleet.guard
        try:
            wishes, part, created = instance_stack(cfn, target)
            require_discovery(wishes, guard is not None)
            start_guard = None if guard is None else guard.starter(
                ecr, {service: made[service] for service in guard.sources.services}, wishes,
                write=fleet.write, concurrency=fleet.concurrency)
            built = post_deploy.reconcile(ecr, wishes, [part] if part else [], fleet.concurrency, fleet.write,
                                          counter.counts, start_guard=start_guard, created=created)
        except (InputError, BotoCoreError, *failures()) as exc:
            error = exc.render() if isinstance(exc, InputError) else aws_ecr.describe(exc)
            return section(target, None, counter.counts, error)
        return section(target, built, counter.counts, None)

    prepared = [clients(target) for target in targets]
    with ThreadPoolExecutor(max(1, min(len(targets), fleet.concurrency))) as pool:
        return list(pool.map(one, targets, prepared))


def section(target: Target, built: dict[str, Any] | None, calls: Counter[str],
            error: str | None) -> dict[str, Any]:
    """One target in the fleet report: `{"account", "region", "status", "repositories", "summary"}`,
    and `registry` when the stack has a registry part; its status counts the registry's too."""
    if built is None:
        built = report.build(Plan(()), None, calls)
    summary = built["summary"]
    registry_status = (built.get("registry") or {}).get("status")
    if error or report.exit_code(built, check=False):
        status = "failed"
    else:
        status = next((s for s in ("planned", "changed") if summary[s] or registry_status == s), "in-sync")
    out = {"stackSet": target.stack_set, "account": target.account, "region": target.region,
           "status": status, **built}
    if error:
        out["error"] = error
    return out
