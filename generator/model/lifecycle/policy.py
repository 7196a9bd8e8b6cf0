"""The lifecycle rule model: one typed record per rule, validated and rendered in one place.

A `Rule` mirrors one entry of ECR's lifecycle policy JSON. `parse` reads that JSON (from a
file, a template or live ECR), `validate` checks every constraint the ECR user guide documents
("Lifecycle policy properties"), and `Policy.to_text` renders what goes into
`LifecyclePolicyText`. The template, the post-deploy diff, the lint rules and the preview all
use this model, so a rule is understood the same way everywhere.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from generator.base import source
from generator.base.errors import InputError, Problem

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

MAX_RULES = 50
MIN_TEXT, MAX_TEXT = 100, 30_720
MAX_WILDCARDS = 4
MAX_COUNT = 2**31 - 1  # ECR reads countNumber and rulePriority as 32-bit integers
MIN_ARCHIVE_DAYS = 90  # archived images are kept (and billed) for at least 90 days


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


# --- reading raw AWS JSON -------------------------------------------------------------------

_RULE_KEYS = {"rulePriority", "description", "selection", "action"}
_SELECTION_KEYS = {"tagStatus", "tagPrefixList", "tagPatternList", "storageClass", "countType",
                   "countUnit", "countNumber"}
_ACTION_KEYS = {"type", "targetStorageClass"}


def parse_text(text: str) -> Policy:
    """Parse and validate the policy text that ECR receives (a file's, a template's, the live
    one); its length is this text's. Raises PolicyError listing every problem."""
    try:
        data = source.load_policy_json(text)
    except ValueError as exc:
        raise PolicyError([PolicyProblem(str(exc))]) from None
    return parse(data, text)


def parse(data: Any, text: str | None = None) -> Policy:
    """Read ECR lifecycle policy JSON data into a Policy and validate it.

    `text` is the text that ECR receives, whose length ECR limits. Without it ecrgen renders the
    policy itself, so the texts ecrgen writes are measured instead (see `rendering_problems`).
    Raises PolicyError with one problem per broken constraint, schema and semantics alike, all
    in one run: the semantic checks also run on the rules with schema problems, on every field
    that did parse.
    """
    problems: list[PolicyProblem] = []
    if not isinstance(data, dict):
        raise PolicyError([PolicyProblem(f"must be a JSON object with 'rules', got {_kind(data)}")])
    for key in sorted(set(data) - {"rules"}):
        problems.append(PolicyProblem(f"unknown key {key!r}; allowed: 'rules'", field=key))
    if text is not None:
        problems += text_problems(text)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(PolicyProblem("must be a non-empty list of rules", field="rules"))
        raise PolicyError(problems)
    before = len(problems)
    rules = [_parse_rule(raw, index, problems) for index, raw in enumerate(raw_rules)]
    complete = len(problems) == before  # every field of every rule parsed
    problems += _semantic_problems(rules)
    if complete and text is None:
        problems += rendering_problems(Policy(tuple(rules)))  # type: ignore[arg-type]
    if problems:  # the policy's own first, then rule by rule
        raise PolicyError(sorted(problems, key=lambda p: -1 if p.rule is None else p.rule))
    return Policy(tuple(rules))  # type: ignore[arg-type]


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), "a value")


