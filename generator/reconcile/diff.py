"""The plan: desired settings against live ECR, computed purely, so apply only executes it.

Exclusion filters compare as sets, lifecycle and repository policies by meaning
(`lifecycle.Policy.key`, `repository_policy.Policy.key`), so a repository whose settings merely read
differently is in sync and gets no write. Each change carries the exact write call that fixes
it; only the `put_*` / `set_*` operations below can appear, so no plan can ever delete anything.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from generator.model import lifecycle, repository_policy
from generator.model.repository import EXCLUSION_MODES
from generator.reconcile.desired import RepositorySettings, Unmanaged
from generator.reconcile.phrases import mutability_text

# setting -> the one ECR write that sets it
WRITE_OPERATIONS: dict[str, str] = {
    "imageTagMutability": "put_image_tag_mutability",
    "scanOnPush": "put_image_scanning_configuration",
    "lifecyclePolicy": "put_lifecycle_policy",
    "repositoryPolicy": "set_repository_policy",
}


@dataclass(frozen=True)
class LiveRepository:
    """What ECR reports for one repository."""

    name: str
    image_tag_mutability: str
    exclusion_filters: frozenset[str] = frozenset()
    scan_on_push: bool = False
    lifecycle_text: str | None = None  # None: no policy, or not read because none is wanted
    arn: str = ""
    repository_policy_text: str | None = None  # None: no policy, or not read (none is wanted)


@dataclass(frozen=True)
class LiveState:
    """Live ECR for the desired names: found, missing, or unreadable (name -> error)."""

    repositories: Mapping[str, LiveRepository] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Change:
    """One setting to write: shown as `before -> after`, done by `operation(**params)`.

    Values are as JSON shows them: the mode (with filters) as text, scan on push as a boolean,
    the policy as compact JSON text (None when there is none).
    """

    repository: str
    setting: str
    before: str | bool | None
    after: str | bool
    params: Mapping[str, Any]

    @property
    def operation(self) -> str:
        return WRITE_OPERATIONS[self.setting]


@dataclass(frozen=True)
class RepositoryPlan:
    name: str
    changes: tuple[Change, ...] = ()
    missing: bool = False
    error: str | None = None  # the live state could not be read
    unmanaged: tuple[Unmanaged, ...] = ()  # settings the template gives in a way that cannot be compared
    kept: tuple[Unmanaged, ...] = ()  # live statements an AWS service added for itself: (setting, why kept)


@dataclass(frozen=True)
class Plan:
    repositories: tuple[RepositoryPlan, ...]

    @property
    def changes(self) -> list[Change]:
        return [change for repo in self.repositories for change in repo.changes]


def plan(desired: Sequence[RepositorySettings], live: LiveState) -> Plan:
    """Every change that makes live ECR match `desired`, in the order of `desired`."""
    out = []
    for wish in desired:
        if wish.name in live.errors:
            out.append(RepositoryPlan(wish.name, error=live.errors[wish.name], unmanaged=wish.unmanaged))
        elif wish.name in live.missing or wish.name not in live.repositories:
            out.append(RepositoryPlan(wish.name, missing=True, unmanaged=wish.unmanaged))
        else:
            repo = live.repositories[wish.name]
            kept = tuple(Unmanaged("repositoryPolicy", why) for _, why in _service_statements(wish, repo))
            out.append(RepositoryPlan(wish.name, changes(wish, repo), unmanaged=wish.unmanaged, kept=kept))
    return Plan(tuple(out))


def changes(wish: RepositorySettings, live: LiveRepository) -> tuple[Change, ...]:
    """The changes one repository needs; empty when it is in sync."""
    name = wish.name
    found: list[Change] = []
    if wish.image_tag_mutability is not None:
        want = (wish.image_tag_mutability, _filters(wish.image_tag_mutability, wish.exclusion_filters))
        have = (live.image_tag_mutability, _filters(live.image_tag_mutability, live.exclusion_filters))
        if want != have:
            params: dict[str, Any] = {"repositoryName": name, "imageTagMutability": want[0]}
            if want[1]:
                params["imageTagMutabilityExclusionFilters"] = [
                    {"filterType": "WILDCARD", "filter": value} for value in sorted(want[1])]
            found.append(Change(name, "imageTagMutability", mutability_text(*have),
                                mutability_text(*want), params))
    if wish.scan_on_push is not None and wish.scan_on_push != live.scan_on_push:
        found.append(Change(name, "scanOnPush", live.scan_on_push, wish.scan_on_push,
                            {"repositoryName": name,
                             "imageScanningConfiguration": {"scanOnPush": wish.scan_on_push}}))
    policy = wish.lifecycle_policy
    if policy is not None and not same_policy(policy, live.lifecycle_text):
        text = policy.to_text(indent=None)
        found.append(Change(name, "lifecyclePolicy", _compact(live.lifecycle_text), text,
                            {"repositoryName": name, "lifecyclePolicyText": text}))
    if wish.repository_policy is not None:
        wanted = wish.repository_policy.resolve(live.arn)
        kept = tuple(statement for statement, _ in _service_statements(wish, live))
        current = _live_policy(live.repository_policy_text or "")
        if current is None or repository_policy.Policy(tuple(
                s for s in current.statements if s not in kept), current.version).key() != wanted.key():
            text = replace(wanted, statements=wanted.statements + kept).to_text(indent=None)
            found.append(Change(name, "repositoryPolicy", _compact(live.repository_policy_text), text,
                                {"repositoryName": name, "policyText": text}))
    return tuple(found)


def _service_statements(wish: RepositorySettings, live: LiveRepository
                        ) -> list[tuple[repository_policy.Statement, str]]:
    """Statements of the live repository policy that an AWS service added for itself (Lambda's
    for a function of this account), with why they stay; only where `access` manages the policy,
    and never one that the wanted policy has itself."""
    current = _live_policy(live.repository_policy_text or "") if wish.repository_policy else None
    if current is None or wish.repository_policy is None:
        return []
    wanted = {s.key() for s in wish.repository_policy.resolve(live.arn).statements}
    return [(statement, why) for statement in current.statements
            if statement.key() not in wanted
            and (why := repository_policy.added_by_service(statement, live.arn)) is not None]


@functools.lru_cache(maxsize=256)
def _live_policy(text: str) -> repository_policy.Policy | None:
    """A live repository policy text as the model, parsed once however many repositories share
    it; None when it cannot be read (it never matches)."""
    try:
        return repository_policy.parse_text(text)
    except repository_policy.PolicyError:
        return None


def same_policy(policy: lifecycle.Policy, live_text: str | None) -> bool:
    """True when the live policy text means the same as `policy`; unreadable text never does."""
    return live_text is not None and _meaning(live_text) == policy.key()


@functools.lru_cache(maxsize=256)
def _meaning(text: str, parse_text: Callable[[str], Any] = lifecycle.parse_text) -> tuple[Any, ...] | None:
    """A policy text's key, parsed once however many repositories share the text."""
    try:
        return parse_text(text).key()  # type: ignore[no-any-return]
    except ValueError:  # the models' PolicyError: unreadable text never matches
        return None


def _filters(mode: str, filters: frozenset[str]) -> frozenset[str]:
    return filters if mode in EXCLUSION_MODES else frozenset()


def _compact(text: str | None) -> str | None:
    """Live policy text without layout, when it is JSON; as it is otherwise."""
    if text is None:
        return None
    try:
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return text
