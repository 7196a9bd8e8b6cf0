"""What post-deploy enforces: each repository's desired settings, from a deployed template or ecr.yaml.

Pure: takes template text or data and returns `RepositorySettings`; the AWS reads that fetch a
stack's template and resources live in `generator.aws.stack`. A setting left as None (or a
lifecycle policy left out) is not managed: post-deploy neither reads nor writes it. A setting
that the template gives in a way ecrgen cannot resolve exactly is `unmanaged`, with the reason:
it is neither written nor reported in sync.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from generator.base import template_body
from generator.base.errors import InputError, Problem
from generator.model import lifecycle, repository_policy
from generator.model.config import Config
from generator.model.metadata import METADATA_KEY
from generator.model.repository import EXCLUSION_MODES, SYSTEM_NAME_PATTERN, Mutability
from generator.reconcile import intrinsics, phrases

REPOSITORY_TYPE = "AWS::ECR::Repository"
MUTABILITIES: tuple[str, ...] = get_args(Mutability)
# Each setting post-deploy enforces, and the repository Properties that give it.
SETTING_PROPERTIES: dict[str, tuple[str, ...]] = {
    "imageTagMutability": ("ImageTagMutability", "ImageTagMutabilityExclusionFilters"),
    "scanOnPush": ("ImageScanningConfiguration",),
    "lifecyclePolicy": ("LifecyclePolicy",),
}


@dataclass(frozen=True)
class Unmanaged:
    """A setting given through something that cannot be resolved exactly: not compared, not written."""

    setting: str
    reason: str


@dataclass(frozen=True)
class RepositorySettings:
    """The settings one repository should have; None means "leave it as it is"."""

    name: str
    origin: str  # where the wish comes from, for messages: "stack app: EcrPhpApp"
    image_tag_mutability: str | None = None
    exclusion_filters: frozenset[str] = frozenset()
    scan_on_push: bool | None = None
    lifecycle_policy: lifecycle.Policy | None = None
    # With ${AWS::AccountId} (and Region, Partition) placeholders, filled from the live ARN.
    repository_policy: repository_policy.Policy | None = None
    unmanaged: tuple[Unmanaged, ...] = ()
    protect_in_use: bool = False  # keep shield tags on the images in use (model.protection)

    def differences(self, other: RepositorySettings) -> list[str]:
        """`setting: this vs that` for each setting that the two want differently."""
        mine, theirs = self._wishes(), other._wishes()
        out = []
        for setting, wish in mine.items():
            other_wish = theirs[setting]
            if _comparable(wish) == _comparable(other_wish):
                continue
            if isinstance(wish, lifecycle.Policy) and isinstance(other_wish, lifecycle.Policy):
                texts = phrases.policy_pair(wish, other_wish)
            else:
                texts = _wish_text(wish), _wish_text(other_wish)
            out.append(f"{setting}: {texts[0]} vs {texts[1]}")
        return out

    def _wishes(self) -> dict[str, Any]:
        """Setting -> None (not managed), the wanted value, or Unmanaged."""
        mode = self.image_tag_mutability
        wishes = {"imageTagMutability": None if mode is None else (mode, self.exclusion_filters),
                  "scanOnPush": self.scan_on_push, "lifecyclePolicy": self.lifecycle_policy,
                  "repositoryPolicy": self.repository_policy, "protectInUse": self.protect_in_use}
        wishes.update((u.setting, u) for u in self.unmanaged)
        return wishes


def _comparable(wish: Any) -> Any:
    return wish.key() if isinstance(wish, lifecycle.Policy | repository_policy.Policy) else wish


def _wish_text(wish: Any) -> str:
    if wish is None:
        return "not managed"
    if isinstance(wish, Unmanaged):
        return f"unresolved ({wish.reason})"
    if isinstance(wish, bool):
        return str(wish).lower()
    if isinstance(wish, lifecycle.Policy):
        return phrases.policy_phrase(wish)
    if isinstance(wish, repository_policy.Policy):
        return phrases.access_phrase(wish)
    return phrases.mutability_text(*wish)


# --- from ecr.yaml --------------------------------------------------------------------------

def from_config(config: Config, system_name: str | None = None) -> list[RepositorySettings]:
    """Every repository of `config`, named with `system_name` (default: the config's own)."""
    system = system_name or config.system_name
    if not re.match(SYSTEM_NAME_PATTERN, system):
        raise InputError("--system-name", f"{system!r} is not a valid repository name part: lowercase "
                         "letters, digits, '.', '_', '-', '/'")
    return [RepositorySettings(
        name=repo.physical_name(system), origin=f"{config.source}: {repo.name}",
        image_tag_mutability=repo.image_tag_mutability,
        exclusion_filters=frozenset(repo.mutability_exclusions), scan_on_push=repo.scan_on_push,
        lifecycle_policy=repo.policy, repository_policy=repo.access_policy,
        protect_in_use=repo.protect_in_use)
        for repo in config.repositories]


# --- from a deployed template ---------------------------------------------------------------

def needs_stack_values(template: Mapping[str, Any]) -> bool:
    """True when a repository setting uses an intrinsic function: resolving it needs the stack's
    parameter values and ARN (DescribeStacks), which ecrgen's own templates never need."""
    return any(intrinsics.uses_functions(properties.get(key))
               for properties in _foreign_properties(template)
               for keys in SETTING_PROPERTIES.values() for key in keys)


def _foreign_properties(template: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The Properties of each repository that ecrgen's Metadata does not describe."""
    for resource in template["Resources"].values():
        if isinstance(resource, dict) and resource.get("Type") == REPOSITORY_TYPE and not _metadata(resource):
            yield _mapping(resource.get("Properties"))


def _metadata(resource: dict[str, Any]) -> dict[str, Any]:
    return _mapping(_mapping(resource.get("Metadata")).get(METADATA_KEY))


def from_template(template: Mapping[str, Any], physical_names: Mapping[str, str], where: str,
                  described: Mapping[str, Any] | None = None) -> list[RepositorySettings]:
    """Desired settings of each deployed ECR repository in `template`.

    `physical_names` maps logical ids to repository names (from ListStackResources). Settings
    come from `Metadata.ecrgen` when ecrgen wrote the template, else from the Properties, with
    intrinsic functions resolved from `described` (the stack's DescribeStacks entry) where exact.
    A deployed repository the template does not show (made by a transform the template still
    holds, such as Fn::ForEach) is never dropped: its settings are unmanaged.
    """
    out, problems = [], []
    stack = intrinsics.Stack.of(template, described)
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != REPOSITORY_TYPE:
            continue
        name = physical_names.get(logical_id)
        if not name:
            continue  # not deployed (a false Condition, or creation failed)
        origin, at = f"{where}: {logical_id}", f"Resources.{logical_id}"
        meta = _metadata(resource)
        out.append(_from_metadata(name, origin, meta, at, problems) if meta else _from_properties(
            name, origin, _mapping(resource.get("Properties")), at, problems, stack))
    transforms = [key for key in template["Resources"] if isinstance(key, str) and key.startswith("Fn::")]
    why = (f"the template CloudFormation returned still holds {transforms[0]} (a transform it could not "
           "expand here), so this setting cannot be read" if transforms else
           "the template CloudFormation returned has no such resource, so this setting cannot be read")
    out += [RepositorySettings(name, f"{where}: {logical_id}", unmanaged=tuple(
                Unmanaged(setting, f"Resources.{logical_id}: {why}") for setting in SETTING_PROPERTIES))
            for logical_id, name in physical_names.items() if logical_id not in template["Resources"]]
    if problems:
        raise InputError(where, problems)
    return out


def _from_metadata(name: str, origin: str, meta: dict[str, Any], at: str,
                   problems: list[Problem]) -> RepositorySettings:
    at = f"{at}.Metadata.{METADATA_KEY}"
    mode = meta.get("imageTagMutability")
    if mode is not None and mode not in MUTABILITIES:
        problems.append(Problem(f"must be one of {', '.join(MUTABILITIES)}, got {mode!r}",
                                f"{at}.imageTagMutability"))
    filters = meta.get("imageTagMutabilityExclusionFilters") or []
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        problems.append(Problem(f"must be a list of strings, got {filters!r}",
                                f"{at}.imageTagMutabilityExclusionFilters"))
        filters = []
    scan = meta.get("scanOnPush")
    if scan is not None and not isinstance(scan, bool):
        problems.append(Problem(f"must be true or false, got {scan!r}", f"{at}.scanOnPush"))
        scan = None
    policy = _policy(meta.get("lifecyclePolicy"), f"{at}.lifecyclePolicy", problems)
    protect = meta.get("protectInUse", False)
    if not isinstance(protect, bool):
        problems.append(Problem(f"must be true or false, got {protect!r}", f"{at}.protectInUse"))
        protect = False
    return RepositorySettings(name, origin, mode if mode in MUTABILITIES else None,
                              _filters(mode, filters), scan, policy,
                              repository_policy=_access_policy(meta.get("repositoryPolicy"),
                                                               f"{at}.repositoryPolicy", problems),
                              protect_in_use=protect and policy is not None)


def _from_properties(name: str, origin: str, raw: dict[str, Any], at: str, problems: list[Problem],
                     stack: intrinsics.Stack) -> RepositorySettings:
    """A template ecrgen did not write: each setting's Properties with their functions resolved;
    a setting that cannot be resolved exactly is unmanaged."""
    at = f"{at}.Properties"
    props: dict[str, Any] = {}
    unmanaged = []
    for setting, keys in SETTING_PROPERTIES.items():
        for key in (k for k in keys if k in raw):
            try:
                value = intrinsics.resolve(raw[key], stack)
            except intrinsics.Unresolved as exc:
                unmanaged.append(Unmanaged(setting, f"{at}.{key}: {exc}"))
                break
            if value is not intrinsics.NO_VALUE:
                props[key] = value
    unresolved = {u.setting for u in unmanaged}
    mode = None if "imageTagMutability" in unresolved else props.get("ImageTagMutability")
    if mode is not None and mode not in MUTABILITIES:
        problems.append(Problem(f"must be one of {', '.join(MUTABILITIES)}, got {mode!r}",
                                f"{at}.ImageTagMutability"))
    filters = props.get("ImageTagMutabilityExclusionFilters")
    filters = [f.get("ImageTagMutabilityExclusionFilterValue")
               for f in filters if isinstance(f, dict)] if isinstance(filters, list) else []
    scan = _mapping(props.get("ImageScanningConfiguration")).get("ScanOnPush")
    if isinstance(scan, str) and scan.lower() in ("true", "false"):
        scan = scan.lower() == "true"  # CloudFormation accepts booleans as strings
    text = _mapping(props.get("LifecyclePolicy")).get("LifecyclePolicyText")
    policy = None
    if isinstance(text, str):
        try:
            policy = lifecycle.parse_text(text)
        except lifecycle.PolicyError as exc:
            problems.extend(Problem(p.describe(), f"{at}.LifecyclePolicy.LifecyclePolicyText")
                            for p in exc.problems)
    mode = mode if mode in MUTABILITIES else None
    return RepositorySettings(name, origin, mode,
                              _filters(mode, [f for f in map(template_body.scalar_text, filters)
                                              if isinstance(f, str)]),
                              scan if isinstance(scan, bool) else None, policy, unmanaged=tuple(unmanaged))


def _mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else empty: a deployed template may hold anything there."""
    return value if isinstance(value, dict) else {}


def _filters(mode: str | None, filters: Iterable[str]) -> frozenset[str]:
    """Exclusion filters mean something only in the *_WITH_EXCLUSION modes."""
    return frozenset(filters) if mode in EXCLUSION_MODES else frozenset()


def _policy(data: Any, at: str, problems: list[Problem]) -> lifecycle.Policy | None:
    if data is None:
        return None
    try:
        return lifecycle.parse(data)
    except lifecycle.PolicyError as exc:
        problems.extend(Problem(p.describe(), at) for p in exc.problems)
        return None


def _access_policy(data: Any, at: str, problems: list[Problem]) -> repository_policy.Policy | None:
    if data is None:
        return None
    try:
        return repository_policy.Policy.from_cfn(data)
    except repository_policy.PolicyError as exc:
        problems.extend(Problem(p.describe(), at) for p in exc.problems)
        return None


# --- several stacks -------------------------------------------------------------------------

def merge(groups: Iterable[list[RepositorySettings]]) -> list[RepositorySettings]:
    """One entry per repository; a repository wanted two different ways is an error that says how."""
    seen: dict[str, RepositorySettings] = {}
    problems = []
    for settings in (s for group in groups for s in group):
        first = seen.setdefault(settings.name, settings)
        differences = first.differences(settings) if first is not settings else []
        if differences:
            problems.append(Problem(f"{first.origin} and {settings.origin} want different settings: "
                                    + "; ".join(differences), settings.name))
    if problems:
        raise InputError("--stack-name", problems)
    return list(seen.values())
