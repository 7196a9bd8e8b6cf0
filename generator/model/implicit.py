"""The repositories ECR creates by itself: one config's pull-through cache rules and creation templates.

`Implicit` holds both, resolved from ecr.yaml with their prefixes still naming `${SystemName}`
(the template's parameter), so that post-deploy can fill in the SystemName a stack was deployed
with. `for_system` does that and checks the result against the API's constraints and this
config's namespace again; `to_metadata` / `from_metadata` carry the same values through a
template's top-level `Metadata.ecrgen`, for `post-deploy --stack-name`.

Ownership is by namespace, as for `registry:` (`generator.model.registry.Part.owns`): a
prefix must lie in this config's namespace unless `owner: registry` says this config owns the
whole registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_, dotted
from generator.model import lifecycle, metadata, repository_policy
from generator.model.creation_templates import PREFIX_LENGTH as TEMPLATE_PREFIX_LENGTH
from generator.model.creation_templates import CreationTemplate, CreationTemplateEntry
from generator.model.creation_templates import resolve as resolve_templates
from generator.model.metadata import METADATA_KEY
from generator.model.policy_files import LifecyclePolicies, RepositoryPolicies
from generator.model.pull_through_cache import PREFIX_LENGTH as RULE_PREFIX_LENGTH
from generator.model.pull_through_cache import (
    PullThroughCacheEntry,
    PullThroughCacheRule,
    claim_problem,
)
from generator.model.pull_through_cache import resolve as resolve_rules
from generator.model.registry import Part, namespace
from generator.model.repository import (
    EXCLUSION_MODES,
    SYSTEM_NAME_PLACEHOLDER,
    Encryption,
    Settings,
    logical_id,
)


@dataclass(frozen=True)
class Implicit:
    rules: tuple[PullThroughCacheRule, ...] = ()
    templates: tuple[CreationTemplate, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules or self.templates)

    def for_system(self, system_name: str, owner: Part, where: str = "--system-name") -> Implicit:
        """The prefixes for `system_name`; InputError when one no longer fits the API or the namespace."""
        problems: list[Problem] = []

        def filled(prefix: str, length: tuple[int, int], field: str) -> str:
            value = prefix.replace(SYSTEM_NAME_PLACEHOLDER, system_name)
            message = claim_problem(value, length, owner.owns, owner.namespace)
            if message:
                problems.append(Problem(message, field))
            return value

        rules = tuple(replace(r, prefix=filled(r.prefix, RULE_PREFIX_LENGTH,
                                               f"pull_through_cache[{i}].prefix"))
                      for i, r in enumerate(self.rules))
        templates = tuple(replace(t, prefix=filled(t.prefix, TEMPLATE_PREFIX_LENGTH,
                                                   f"creation_templates[{i}].prefix"))
                          for i, t in enumerate(self.templates))
        if problems:
            raise InputError(where, problems)
        return Implicit(rules, templates)

    def to_metadata(self) -> dict[str, Any]:
        """What the template's top-level `Metadata.ecrgen` records for post-deploy, as the registry
        part is recorded (`generator.model.registry_metadata.to_metadata`): every `${...}` written as its
        literal form `${!...}`, and `${SystemName}` filled in by post-deploy with the value the
        stack was deployed with."""
        out: dict[str, Any] = {}
        if self.rules:
            out["pullThroughCache"] = [rule.to_api() for rule in self.rules]
        if self.templates:
            out["creationTemplates"] = [_template_metadata(t) for t in self.templates]
        return metadata.written(out)  # type: ignore[no-any-return]


# Checks the API's constraints only: for metadata, whose namespace was checked at load.
_ANY = Part(namespace="", sid_prefix="", scan_type=None, scan_on_push=(), continuous=(), replication=(),
            statements=(), registry_owner=True)


def owner_part(name_pattern: str, system_name: str, ownership: str) -> Part:
    """What decides ownership when a config declares prefixes: its namespace (and no longer
    SystemName's), or the whole registry with `owner: registry`."""
    return Part(namespace=namespace(name_pattern, system_name), sid_prefix=f"ecrgen-{system_name}-",
                scan_type=None, scan_on_push=(), continuous=(), replication=(), statements=(),
                system_name=system_name, name_prefix=name_pattern.split("{name}", 1)[0],
                registry_owner=ownership == "registry")


def resolve(doc: Document, rules: Sequence[PullThroughCacheEntry], templates: Sequence[CreationTemplateEntry],
            defaults: Settings, policies: tuple[LifecyclePolicies, RepositoryPolicies], owner: Part,
            system_name: str, problems: list[Problem]) -> Implicit:
    """Both sections checked for the config's own SystemName; prefixes kept with `${SystemName}`.
    `policies` read the policy files (each once, whoever names it)."""
    if not rules and not templates:
        return Implicit()

    def substitute(value: str) -> str:
        return value.replace(SYSTEM_NAME_PLACEHOLDER, system_name)

    def problem(path: Path_, message: str) -> None:
        problems.append(doc.problem(path, message))

    if not owner.namespace and not owner.registry_owner:
        section = "pull_through_cache" if rules else "creation_templates"
        problem((section,), "needs a name_pattern with a fixed prefix before {name} (e.g. "
                "'${SystemName}-ecr-{name}'): the prefix is the namespace this config owns in the registry")
    resolved_rules = resolve_rules(rules, substitute, owner.owns, owner.namespace, problem)
    resolved_templates = resolve_templates(doc, templates, defaults, *policies, substitute, owner.owns,
                                           owner.namespace, problems)
    for section, entries in (("pull_through_cache", rules), ("creation_templates", templates)):
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            other = seen.setdefault(prefix_id(entry.prefix), index)
            if other != index and substitute(entry.prefix) != substitute(entries[other].prefix):
                problem((section, index, "prefix"), f"{entry.prefix!r} and {entries[other].prefix!r} give "
                        "the same CloudFormation logical id; they differ only in punctuation: rename one")
    return Implicit(
        tuple(replace(r, prefix=e.prefix) for r, e in zip(resolved_rules, rules, strict=True)),
        tuple(replace(t, prefix=e.prefix) for t, e in zip(resolved_templates, templates, strict=True)))


def prefix_id(prefix: str) -> str:
    """The part of a resource's logical id that comes from its prefix, without the SystemName:
    `${SystemName}-ecr-hub` -> `EcrHub`, stable whatever the parameter."""
    return logical_id(prefix.replace(SYSTEM_NAME_PLACEHOLDER, "")).removeprefix("Ecr")


def literal_problems(targets: Any, rules: Sequence[PullThroughCacheEntry], doc: Document) -> list[Problem]:
    """A credential ARN names one account and region; a StackSet deploys to many (see
    `generator.model.targets.literal_problems` for KMS keys)."""
    if targets is None:
        return []
    return [doc.problem(("pull_through_cache", index, "credential"),
                        f"{rule.credential!r} names one account and region, but targets deploys to every "
                        "account and region listed: give the secret's name (ecr-pullthroughcache/...), "
                        "which each target's own secret then answers to")
            for index, rule in enumerate(rules) if rule.credential and rule.credential.startswith("arn:")]


def merged(groups: Sequence[Implicit]) -> Implicit:
    """One config's rules and templates from several stacks (its first stack holds them); two
    stacks that want one prefix differently would undo each other, so that is an error."""
    rules: dict[str, PullThroughCacheRule] = {}
    templates: dict[str, CreationTemplate] = {}
    for group in groups:
        for kind, found, items in (("pull-through cache rule", rules, group.rules),
                                   ("creation template", templates, group.templates)):
            for item in items:
                if found.setdefault(item.prefix, item) != item:  # type: ignore[arg-type]
                    raise InputError("--stack-name", f"two stacks want the {kind} {item.prefix!r} "
                                     "with different settings; one config per prefix")
    return Implicit(tuple(rules.values()), tuple(templates.values()))


# --- in a template's Metadata, for post-deploy --stack-name ---------------------------------

def _template_metadata(template: CreationTemplate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prefix": template.prefix, "appliedFor": list(template.applied_for),
        "imageTagMutability": template.image_tag_mutability,
        "imageTagMutabilityExclusionFilters": list(template.mutability_exclusions),
        "encryption": template.encryption.model_dump(exclude_none=True),
        "scanOnPush": template.scan_on_push, "enforceExisting": template.enforce_existing}
    if template.lifecycle_policy:
        out["lifecyclePolicy"] = template.lifecycle_policy.to_aws()
    if template.repository_policy:
        out["repositoryPolicy"] = template.repository_policy.to_aws()
    for key, value in (("description", template.description), ("customRoleArn", template.custom_role_arn)):
        if value is not None:
            out[key] = value
    if template.resource_tags:
        out["resourceTags"] = dict(template.resource_tags)
    return out


def in_template(template: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The template's `Metadata.ecrgen` when it records rules or templates, else None."""
    meta = template.get("Metadata")
    meta = meta.get(METADATA_KEY) if isinstance(meta, Mapping) else None
    return meta if isinstance(meta, Mapping) and ("pullThroughCache" in meta or "creationTemplates" in meta) \
        else None


def from_template(template: Mapping[str, Any], where: str, system_name: str | None = None) -> Implicit:
    """What a deployed template's top-level `Metadata.ecrgen` asks post-deploy to keep, for the
    SystemName the stack was deployed with (None: the one the template was written for)."""
    meta = in_template(template)
    if meta is None:
        return Implicit()
    meta = metadata.read(meta)
    at: Path_ = ("Metadata", METADATA_KEY)
    problems: list[Problem] = []
    rules, templates = [], []
    for index, data in enumerate(_list(meta.get("pullThroughCache"), (*at, "pullThroughCache"), problems)):
        try:
            rules.append(PullThroughCacheRule.from_api(data))
        except (KeyError, TypeError, AttributeError):
            problems.append(Problem("must hold ecrRepositoryPrefix and upstreamRegistryUrl",
                                    dotted((*at, "pullThroughCache", index))))
    for index, data in enumerate(_list(meta.get("creationTemplates"), (*at, "creationTemplates"), problems)):
        found = _template_from_metadata(data, dotted((*at, "creationTemplates", index)), problems)
        if found is not None:
            templates.append(found)
    written_for = meta.get("system_name")
    system = system_name or (written_for if isinstance(written_for, str) else "")
    if not system:
        problems.append(Problem("must name the SystemName", dotted((*at, "system_name"))))
    if problems:
        raise InputError(where, problems)
    return Implicit(tuple(rules), tuple(templates)).for_system(system, _ANY, where)


def _list(value: Any, at: Path_, problems: list[Problem]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem("must be a list", dotted(at)))
        return []
    return value


def _template_from_metadata(data: Any, at: str, problems: list[Problem]) -> CreationTemplate | None:
    try:
        mode = data["imageTagMutability"]
        filters = tuple(data.get("imageTagMutabilityExclusionFilters") or ())
        lifecycle_data, policy_data = data.get("lifecyclePolicy"), data.get("repositoryPolicy")
        return CreationTemplate(
            prefix=str(data["prefix"]), applied_for=tuple(data["appliedFor"]), image_tag_mutability=mode,
            mutability_exclusions=filters if mode in EXCLUSION_MODES else (),
            encryption=Encryption.model_validate(data.get("encryption") or {}),
            lifecycle_policy=None if lifecycle_data is None else lifecycle.parse(lifecycle_data),
            repository_policy=None if policy_data is None else repository_policy.parse(policy_data),
            scan_on_push=bool(data.get("scanOnPush", True)), description=data.get("description"),
            custom_role_arn=data.get("customRoleArn"),
            resource_tags=tuple(sorted((data.get("resourceTags") or {}).items())),
            enforce_existing=bool(data.get("enforceExisting", True)))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # ValueError: the models' errors
        problems.append(Problem(f"is not a creation template ecrgen wrote: {exc}", at))
        return None