def _parse_rule(raw: Any, index: int, problems: list[PolicyProblem]) -> Rule | None:
    """The rule, with None in every field that did not parse (a problem says why), so that the
    semantic checks can still judge the rest; None when the rule is not even an object."""
    def bad(field_: str, message: str) -> None:
        problems.append(PolicyProblem(message, rule=index, field=field_, priority=priority))

    priority = raw.get("rulePriority") if isinstance(raw, dict) else None
    if not isinstance(priority, int) or isinstance(priority, bool):
        priority = None
    if not isinstance(raw, dict):
        bad("", f"must be an object, got {_kind(raw)}")
        return None
    _unknown_keys(raw, _RULE_KEYS, "", bad)
    selection = raw.get("selection")
    action = raw.get("action")
    if "rulePriority" not in raw:
        bad("rulePriority", "is required (a positive integer)")
    elif priority is None or priority < 1:
        bad("rulePriority", f"must be a positive integer, got {raw['rulePriority']!r}")
        priority = None
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        bad("description", f"must be a string, got {_kind(description)}")
        description = None
    if not isinstance(selection, dict):
        bad("selection", "is required: an object with tagStatus, countType and countNumber")
        selection = {}
    if not isinstance(action, dict):
        bad("action", "is required: an object with type 'expire' or 'transition'")
        action = {}
    _unknown_keys(selection, _SELECTION_KEYS, "selection.", bad)
    _unknown_keys(action, _ACTION_KEYS, "action.", bad)

    tag_status = _enum(selection, "tagStatus", TAG_STATUSES, "selection.", bad, required=True)
    count_type = _enum(selection, "countType", COUNT_TYPES, "selection.", bad, required=True)
    storage_class = (_enum(selection, "storageClass", STORAGE_CLASSES, "selection.", bad)
                     if "storageClass" in selection else "standard")
    action_type = _enum(action, "type", ACTION_TYPES, "action.", bad, required=True)
    prefixes = _string_list(selection, "tagPrefixList", bad)
    patterns = _string_list(selection, "tagPatternList", bad)
    count_number = selection.get("countNumber")
    if "countNumber" not in selection:
        bad("selection.countNumber", "is required (an integer of at least 1)")
        count_number = None
    elif not isinstance(count_number, int) or isinstance(count_number, bool) or count_number < 1:
        bad("selection.countNumber", f"must be an integer of at least 1, got {count_number!r}")
        count_number = None
    if count_type in TIME_COUNT_TYPES:
        if selection.get("countUnit") != "days":
            bad("selection.countUnit",
                f"must be 'days' with countType {count_type!r}, got {selection.get('countUnit')!r}")
    elif "countUnit" in selection and count_type:
        bad("selection.countUnit", f"is not allowed with countType {count_type!r}")
    target = action.get("targetStorageClass")
    if action_type == "transition" and target != "archive":
        bad("action.targetStorageClass", f"must be 'archive' with action type 'transition', got {target!r}")
    elif action_type == "expire" and "targetStorageClass" in action:
        bad("action.targetStorageClass", "is only allowed with action type 'transition'")
    return Rule(priority=priority, tag_status=tag_status, count_type=count_type,  # type: ignore[arg-type]
                count_number=count_number, description=description,  # type: ignore[arg-type]
                tag_prefixes=None if prefixes is None else tuple(prefixes),  # type: ignore[arg-type]
                tag_patterns=None if patterns is None else tuple(patterns),  # type: ignore[arg-type]
                storage_class=storage_class, action=action_type)  # type: ignore[arg-type]


