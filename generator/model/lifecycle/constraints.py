"""Every constraint the ECR user guide documents for a lifecycle policy ("Lifecycle policy properties").

`validate` checks a whole policy; `semantic_problems` checks rules of which some fields may not
have parsed (`reading` runs it on what did), so one run reports every problem at once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from generator.model.lifecycle.policy import STORAGE_CLASSES, Policy, PolicyProblem, Rule

MAX_RULES = 50
MIN_TEXT, MAX_TEXT = 100, 30_720
MAX_WILDCARDS = 4
MAX_COUNT = 2**31 - 1  # ECR reads countNumber and rulePriority as 32-bit integers
MIN_ARCHIVE_DAYS = 90  # archived images are kept (and billed) for at least 90 days


def validate(policy: Policy) -> list[PolicyProblem]:
    """Every constraint ECR documents for a lifecycle policy, one problem per violation; the
    length is measured on the texts ecrgen writes for it (`rendering_problems`)."""
    return semantic_problems(list(policy.rules)) + rendering_problems(policy)


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


def semantic_problems(rules: list[Rule | None]) -> list[PolicyProblem]:
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
