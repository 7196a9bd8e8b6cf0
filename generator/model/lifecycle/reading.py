"""Reading ECR lifecycle policy JSON: from text, data or a file, every problem at once.

`parse` turns the JSON into the rule model (`policy`) and runs every documented check
(`constraints`), schema and semantics alike, each problem located by rule and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.model.lifecycle.constraints import rendering_problems, semantic_problems, text_problems
from generator.model.lifecycle.policy import (
    ACTION_TYPES,
    COUNT_TYPES,
    STORAGE_CLASSES,
    TAG_STATUSES,
    TIME_COUNT_TYPES,
    Policy,
    PolicyError,
    PolicyProblem,
    Rule,
)

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
    problems += semantic_problems(rules)
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
