"""One repository in ecr.yaml: what it can set, and those settings resolved against `defaults`.

`Settings` is what a repository (or `defaults`) can write; `RepositoryEntry` adds its name;
`resolve` applies the defaults and the built-ins, checks what pydantic cannot (exclusion filters
against the mutability mode) and builds the lifecycle policy, giving a `Repository`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, model_validator

from generator.base.errors import Problem
from generator.base.source import Document, Path_
from generator.model import lifecycle, repository_policy
from generator.model.access import AccessField
from generator.model.schema import LiteralText, Strict

SYSTEM_NAME_PLACEHOLDER = "${SystemName}"  # in name_pattern: the template's SystemName parameter
Mutability = Literal["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"]
EXCLUSION_MODES = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
MAX_EXCLUSIONS = 5
EXCLUSION_FILTER = re.compile(r"[0-9a-zA-Z._*-]{1,128}\Z")
# CloudFormation's own pattern for AWS::ECR::Repository RepositoryName.
REPOSITORY_NAME = re.compile(r"(?=.{2,256}\Z)[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
                             r"(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\Z")
# The SystemName parameter's AllowedPattern: one or more repository name parts.
SYSTEM_NAME_PATTERN = r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$"
DEFAULT_NAME_PATTERN = "${SystemName}-ecr-{name}"


class Encryption(Strict):
    type: Literal["AES256", "KMS", "KMS_DSSE"] = "AES256"
    kms_key: str | None = None

    @model_validator(mode="after")
    def _key_needs_kms(self) -> Encryption:
        if self.kms_key and self.type == "AES256":
            raise ValueError("kms_key is only allowed with type KMS or KMS_DSSE")
        return self


class LifecycleRule(Strict):
    """One rule as written in ecr.yaml; `to_rule` turns it into the lifecycle model."""

    priority: PositiveInt | None = None
    description: LiteralText | None = None
    tag_status: Literal["tagged", "untagged", "any"]
    tag_prefixes: list[str] | None = None
    tag_patterns: list[str] | None = None
    storage_class: Literal["standard", "archive"] = "standard"
    keep_last: PositiveInt | None = None
    since_pushed_days: PositiveInt | None = None
    since_pulled_days: PositiveInt | None = None
    since_archived_days: PositiveInt | None = None
    action: Literal["expire", "archive"] = "expire"

    @model_validator(mode="after")
    def _exactly_one_count(self) -> LifecycleRule:
        given = [key for key in COUNT_KEYS if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"needs exactly one of {', '.join(COUNT_KEYS)}"
                             + (f", got {', '.join(given)}" if given else ""))
        return self

    @property
    def count_key(self) -> str:
        return next(key for key in COUNT_KEYS if getattr(self, key) is not None)

    def to_rule(self, priority: int) -> lifecycle.Rule:
        count_key = self.count_key
        return lifecycle.Rule(
            priority=priority, tag_status=self.tag_status, count_type=COUNT_KEYS[count_key],
            count_number=getattr(self, count_key), description=self.description,
            tag_prefixes=tuple(self.tag_prefixes or ()), tag_patterns=tuple(self.tag_patterns or ()),
            storage_class=self.storage_class,
            action="transition" if self.action == "archive" else "expire")


COUNT_KEYS: dict[str, str] = {
    "keep_last": "imageCountMoreThan",
    "since_pushed_days": "sinceImagePushed",
    "since_pulled_days": "sinceImagePulled",
    "since_archived_days": "sinceImageTransitioned",
}
# Where a problem the lifecycle model finds lives in a config rule.
_RULE_FIELDS = {"rulePriority": "priority", "selection.tagStatus": "tag_status",
                "selection.tagPrefixList": "tag_prefixes", "selection.tagPatternList": "tag_patterns",
                "selection.storageClass": "storage_class", "action.type": "action"}


class Settings(Strict):
    """What a repository can set; unset fields come from `defaults`, then the built-ins."""

    image_tag_mutability: Mutability | None = None
    mutability_exclusions: list[str] | None = None
    scan_on_push: bool | None = None
    encryption: Encryption | None = None
    lifecycle: list[LifecycleRule] | None = None
    lifecycle_policy_file: str | None = None
    tags: dict[LiteralText, LiteralText] | None = None
    deletion_policy: Literal["Retain", "Delete"] | None = None
    access: AccessField = None
    repository_policy_file: str | None = None
    protect_in_use: bool | None = None  # the in-use shield rule first in the lifecycle policy

    @model_validator(mode="after")
    def _one_policy_source(self) -> Settings:
        if self.lifecycle is not None and self.lifecycle_policy_file is not None:
            raise ValueError("set either lifecycle or lifecycle_policy_file, not both")
        if self.access is not None and self.repository_policy_file is not None:
            raise ValueError("set either access or repository_policy_file, not both")
        return self


class RepositoryEntry(Settings):
    name: Annotated[str, Field(min_length=1)]
    # The exact repository name, for one that does not follow name_pattern (an adopted one).
    physical_name: str | None = None


@dataclass(frozen=True)
class Repository:
    """One repository with every setting resolved."""

    name: str                    # as written in ecr.yaml
    logical_id: str              # CloudFormation logical id, stable across runs
    name_template: str           # name_pattern with {name} filled, may hold ${SystemName}
    image_tag_mutability: str
    mutability_exclusions: tuple[str, ...]
    scan_on_push: bool
    encryption: Encryption
    policy: lifecycle.Policy | None
    tags: dict[str, str]
    deletion_policy: str
    access_policy: repository_policy.Policy | None = None  # None: the repository policy is not managed
    protect_in_use: bool = False  # post-deploy keeps shield tags on the images in use

    def physical_name(self, system_name: str) -> str:
        return self.name_template.replace(SYSTEM_NAME_PLACEHOLDER, system_name)


def logical_id(name: str) -> str:
    """`php-app` -> `EcrPhpApp`: alphanumeric, as CloudFormation requires."""
    return "Ecr" + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def _pick(entry: Settings, defaults: Settings, key: str, builtin: Any) -> tuple[Any, Path_]:
    """The effective value of `key` and the config path it comes from."""
    for value, where in ((getattr(entry, key), ()), (getattr(defaults, key), ("defaults",))):
        if value is not None:
            return value, where
    return builtin, ()


def protection_at(entry: Settings, defaults: Settings, at: Path_) -> Path_ | None:
    """Where `protect_in_use: true` applies to the repository at `at` (its own or the default's);
    None when it is not protected."""
    protect, where = _pick(entry, defaults, "protect_in_use", False)
    return (*(where or at), "protect_in_use") if protect else None


def resolve(doc: Document, entry: RepositoryEntry, defaults: Settings, name_pattern: str, at: Path_,
            policy: lifecycle.Policy | None, problems: list[Problem]) -> Repository:
    """The repository `entry` (at `at` in `doc`) with `defaults` applied; `policy` is its lifecycle
    policy, already built (its own, or the default's). Problems are appended with their lines."""
    mutability, _ = _pick(entry, defaults, "image_tag_mutability", "IMMUTABLE")
    exclusions, from_ = _pick(entry, defaults, "mutability_exclusions", [])
    where = (*(from_ or at), "mutability_exclusions")
    if exclusions and mutability not in EXCLUSION_MODES:
        problems.append(doc.problem(where, f"needs image_tag_mutability {' or '.join(EXCLUSION_MODES)}, "
                                    f"not {mutability}"))
    elif mutability in EXCLUSION_MODES and not exclusions:
        problems.append(doc.problem((*at, "image_tag_mutability"), f"{mutability} needs 1 to "
                                    f"{MAX_EXCLUSIONS} mutability_exclusions, e.g. [latest]"))
    if len(exclusions) > MAX_EXCLUSIONS:
        problems.append(doc.problem(where, f"has {len(exclusions)} filters; ECR allows at most "
                                    f"{MAX_EXCLUSIONS}"))
    for value in exclusions:
        if not EXCLUSION_FILTER.match(value):
            problems.append(doc.problem(where, f"{value!r} is not a valid filter: 1-128 of "
                                        "letters, digits, '.', '_', '-', '*'"))
    name_template = entry.physical_name or name_pattern.replace("{name}", entry.name)
    return Repository(
        name=entry.name, logical_id=logical_id(entry.name), name_template=name_template,
        image_tag_mutability=mutability, mutability_exclusions=tuple(exclusions),
        scan_on_push=_pick(entry, defaults, "scan_on_push", True)[0],
        encryption=_pick(entry, defaults, "encryption", Encryption())[0],
        policy=policy,
        tags={**(defaults.tags or {}), **(entry.tags or {})},
        deletion_policy=_pick(entry, defaults, "deletion_policy", "Retain")[0],
        protect_in_use=policy is not None and protection_at(entry, defaults, at) is not None)
