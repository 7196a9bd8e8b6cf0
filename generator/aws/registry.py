"""Live registry documents: read them, and write a merged one without losing a concurrent writer's.

ECR has no conditional put: every `Put*` replaces the whole document. So a write is a bounded
read-merge-write loop: read the document again just before writing (the plan's read may be
minutes old) and merge into that, write only when the merge changes it, read it back and check
that this config's part is there; if another writer replaced the document in the meantime,
merge into what it wrote and try again, at most `MAX_ATTEMPTS` times. Another writer's part is
therefore never dropped by a merge, and this config's part survives a writer that drops it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from generator.aws.ecr import describe, failures
from generator.model.registry import Part
from generator.reconcile.registry_merge import (
    REPLICATION,
    SCANNING,
    SETTINGS,
    SIGNING,
    Conflict,
    DocumentPlan,
    Left,
    left_alone,
    merge,
    plan,
    policy_text,
)

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class LiveRegistry:
    """Each document as read (setting -> document), the account's registry id, unreadable ones."""

    documents: dict[str, Any] = field(default_factory=dict)
    registry_id: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What the write loop ended with: the document now live, or why it failed."""

    document: Any
    error: str | None = None
    writes: int = 0  # how many times it was written


def read(ecr: Any, concurrency: int) -> LiveRegistry:
    """The three documents, one read each, concurrently."""
    with ThreadPoolExecutor(min(concurrency, len(SETTINGS))) as pool:
        results = dict(zip(SETTINGS, pool.map(lambda s: _read_safely(ecr, s), SETTINGS), strict=True))
    documents = {s: doc for s, (doc, _, error) in results.items() if error is None}
    errors = {s: error for s, (_, _, error) in results.items() if error is not None}
    registry_id = next((rid for _, rid, _ in results.values() if rid), "")
    return LiveRegistry(documents, registry_id, errors)


def _read_safely(ecr: Any, setting: str) -> tuple[Any, str, str | None]:
    try:
        document, registry_id, _ = read_document(ecr, setting)
        return document, registry_id, None
    except Conflict as exc:
        return None, "", str(exc)
    except failures() as exc:
        return None, "", describe(exc)


def read_document(ecr: Any, setting: str) -> tuple[Any, str, str | None]:
    """(document, registry id, the policy's text as ECR holds it, None for the other documents);
    the policy is None when the registry has none."""
    if setting == SCANNING:
        response = ecr.get_registry_scanning_configuration()
        document = response.get("scanningConfiguration") or {"scanType": "BASIC", "rules": []}
        return document, response["registryId"], None
    if setting == REPLICATION:
        response = ecr.describe_registry()
        return response.get("replicationConfiguration") or {"rules": []}, response["registryId"], None
    if setting == SIGNING:
        try:
            response = ecr.get_signing_configuration()
        except ecr.exceptions.SigningConfigurationNotFoundException:
            return {"rules": []}, "", None
        return response.get("signingConfiguration") or {"rules": []}, response.get("registryId", ""), None
    try:
        response = ecr.get_registry_policy()
    except ecr.exceptions.RegistryPolicyNotFoundException:
        return None, "", None
    try:
        return json.loads(response["policyText"]), response["registryId"], response["policyText"]
    except ValueError:
        raise Conflict("the live registry policy is not JSON; fix it by hand first") from None


def write_document(ecr: Any, setting: str, document: Any, live_text: str | None = None) -> None:
    """Put `document`; the policy keeps the bytes of `live_text` (the text it was merged into)
    wherever the merge left them alone."""
    if setting == SCANNING:
        ecr.put_registry_scanning_configuration(scanType=document["scanType"], rules=document["rules"])
    elif setting == REPLICATION:
        ecr.put_replication_configuration(replicationConfiguration={"rules": document["rules"]})
    elif setting == SIGNING:
        ecr.put_signing_configuration(signingConfiguration={"rules": document["rules"]})
    else:
        ecr.put_registry_policy(policyText=policy_text(document, live_text))


def reconcile(ecr: Any, setting: str, parts: Sequence[Part], registry_id: str) -> Outcome:
    """Read, merge, write when it changes anything, read back and verify; bounded retries."""
    try:
        current, _, text = read_document(ecr, setting)
        for attempt in range(MAX_ATTEMPTS + 1):
            merged = merge(setting, current, parts, registry_id)
            if merged == current:  # in place: before any write, or verified after one
                return Outcome(current, writes=attempt)
            if attempt == MAX_ATTEMPTS:
                break
            write_document(ecr, setting, merged, text)
            current, _, text = read_document(ecr, setting)  # the read-back: did another writer replace it?
    except Conflict as exc:
        return Outcome(None, str(exc))
    except failures() as exc:
        return Outcome(None, describe(exc))
    return Outcome(None, f"another writer kept replacing the {setting} document; gave up after "
                         f"{MAX_ATTEMPTS} attempts without losing its changes", MAX_ATTEMPTS)


@dataclass(frozen=True)
class Run:
    """What reconciling the registry part found and did."""

    plans: list[DocumentPlan]            # documents to write, or that cannot be
    outcomes: dict[str, tuple[Any, str | None]] | None  # setting -> (live document, error); None: planned
    scanning: Any                        # the scanning document in force afterwards (or planned)
    left: list[Left]                     # elements that look like ours but are not
    skipped: list[tuple[str, str]]       # (item, why) of the part that this account and region cannot take


def reconcile_all(ecr: Any, parts: Sequence[Part], current: LiveRegistry, concurrency: int,
                  apply: bool) -> Run:
    """The plan from `current`; unless only planning, each changed document reconciled,
    concurrently (they are independent). Each part is first taken as this account and region
    take it (`Part.for_target`)."""
    targeted = [part.for_target(ecr.meta.region_name, current.registry_id, ecr.meta.partition)
                for part in parts]
    parts = [part for part, _ in targeted]
    skipped = [item for _, dropped in targeted for item in dropped]
    plans = plan(current.documents, current.errors, parts, current.registry_id)
    left = left_alone(current.documents, parts)
    scanning = current.documents.get(SCANNING)
    scanning = next((p.after for p in plans if p.setting == SCANNING and p.error is None), scanning)
    settings = [p.setting for p in plans if p.error is None]
    if not apply:
        return Run(plans, None, scanning, left, skipped)
    with ThreadPoolExecutor(max(1, min(concurrency, len(settings)))) as pool:
        done = dict(zip(settings, pool.map(lambda s: reconcile(ecr, s, parts, current.registry_id), settings),
                        strict=True))
    if SCANNING in done:
        outcome = done[SCANNING]
        scanning = outcome.document if outcome.error is None else current.documents.get(SCANNING)
    outcomes = {setting: (o.document, o.error) for setting, o in done.items()}
    return Run(plans, outcomes, scanning, left, skipped)
