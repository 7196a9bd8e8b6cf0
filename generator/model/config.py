"""`ecr.yaml`: the declarative description of a team's ECR repositories.

`load` reads the file, validates it with pydantic and the lifecycle model, and returns a
`Config` whose `repositories` carry fully resolved settings (defaults applied, lifecycle
policy built). Every problem is reported at once, each with the file, line and field.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_
from generator.model import implicit, repository, targets
from generator.model.creation_templates import CreationTemplateEntry
from generator.model.implicit import Implicit
from generator.model.in_use import InUseSection, Sources
from generator.model.notifications import Notifications, NotificationSettings, resolve_notifications
from generator.model.policy_files import LifecyclePolicies, RepositoryPolicies
from generator.model.pull_through_cache import PullThroughCacheEntry
from generator.model.registry import RegistrySection
from generator.model.registry import resolve as resolve_registry
from generator.model.repository import (
    DEFAULT_NAME_PATTERN,
    REPOSITORY_NAME,
    SYSTEM_NAME_PATTERN,
    SYSTEM_NAME_PLACEHOLDER,
    Repository,
    RepositoryEntry,
    Settings,
)
from generator.model.schema import Strict, plain_message
from generator.model.targets import Targets


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
    in_use: InUseSection | None = None
    owner: Literal["namespace", "registry"] = "namespace"  # registry: this config owns the whole registry
    pull_through_cache: list[PullThroughCacheEntry] = Field(default_factory=list)
    creation_templates: list[CreationTemplateEntry] = Field(default_factory=list)


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
    in_use: Sources | None = None     # where post-deploy and the preview find images in use
    owner: str = "namespace"  # `owner: registry`: prefixes outside the namespace are this config's
    implicit: Implicit = field(default_factory=Implicit)  # pull-through cache rules, creation templates
    # Of several stacks, only the first holds the account-wide resources (pull-through cache rules,
    # creation templates, pull-time exclusions): each exists once per account and region.
    first_stack: bool = True


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
    """Each problem once (a shared policy may be judged for many repositories), by line."""
    return sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)


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
    return doc.problem(loc, plain_message(err, doc.written.get(loc)))


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

    policies = LifecyclePolicies(doc, base, problems)
    repository_policies = RepositoryPolicies(doc, base, problems)
    default_policies: dict[Path_ | None, Any] = {}  # by where protect_in_use applies (None: nowhere)
    repositories: list[Repository] = []
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for index, entry in enumerate(raw.repositories):
        at: Path_ = ("repositories", index)
        own = entry.lifecycle is not None or entry.lifecycle_policy_file is not None
        protect_at = repository.protection_at(entry, raw.defaults, at)
        if own:
            policy = policies.get(entry, at, protect_at)
        else:
            if protect_at not in default_policies:
                default_policies[protect_at] = policies.get(raw.defaults, ("defaults",), protect_at)
            policy = default_policies[protect_at]
        repo = repository.resolve(doc, entry, raw.defaults, raw.name_pattern, at, policy, problems)
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
    sections += [(("creation_templates", index), entry) for index, entry in enumerate(raw.creation_templates)]
    problems.extend(targets.literal_problems(
        raw.targets, [(at, s.encryption.kms_key if s.encryption else None) for at, s in sections], doc))
    notified = resolve_notifications(doc, raw.notifications, problems)
    if raw.registry is not None:
        try:
            resolve_registry(raw.registry, raw.name_pattern, raw.system_name, doc, ownership=raw.owner)
        except InputError as exc:
            problems.extend(exc.problems)
    owner = implicit.owner_part(raw.name_pattern, raw.system_name, raw.owner)
    created = implicit.resolve(doc, raw.pull_through_cache, raw.creation_templates, raw.defaults,
                               (policies, repository_policies), owner, raw.system_name, problems)
    problems.extend(implicit.literal_problems(raw.targets, raw.pull_through_cache, doc))
    if problems:
        raise InputError(doc.source, _by_line(problems))
    return Config(source=doc.source, system_name=raw.system_name, name_pattern=raw.name_pattern,
                  settings_via=raw.settings_via, outputs=tuple(dict.fromkeys(raw.outputs)),
                  post_deploy_policy=raw.post_deploy_policy, repositories=tuple(repositories),
                  notifications=notified, registry=raw.registry,
                  max_per_stack=raw.max_per_stack, targets=raw.targets,
                  in_use=raw.in_use.to_sources(base) if raw.in_use else None, owner=raw.owner,
                  implicit=created)
