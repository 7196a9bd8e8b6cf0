"""The lifecycle rule model: one typed record per rule, rendered in one place.

A `Rule` mirrors one entry of ECR's lifecycle policy JSON; `Policy.to_text` renders what goes
into `LifecyclePolicyText`. `reading` parses that JSON (from a file, a template or live ECR) and
`constraints` checks every constraint the ECR user guide documents ("Lifecycle policy
properties"). The template, the post-deploy diff, the lint rules and the preview all use this
model, so a rule is understood the same way everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

TagStatus = Literal["tagged", "untagged", "any"]
StorageClass = Literal["standard", "archive"]
CountType = Literal["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled",
                    "sinceImageTransitioned"]
ActionType = Literal["expire", "transition"]

TAG_STATUSES: tuple[str, ...] = ("tagged", "untagged", "any")
STORAGE_CLASSES: tuple[str, ...] = ("standard", "archive")
COUNT_TYPES: tuple[str, ...] = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled",
                                "sinceImageTransitioned")
ACTION_TYPES: tuple[str, ...] = ("expire", "transition")
TIME_COUNT_TYPES = frozenset(COUNT_TYPES[1:])



@dataclass(frozen=True)
class Rule:
    """One lifecycle rule, in ECR's own terms."""

    priority: int
    tag_status: TagStatus
    count_type: CountType
    count_number: int
    description: str | None = None
    tag_prefixes: tuple[str, ...] = ()
    tag_patterns: tuple[str, ...] = ()
    storage_class: StorageClass = "standard"
    action: ActionType = "expire"

    def to_aws(self) -> dict[str, Any]:
        """The rule as ECR's lifecycle policy JSON object."""
        selection: dict[str, Any] = {"tagStatus": self.tag_status}
        if self.tag_prefixes:
            selection["tagPrefixList"] = list(self.tag_prefixes)
        if self.tag_patterns:
            selection["tagPatternList"] = list(self.tag_patterns)
        if self.storage_class != "standard":
            selection["storageClass"] = self.storage_class
        selection["countType"] = self.count_type
        if self.count_type in TIME_COUNT_TYPES:
            selection["countUnit"] = "days"
        selection["countNumber"] = self.count_number
        action: dict[str, Any] = {"type": self.action}
        if self.action == "transition":
            action["targetStorageClass"] = "archive"
        out: dict[str, Any] = {"rulePriority": self.priority}
        if self.description:
            out["description"] = self.description
        out["selection"] = selection
        out["action"] = action
        return out

    def key(self) -> tuple[Any, ...]:
        """What the rule means: equal keys act on the same images in the same way."""
        return (self.priority, self.tag_status, tuple(sorted(self.tag_prefixes)),
                tuple(sorted(self.tag_patterns)), self.storage_class, self.count_type,
                self.count_number, self.action, self.description or "")


@dataclass(frozen=True)
class Policy:
    """An ordered list of rules; order in the text is kept, meaning is by priority."""

    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def to_aws(self) -> dict[str, Any]:
        return {"rules": [rule.to_aws() for rule in self.rules]}

    def to_text(self, indent: int | None = 2) -> str:
        """The `LifecyclePolicyText`: readable indented JSON by default, compact with None."""
        separators = (",", ": ") if indent else (",", ":")
        return json.dumps(self.to_aws(), indent=indent, separators=separators, ensure_ascii=False)

    def key(self) -> tuple[Any, ...]:
        """Policies with equal keys mean the same thing, however their text is laid out."""
        return tuple(sorted(rule.key() for rule in self.rules))

    def by_priority(self) -> list[Rule]:
        return sorted(self.rules, key=lambda rule: rule.priority)


@dataclass(frozen=True)
class PolicyProblem:
    """One broken constraint. `rule` is the index in the policy's rule list (None: the whole
    policy); `field` is the AWS JSON path inside that rule, e.g. `selection.tagPrefixList`."""

    message: str
    rule: int | None = None
    field: str = ""
    priority: int | None = None

    def where(self) -> str:
        """`rule priority 2 selection.countType`: the rule (by priority when known) and field."""
        where = []
        if self.rule is not None:
            where.append(f"rule {self.rule + 1}" if self.priority is None
                         else f"rule priority {self.priority}")
        if self.field:
            where.append(self.field)
        return " ".join(where)

    def describe(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class PolicyError(ValueError):
    """A lifecycle policy that ECR would reject; `problems` lists every reason."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.describe() for p in problems))
