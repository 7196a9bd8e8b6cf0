"""`ecr.yaml`: the declarative description of a team's ECR repositories.

`load` reads the file, validates it with pydantic and the lifecycle model, and returns a
`Config` whose `repositories` carry fully resolved settings (defaults applied, lifecycle
policy built). Every problem is reported at once, each with the file, line and field.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PositiveInt, ValidationError, model_validator

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_
from generator.model import access, lifecycle, targets
from generator.model.access import AccessField
from generator.model.notifications import Notifications, NotificationSettings, resolve_notifications
from generator.model.policy_files import RepositoryPolicyFiles
from generator.model.registry import SYSTEM_NAME_PLACEHOLDER, RegistrySection
from generator.model.registry import resolve as resolve_registry
from generator.model.schema import Strict, plain_message
from generator.model.targets import Targets

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
    description: str | None = None
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
    tags: dict[str, str] | None = None
    deletion_policy: Literal["Retain", "Delete"] | None = None
    access: AccessField = None
    repository_policy_file: str | None = None

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


class ConfigFile(Strict):
    system_name: str
    name_pattern: str = DEFAULT_NAME_PATTERN
    settings_via: Literal["template", "post-deploy"] = "template"
    outputs: list[Literal["uri", "arn"]] = Field(default_factory=lambda: ["uri", "arn"])
    post_deploy_policy: bool = False
    max_per_stack: Annotated[int, Field(ge=1, le=500)] | None = None
    targets: Targets | None = None
    defaults: Settings = Settings()
    repositories: Annotated[list[RepositoryEntry], Field(min_length=1)]
    notifications: Notifications | None = None
    registry: RegistrySection | None = None


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
    access_policy: access.Policy | None = None  # None: the repository policy is not managed

    def physical_name(self, system_name: str) -> str:
        return self.name_template.replace(SYSTEM_NAME_PLACEHOLDER, system_name)


@dataclass(frozen=True)
class Config:
    source: str
    system_name: str
    name_pattern: str
    settings_via: str
    outputs: tuple[str, ...]
    post_deploy_policy: bool
    repositories: tuple[Repository, ...]
    max_per_stack: int | None = None  # repositories per stack; None: as many as CloudFormation allows
    targets: Targets | None = None    # where a StackSet deploys the templates
    notifications: NotificationSettings | None = None
    registry: RegistrySection | None = None  # resolved per SystemName by registry.resolve


def load(path: Path | str) -> Config:
    """Read and validate `ecr.yaml`; raises InputError listing every problem."""
    doc = source.load(path)
    if not isinstance(doc.data, dict):
        raise InputError(doc.source, Problem("must be a mapping with system_name and repositories",
                                             line=doc.line_of(())))
    try:
        raw = ConfigFile.model_validate(doc.data)
    except ValidationError as exc:
        problems = [_pydantic_problem(doc, err) for err in exc.errors()]
        raise InputError(doc.source, _by_line(problems)) from None
    return _resolve(doc, raw, Path(path).parent)


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)


def logical_id(name: str) -> str:
    """`php-app` -> `EcrPhpApp`: alphanumeric, as CloudFormation requires."""
    return "Ecr" + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


# --- pydantic errors as user messages -------------------------------------------------------

def _pydantic_problem(doc: Document, err: Any) -> Problem:
    loc: Path_ = tuple(part for part in err["loc"] if not isinstance(part, str) or
                       not part.startswith(("function-after", "literal[")))
    kind, ctx = err["type"], err.get("ctx", {})
    if kind == "extra_forbidden":
        return doc.problem(loc, _unknown_key(loc, doc))
    if kind == "missing":
        return doc.problem(loc, "is required")
    if kind == "value_error":
        return doc.problem(loc, str(ctx.get("error", err["msg"])))
    return doc.problem(loc, plain_message(err))


def _unknown_key(loc: Path_, doc: Document) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    allowed = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}allowed: {', '.join(allowed)}"


def _model_at(loc: Path_) -> type[BaseModel] | None:
    model: type[BaseModel] = ConfigFile
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        found = _find_model(field.annotation)
        if found is None:
            return None
        model = found
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _find_model(arg)
        if found:
            return found
    return None


# --- resolution and cross-field checks ------------------------------------------------------

def _resolve(doc: Document, raw: ConfigFile, base: Path) -> Config:
    problems: list[Problem] = []
    if not re.match(SYSTEM_NAME_PATTERN, raw.system_name):
        problems.append(doc.problem(("system_name",), f"{raw.system_name!r} is not a valid "
                                    "repository name part: lowercase letters, digits, '.', '_', '-', '/'"))
    leftover = raw.name_pattern.replace(SYSTEM_NAME_PLACEHOLDER, "").replace("{name}", "")
    if "{name}" not in raw.name_pattern or any(c in leftover for c in "${}"):
        problems.append(doc.problem(("name_pattern",), f"{raw.name_pattern!r} must contain {{name}} "
                                    "and may contain ${SystemName}; no other placeholders"))
    if problems:
        raise InputError(doc.source, problems)

    policies = _PolicyCache(doc, base, problems)
    repository_policies = RepositoryPolicyFiles(doc, base, problems)
    default_policy = policies.get(raw.defaults, ("defaults",))
    repositories: list[Repository] = []
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for index, entry in enumerate(raw.repositories):
        at: Path_ = ("repositories", index)
        repo = _resolve_repository(doc, raw, entry, at, policies, default_policy, problems)
        repo = replace(repo, access_policy=repository_policies.policy_for(entry, raw.defaults, at))
        physical = repo.physical_name(raw.system_name)
        if not REPOSITORY_NAME.match(physical):
            field = "physical_name" if entry.physical_name else "name"
            problems.append(doc.problem((*at, field), f"gives repository name {physical!r}, which ECR "
                                        "rejects: 2-256 lowercase letters, digits, '.', '_', '-', '/' "
                                        "starting and ending with a letter or digit"))
        elif physical in seen_names:
            problems.append(doc.problem((*at, "name"), f"{entry.name!r} duplicates "
                                        f"repositories[{seen_names[physical]}]"))
        elif repo.logical_id in seen_ids:
            other = raw.repositories[seen_ids[repo.logical_id]].name
            problems.append(doc.problem((*at, "name"), f"{entry.name!r} and {other!r} both give the "
                                        f"logical id {repo.logical_id}; rename one"))
        seen_names.setdefault(physical, index)
        seen_ids.setdefault(repo.logical_id, index)
        repositories.append(repo)
    sections: list[tuple[Path_, Settings]] = [(("defaults",), raw.defaults)]
    sections += [(("repositories", index), entry) for index, entry in enumerate(raw.repositories)]
    problems.extend(targets.literal_problems(
        raw.targets, [(at, s.encryption.kms_key if s.encryption else None) for at, s in sections], doc))
    notified = resolve_notifications(doc, raw.notifications, problems)
    if raw.registry is not None:
        try:
            resolve_registry(raw.registry, raw.name_pattern, raw.system_name, doc)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(doc.source, _by_line(problems))
    return Config(source=doc.source, system_name=raw.system_name, name_pattern=raw.name_pattern,
                  settings_via=raw.settings_via, outputs=tuple(dict.fromkeys(raw.outputs)),
                  post_deploy_policy=raw.post_deploy_policy, repositories=tuple(repositories),
                  notifications=notified, registry=raw.registry,
                  max_per_stack=raw.max_per_stack, targets=raw.targets)


def _pick(entry: Settings, defaults: Settings, key: str, builtin: Any) -> tuple[Any, Path_]:
    """The effective value of `key` and the config path it comes from."""
    for value, where in ((getattr(entry, key), ()), (getattr(defaults, key), ("defaults",))):
        if value is not None:
            return value, where
    return builtin, ()


def _resolve_repository(doc: Document, raw: ConfigFile, entry: RepositoryEntry, at: Path_,
                        policies: _PolicyCache, default_policy: lifecycle.Policy | None,
                        problems: list[Problem]) -> Repository:
    mutability, _ = _pick(entry, raw.defaults, "image_tag_mutability", "IMMUTABLE")
    exclusions, from_ = _pick(entry, raw.defaults, "mutability_exclusions", [])
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
    if entry.lifecycle is not None or entry.lifecycle_policy_file is not None:
        policy = policies.get(entry, at)
    else:
        policy = default_policy
    name_template = entry.physical_name or raw.name_pattern.replace("{name}", entry.name)
    return Repository(
        name=entry.name, logical_id=logical_id(entry.name), name_template=name_template,
        image_tag_mutability=mutability, mutability_exclusions=tuple(exclusions),
        scan_on_push=_pick(entry, raw.defaults, "scan_on_push", True)[0],
        encryption=_pick(entry, raw.defaults, "encryption", Encryption())[0],
        policy=policy,
        tags={**(raw.defaults.tags or {}), **(entry.tags or {})},
        deletion_policy=_pick(entry, raw.defaults, "deletion_policy", "Retain")[0])


class _PolicyCache:
    """Builds each lifecycle policy once (a policy file shared by many repositories is read once)."""

    def __init__(self, doc: Document, base: Path, problems: list[Problem]) -> None:
        self.doc, self.base, self.problems = doc, base, problems
        self.files: dict[str, lifecycle.Policy | None] = {}

    def get(self, settings: Settings, at: Path_) -> lifecycle.Policy | None:
        if settings.lifecycle_policy_file is not None:
            return self._from_file(settings.lifecycle_policy_file, (*at, "lifecycle_policy_file"))
        if settings.lifecycle:
            return self._from_rules(settings.lifecycle, (*at, "lifecycle"))
        return None

    def _from_rules(self, specs: list[LifecycleRule], at: Path_) -> lifecycle.Policy | None:
        explicit = [spec.priority for spec in specs if spec.priority is not None]
        auto = iter(range(max(explicit, default=0) + 1, 10**6))
        # Rules without a priority are numbered in order after the explicit ones, `any` last.
        numbered: dict[int, int] = {}
        for index in sorted(range(len(specs)), key=lambda i: specs[i].tag_status == "any"):
            numbered[index] = specs[index].priority or next(auto)
        policy = lifecycle.Policy(tuple(spec.to_rule(numbered[i]) for i, spec in enumerate(specs)))
        for problem in lifecycle.validate(policy):
            if problem.rule is None:
                self.problems.append(self.doc.problem(at, problem.message))
                continue
            spec = specs[problem.rule]
            key = _RULE_FIELDS.get(problem.field, spec.count_key)
            self.problems.append(self.doc.problem((*at, problem.rule, key), problem.message))
        return policy

    def _from_file(self, name: str, at: Path_) -> lifecycle.Policy | None:
        if name in self.files:
            return self.files[name]
        path = self.base / name
        try:
            policy_doc = source.load(path)
        except InputError as exc:
            self.problems.extend(self.doc.problem(at, p.render(exc.source)) for p in exc.problems)
            policy_doc = None
        policy = None
        if policy_doc is not None:
            try:
                policy = lifecycle.parse(policy_doc.data)
            except lifecycle.PolicyError as exc:
                for p in exc.problems:
                    rule_path: Path_ = () if p.rule is None else ("rules", p.rule)
                    line = policy_doc.line_of((*rule_path, *p.field.split(".")) if p.field else rule_path)
                    self.problems.append(self.doc.problem(
                        at, f"{policy_doc.source}:{line}: {p.describe()}"))
        self.files[name] = policy
        return policy
