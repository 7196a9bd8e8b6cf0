"""`creation_templates:` in ecr.yaml: the settings ECR gives the repositories it creates itself.

ECR creates repositories on its own when a pull-through cache rule caches a new image, when a
replication rule lands an image in a new region or account, and when a pipeline pushes to a name
that does not exist yet (create on push). A repository creation template with a matching prefix
gives each its settings, once, at creation: a template changed later leaves the repositories it
made on the old settings. So with `enforce_existing` (the default) post-deploy also keeps every
existing repository under the prefix at the template's settings, like a named repository.

A template is written in the same words as a repository (`image_tag_mutability`,
`mutability_exclusions`, `encryption`, `lifecycle` or `lifecycle_policy_file`, `access` or
`repository_policy_file`, `scan_on_push`), checked by the same models, and unset settings come
from `defaults`. Pure: the model, its resolution, and which template governs a repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from generator.base.errors import Problem
from generator.base.source import Document, Path_
from generator.model import lifecycle, repository, repository_policy
from generator.model.access import ROLE_ARN
from generator.model.policy_files import LifecyclePolicies, RepositoryPolicies
from generator.model.pull_through_cache import ROOT, claim_problem
from generator.model.repository import Encryption, RepositoryEntry, Settings
from generator.model.schema import LiteralText

AppliedFor = Literal["PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH"]
PREFIX_LENGTH = (1, 256)
MAX_DESCRIPTION = 256
MAX_RESOURCE_TAGS = 50
MAX_REPOSITORY_POLICY = 10_240  # RepositoryPolicyText
# A template's KMS key must be the key's ARN (KmsKeyForRepositoryCreationTemplate), not an alias.
KMS_KEY_ARN = re.compile(r"arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-z0-9-]+\Z")
# What a template sets of its repositories: ECR's template fields, and scan on push (post-deploy).
TEMPLATE_SETTINGS = ("image_tag_mutability", "mutability_exclusions", "scan_on_push", "encryption",
                     "lifecycle", "lifecycle_policy_file", "access", "repository_policy_file")
_NOT_FOR_TEMPLATES = tuple(name for name in Settings.model_fields if name not in TEMPLATE_SETTINGS)


class CreationTemplateEntry(Settings):
    """One template as written in ecr.yaml: a repository's settings plus the template's own."""

    prefix: str
    applied_for: Annotated[list[AppliedFor], Field(min_length=1)]
    description: Annotated[LiteralText, Field(max_length=MAX_DESCRIPTION)] | None = None
    custom_role: str | None = None
    resource_tags: Annotated[dict[LiteralText, LiteralText], Field(max_length=MAX_RESOURCE_TAGS)] | None \
        = None
    enforce_existing: bool = True

    @field_validator(*_NOT_FOR_TEMPLATES)
    @classmethod
    def _repository_only(cls, value: Any, info: Any) -> Any:
        if value is not None:
            hint = "; use resource_tags, the tags ECR gives each repository it creates" \
                if info.field_name == "tags" else ""
            raise ValueError(f"is not a creation template setting{hint} (a template sets "
                             f"{', '.join(TEMPLATE_SETTINGS)})")
        return value


@dataclass(frozen=True)
class CreationTemplate:
    """One template, resolved: what UpdateRepositoryCreationTemplate takes, plus what post-deploy
    enforces on the repositories under its prefix."""

    prefix: str
    applied_for: tuple[str, ...]
    image_tag_mutability: str
    mutability_exclusions: tuple[str, ...]
    encryption: Encryption
    lifecycle_policy: lifecycle.Policy | None
    repository_policy: repository_policy.Policy | None  # with ${AWS::...} placeholders
    scan_on_push: bool
    description: str | None = None
    custom_role_arn: str | None = None
    resource_tags: tuple[tuple[str, str], ...] = ()
    enforce_existing: bool = True

    def to_api(self, repository_arn: str = "") -> dict[str, Any]:
        """As DescribeRepositoryCreationTemplates shows it, with the repository policy's
        placeholders filled from `repository_arn` (any repository ARN of the registry)."""
        encryption: dict[str, str] = {"encryptionType": self.encryption.type}
        if self.encryption.kms_key:
            encryption["kmsKey"] = self.encryption.kms_key
        out: dict[str, Any] = {
            "prefix": self.prefix, "description": self.description or "",
            "encryptionConfiguration": encryption,
            "resourceTags": [{"Key": k, "Value": v} for k, v in self.resource_tags],
            "imageTagMutability": self.image_tag_mutability,
            "repositoryPolicy": self.policy_text(repository_arn),
            "lifecyclePolicy": self.lifecycle_policy.to_text(indent=None) if self.lifecycle_policy else "",
            "appliedFor": list(self.applied_for), "customRoleArn": self.custom_role_arn or ""}
        if self.mutability_exclusions:  # the API takes 1 to 5, or none at all
            out["imageTagMutabilityExclusionFilters"] = [{"filterType": "WILDCARD", "filter": value}
                                                         for value in self.mutability_exclusions]
        return out

    def policy_text(self, repository_arn: str) -> str:
        if self.repository_policy is None:
            return ""
        policy = self.repository_policy.resolve(repository_arn) if repository_arn else self.repository_policy
        return policy.to_text(indent=None)


def resolve(doc: Document, entries: Sequence[CreationTemplateEntry], defaults: Settings,
            policies: LifecyclePolicies, repository_policies: RepositoryPolicies,
            substitute: Callable[[str], str], owns: Callable[[str], bool], namespace: str,
            problems: list[Problem], at: Path_ = ("creation_templates",)) -> tuple[CreationTemplate, ...]:
    """Each template with `defaults` applied, checked by the repository models; problems are
    appended with their lines."""
    default_policy = policies.get(defaults, ("defaults",))
    out = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = (*at, index)
        prefix = substitute(entry.prefix)
        message = claim_problem(prefix, PREFIX_LENGTH, owns, namespace)
        if message:
            problems.append(doc.problem((*where, "prefix"), message))
        elif normalized(prefix) in seen:
            problems.append(doc.problem((*where, "prefix"), f"{prefix!r} duplicates creation_templates["
                                        f"{seen[normalized(prefix)]}]: one template per prefix"))
        seen.setdefault(normalized(prefix), index)
        if entry.custom_role is not None and not ROLE_ARN.match(entry.custom_role):
            problems.append(doc.problem((*where, "custom_role"), f"{entry.custom_role!r} is not an IAM role "
                                        "ARN (arn:aws:iam::<account>:role/<name>)"))
        own = entry.lifecycle is not None or entry.lifecycle_policy_file is not None
        policy = policies.get(entry, where) if own else default_policy
        # The repository model resolves and checks the settings a template shares with a repository.
        fields = {key: getattr(entry, key) for key in TEMPLATE_SETTINGS}
        settings = repository.resolve(doc, RepositoryEntry.model_construct(name=prefix, **fields), defaults,
                                      "{name}", where, policy, problems)
        key = settings.encryption.kms_key
        if key is not None and not KMS_KEY_ARN.match(key):
            problems.append(doc.problem((*where, "encryption", "kms_key"), f"{key!r}: a creation template "
                                        "takes the KMS key's ARN (arn:aws:kms:<region>:<account>:key/<id>), "
                                        "not an alias"))
        access = repository_policies.policy_for(entry, defaults, where)
        length = len(access.to_text(indent=None)) if access is not None else 0
        if length > MAX_REPOSITORY_POLICY:
            problems.append(doc.problem(where, f"the repository policy is {length:,} characters; ECR allows "
                                        f"at most {MAX_REPOSITORY_POLICY:,}"))
        tags = entry.resource_tags if entry.resource_tags is not None else (defaults.tags or {})
        out.append(CreationTemplate(
            prefix=prefix, applied_for=tuple(dict.fromkeys(entry.applied_for)),
            image_tag_mutability=settings.image_tag_mutability,
            mutability_exclusions=settings.mutability_exclusions, encryption=settings.encryption,
            lifecycle_policy=policy, repository_policy=access, scan_on_push=settings.scan_on_push,
            description=entry.description, custom_role_arn=entry.custom_role,
            resource_tags=tuple(sorted(tags.items())), enforce_existing=entry.enforce_existing))
    return tuple(out)


def normalized(prefix: str) -> str:
    """`prod/` and `prod` are one prefix: ECR always reads a prefix as ending in '/'."""
    return prefix.rstrip("/")


def governing(name: str, prefixes: Iterable[str]) -> str | None:
    """The prefix of the template ECR applies to a repository named `name`: the longest whose
    `<prefix>/` starts the name, else ROOT when there is a ROOT template, else None."""
    best: str | None = None
    has_root = False
    for prefix in prefixes:
        if prefix == ROOT:
            has_root = True
        elif name.startswith(normalized(prefix) + "/") and (
                best is None or len(normalized(prefix)) > len(normalized(best))):
            best = prefix
    return best if best is not None else (ROOT if has_root else None)


def by_prefix(templates: Iterable[CreationTemplate]) -> Mapping[str, CreationTemplate]:
    return {normalized(t.prefix): t for t in templates}
