"""What post-deploy enforces: each repository's desired settings, from a deployed template or ecr.yaml.

Pure: takes template text or data and returns `RepositorySettings`; the AWS reads that fetch a
stack's template and resources live in `generator.aws.stack`. A setting left as None (or a
lifecycle policy left out) is not managed: post-deploy neither reads nor writes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

import yaml

from generator import METADATA_KEY, access, lifecycle, source
from generator.config import EXCLUSION_MODES, SYSTEM_NAME_PATTERN, Config, Mutability
from generator.errors import InputError, Problem

REPOSITORY_TYPE = "AWS::ECR::Repository"
MUTABILITIES: tuple[str, ...] = get_args(Mutability)


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
    repository_policy: access.Policy | None = None

    def same_wish(self, other: RepositorySettings) -> bool:
        return (self.image_tag_mutability, self.exclusion_filters, self.scan_on_push,
                _policy_key(self.lifecycle_policy), _policy_key(self.repository_policy)) == (
                other.image_tag_mutability, other.exclusion_filters, other.scan_on_push,
                _policy_key(other.lifecycle_policy), _policy_key(other.repository_policy))


def _policy_key(policy: lifecycle.Policy | access.Policy | None) -> tuple[Any, ...] | None:
    return policy.key() if policy else None


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
        lifecycle_policy=repo.policy, repository_policy=repo.access_policy)
        for repo in config.repositories]


# --- from a deployed template ---------------------------------------------------------------

class _TemplateLoader(source._Loader):  # type: ignore[misc,valid-type]
    """YAML with CloudFormation's short-form tags (`!Sub`, `!GetAtt`...) read as long form."""


def _short_form(loader: yaml.Loader, name: str, node: yaml.Node) -> dict[str, Any]:
    """`name` is the tag without its `!` (the multi-constructor's prefix): `Sub`, `GetAtt`..."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    return {key: value}


_TemplateLoader.add_multi_constructor("!", _short_form)


def parse_template(body: str | Mapping[str, Any], where: str) -> dict[str, Any]:
    """A template body as CloudFormation returns it: JSON or YAML text, or already-parsed JSON."""
    if isinstance(body, Mapping):
        data: Any = dict(body)
    else:
        try:
            data = json.loads(body) if body.lstrip().startswith("{") else yaml.load(body, _TemplateLoader)
        except (ValueError, yaml.YAMLError) as exc:
            raise InputError(where, f"the template is neither JSON nor YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise InputError(where, "the template has no Resources mapping")
    return data


def from_template(template: Mapping[str, Any], physical_names: Mapping[str, str],
                  where: str) -> list[RepositorySettings]:
    """Desired settings of each deployed ECR repository in `template`.

    `physical_names` maps logical ids to repository names (from ListStackResources). Settings
    come from `Metadata.ecrgen` when ecrgen wrote the template, else from the Properties.
    """
    out, problems = [], []
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != REPOSITORY_TYPE:
            continue
        name = physical_names.get(logical_id)
        if not name:
            continue  # not deployed (a false Condition, or creation failed)
        meta = _mapping(_mapping(resource.get("Metadata")).get(METADATA_KEY))
        reader = _from_metadata if meta else _from_properties
        value = meta or _mapping(resource.get("Properties"))
        out.append(reader(name, f"{where}: {logical_id}", value, f"Resources.{logical_id}", problems))
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
    return RepositorySettings(name, origin, mode if mode in MUTABILITIES else None,
                              _filters(mode, filters), scan, policy,
                              _access_policy(meta.get("repositoryPolicy"), f"{at}.repositoryPolicy",
                                             problems))


def _from_properties(name: str, origin: str, props: dict[str, Any], at: str,
                     problems: list[Problem]) -> RepositorySettings:
    """A template ecrgen did not write. Values given by intrinsic functions are not managed."""
    at = f"{at}.Properties"
    mode = props.get("ImageTagMutability")
    if isinstance(mode, str) and mode not in MUTABILITIES:
        problems.append(Problem(f"must be one of {', '.join(MUTABILITIES)}, got {mode!r}",
                                f"{at}.ImageTagMutability"))
    filters = [f.get("ImageTagMutabilityExclusionFilterValue")
               for f in props.get("ImageTagMutabilityExclusionFilters") or [] if isinstance(f, dict)]
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
                              _filters(mode, [f for f in filters if isinstance(f, str)]),
                              scan if isinstance(scan, bool) else None, policy)


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


def _access_policy(data: Any, at: str, problems: list[Problem]) -> access.Policy | None:
    if data is None:
        return None
    try:
        return access.Policy.from_cfn(data)
    except access.PolicyError as exc:
        problems.extend(Problem(p.describe(), at) for p in exc.problems)
        return None


# --- several stacks -------------------------------------------------------------------------

def merge(groups: Iterable[list[RepositorySettings]]) -> list[RepositorySettings]:
    """One entry per repository; a repository wanted two different ways is an error."""
    seen: dict[str, RepositorySettings] = {}
    problems = []
    for settings in (s for group in groups for s in group):
        first = seen.setdefault(settings.name, settings)
        if first is not settings and not first.same_wish(settings):
            problems.append(Problem(f"{settings.origin} and {first.origin} want different settings",
                                    settings.name))
    if problems:
        raise InputError("--stack-name", problems)
    return list(seen.values())