def _unknown_keys(obj: dict[str, Any], allowed: set[str], prefix: str, bad: Any) -> None:
    for key in sorted(set(obj) - allowed, key=str):
        bad(f"{prefix}{key}", f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _enum(obj: dict[str, Any], key: str, allowed: tuple[str, ...], prefix: str, bad: Any,
          required: bool = False) -> str | None:
    if key not in obj:
        if required:
            bad(f"{prefix}{key}", f"is required; one of {', '.join(allowed)}")
        return None
    value = obj[key]
    if value not in allowed:
        bad(f"{prefix}{key}", f"must be one of {', '.join(allowed)}, got {value!r}")
        return None
    return value


def _string_list(selection: dict[str, Any], key: str, bad: Any) -> list[str] | None:
    """The list (empty when absent); None when it is no list of strings or is given empty."""
    value = selection.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        bad(f"selection.{key}", f"must be a list of strings, got {value!r}")
        return None
    if key in selection and not value:
        bad(f"selection.{key}", "must not be empty")
        return None
    return value


# --- the documented constraints -------------------------------------------------------------

def validate(policy: Policy) -> list[PolicyProblem]:
    """Every constraint ECR documents for a lifecycle policy, one problem per violation; the
    length is measured on the texts ecrgen writes for it (`rendering_problems`)."""
    return _semantic_problems(list(policy.rules)) + rendering_problems(policy)


def text_problems(text: str) -> list[PolicyProblem]:
    """ECR's limit on the length of the `lifecyclePolicyText` it receives: exactly this text."""
    if MIN_TEXT <= len(text) <= MAX_TEXT:
        return []
    return [PolicyProblem(f"the policy text is {len(text)} characters; ECR accepts {MIN_TEXT} to {MAX_TEXT}")]


def rendering_problems(policy: Policy) -> list[PolicyProblem]:
    """The length limit on the texts ecrgen sends for `policy`: `ecrgen template` writes the
    indented `to_text()` (the longer), `ecrgen post-deploy` sends the compact `to_text(None)`
    (the shorter); so the first must not be too long and the second not too short."""
    problems = []
    indented, compact = len(policy.to_text()), len(policy.to_text(indent=None))
    if indented > MAX_TEXT:
        problems.append(PolicyProblem(f"the policy text is {indented} characters as ecrgen writes it into "
                                      f"the template (indented JSON); ECR accepts {MIN_TEXT} to {MAX_TEXT}"))
    if compact < MIN_TEXT:
        problems.append(PolicyProblem(f"the policy text is {compact} characters as ecrgen post-deploy "
                                      f"sends it (compact JSON); ECR accepts {MIN_TEXT} to {MAX_TEXT}"))
    return problems


def _semantic_problems(rules: list[Rule | None]) -> list[PolicyProblem]:
    """The documented constraints on rules and between rules, on what is known of them.

    A rule that is None (not an object) and a field that is None (it did not parse) are
    unknown: each check skips what it cannot know, so it never reports a problem that fixing
    the unknown part could make disappear or a different one that the fix could reveal.
    """
    problems: list[PolicyProblem] = []

    def bad(index: int | None, field_: str, message: str) -> None:
        rule = rules[index] if index is not None else None
        problems.append(PolicyProblem(message, rule=index, field=field_,
                                      priority=rule.priority if rule is not None else None))

    if not rules:
        bad(None, "rules", "a policy needs at least one rule")
    if len(rules) > MAX_RULES:
        bad(None, "rules", f"has {len(rules)} rules; ECR allows at most {MAX_RULES}")
    known = [(index, rule) for index, rule in enumerate(rules) if rule is not None]
    for index, rule in known:
        _validate_rule(rule, index, bad)

    counts = Counter(rule.priority for _, rule in known if rule.priority is not None)
    for index, rule in known:
        if rule.priority is not None and counts[rule.priority] > 1:
            bad(index, "rulePriority", f"{rule.priority} is used by {counts[rule.priority]} rules; "
                "each rule needs a unique priority")

    for storage_class in STORAGE_CLASSES:
        members = [(i, r) for i, r in known if r.storage_class == storage_class]
        any_rules = [(i, r) for i, r in members if r.tag_status == "any"]
        for i, _ in any_rules[1:]:
            bad(i, "selection.tagStatus", f"only one rule per storage class ({storage_class}) "
                "may use tagStatus 'any'")
        if any_rules and any_rules[0][1].priority is not None:
            i, any_rule = any_rules[0]
            higher = [r.priority for _, r in members if r is not any_rule and r.priority is not None
                      and r.priority > any_rule.priority]
            if higher:
                bad(i, "rulePriority", f"a rule with tagStatus 'any' must have the highest priority "
                    f"among the {storage_class} rules, but {max(higher)} is higher than "
                    f"{any_rule.priority}")
        untagged = [i for i, r in members if r.tag_status == "untagged"]
        for i in untagged[1:]:
            bad(i, "selection.tagStatus", f"only one rule per storage class ({storage_class}) "
                "may select untagged images")
        seen: dict[str, int] = {}
        for i, rule in members:
            for prefix in rule.tag_prefixes or ():
                if prefix in seen and seen[prefix] != i:
                    bad(i, "selection.tagPrefixList", f"prefix {prefix!r} is already used by rule "
                        f"{_name(seen[prefix], rules)}; prefixes must be unique across the "
                        f"{storage_class} rules")
                seen.setdefault(prefix, i)
    return problems


def _name(index: int, rules: list[Rule | None]) -> str:
    """`priority 2`, or `3` (its place in the list) when its priority is unknown."""
    rule = rules[index]
    return f"priority {rule.priority}" if rule is not None and rule.priority is not None else f"{index + 1}"


def _validate_rule(rule: Rule, index: int, bad: Any) -> None:
    """The constraints within one rule; a field that is None did not parse and is skipped."""
    priority, count_number, count_type = rule.priority, rule.count_number, rule.count_type
    status, prefixes, patterns = rule.tag_status, rule.tag_prefixes, rule.tag_patterns
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)
                                 or not 1 <= priority <= MAX_COUNT):
        bad(index, "rulePriority", f"must be a positive integer up to {MAX_COUNT:,}, got {priority!r}")
    if count_number is not None:
        if not 1 <= count_number <= MAX_COUNT:
            bad(index, "selection.countNumber", f"must be 1 to {MAX_COUNT:,}, got {count_number}")
        elif count_type == "sinceImageTransitioned" and count_number < MIN_ARCHIVE_DAYS:
            bad(index, "selection.countNumber", f"archived images cannot be expired before "
                f"{MIN_ARCHIVE_DAYS} days in archive, got {count_number}")
    if status is not None and prefixes is not None and patterns is not None:
        if status == "tagged":
            if bool(prefixes) == bool(patterns):
                bad(index, "selection.tagPrefixList",
                    "tagStatus 'tagged' needs exactly one of tagPrefixList or tagPatternList")
        elif prefixes or patterns:
            field_ = "selection.tagPrefixList" if prefixes else "selection.tagPatternList"
            bad(index, field_, f"is only allowed with tagStatus 'tagged', not {status!r}")
    for prefix in prefixes or ():
        if not prefix:
            bad(index, "selection.tagPrefixList", "must not contain an empty prefix")
    for pattern in patterns or ():
        if not pattern:
            bad(index, "selection.tagPatternList", "must not contain an empty pattern")
        elif pattern.count("*") > MAX_WILDCARDS:
            bad(index, "selection.tagPatternList", f"{pattern!r} has {pattern.count('*')} "
                f"wildcards; at most {MAX_WILDCARDS} are allowed")
    if rule.action == "expire" and count_type == "sinceImagePulled":
        bad(index, "selection.countType", "'sinceImagePulled' is only allowed with action "
            "'transition' (archive)")
    if count_type == "sinceImageTransitioned":
        if rule.storage_class not in ("archive", None) or rule.action not in ("expire", None):
            bad(index, "selection.countType", "'sinceImageTransitioned' needs storageClass "
                "'archive' and action 'expire'")
    elif rule.storage_class == "archive" and count_type is not None:
        bad(index, "selection.storageClass", "'archive' is only allowed with countType "
            "'sinceImageTransitioned'")


# --- policy files ---------------------------------------------------------------------------

def read_file(path: Path | str) -> tuple[Policy | None, list[Problem]]:
    """A raw AWS policy JSON file: the policy, or None and one located problem per broken
    constraint. Its length is the file's, as `put-lifecycle-policy` sends the file as it is. A
    file that cannot be read or is not JSON raises InputError instead."""
    text = source.read_text(path)
    data = source.load_json(text, str(path))
    try:
        return parse(data, text), []
    except PolicyError as exc:
        errors = exc.problems
    try:
        doc = source.load(path, text)
    except InputError:  # JSON that YAML cannot read: report without lines
        doc = None
    problems = []
    for p in errors:
        at: tuple[str | int, ...] = () if p.rule is None else ("rules", p.rule)
        at += tuple(p.field.split(".")) if p.field else ()
        problems.append(Problem(p.message, field=p.where(), line=doc.line_of(at) if doc else None))
    return None, problems


def load_file(path: Path | str) -> Policy:
    """A valid policy from a raw AWS JSON file, or InputError listing every problem."""
    policy, problems = read_file(path)
    if policy is None:
        raise InputError(str(path), problems)
    return policy
