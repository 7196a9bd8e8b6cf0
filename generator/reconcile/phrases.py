"""Settings as short human phrases: the post-deploy table and the error about conflicting stacks.

A policy's JSON is too long for a table cell or a message, so each lifecycle rule becomes one
phrase (`2: tagged v*, keep 20`), and a repository policy says who each statement lets in. A
rule's description is shown only where it is what differs, so that two policies that differ
only there never read the same.
"""

from __future__ import annotations

from generator.model import lifecycle, repository_policy

_COUNTS = {"imageCountMoreThan": "keep {n}", "sinceImagePushed": "pushed > {n}d",
           "sinceImagePulled": "pulled > {n}d", "sinceImageTransitioned": "archived > {n}d"}


def mutability_text(mode: str, filters: frozenset[str]) -> str:
    """`IMMUTABLE_WITH_EXCLUSION [latest, dev-*]`, or just the mode."""
    return f"{mode} [{', '.join(sorted(filters))}]" if filters else mode


def rule_phrase(rule: lifecycle.Rule, with_description: bool = False) -> str:
    """`2: tagged v*, keep 20` or `3: any, pushed > 30d, archive`, then the description if asked."""
    tags = ",".join(rule.tag_prefixes + rule.tag_patterns)
    parts = [f"{rule.priority}: {rule.tag_status}{' ' + tags if tags else ''}",
             _COUNTS[rule.count_type].format(n=rule.count_number)]
    if rule.storage_class == "archive":
        parts.insert(1, "archived")
    if rule.action == "transition":
        parts.append("archive")
    if with_description:
        parts.append(f"description {rule.description!r}" if rule.description else "no description")
    return ", ".join(parts)


def policy_phrase(policy: lifecycle.Policy, describe: frozenset[int] = frozenset()) -> str:
    """One phrase per rule by priority; the rules whose priority is in `describe` with their description."""
    return "; ".join(rule_phrase(rule, rule.priority in describe) for rule in policy.by_priority())


def policy_pair(before: lifecycle.Policy, after: lifecycle.Policy) -> tuple[str, str]:
    """Both policies as phrases that show what differs, descriptions included where only they do."""
    plain = policy_phrase(before), policy_phrase(after)
    if plain[0] != plain[1]:
        return plain
    descriptions = {rule.priority: rule.description or "" for rule in before.rules}
    differ = frozenset(rule.priority for rule in after.rules
                       if descriptions.get(rule.priority) != (rule.description or ""))
    return policy_phrase(before, differ), policy_phrase(after, differ)


def access_phrase(policy: repository_policy.Policy) -> str:
    """`Pull: 111122223333, role/ci; PushOrganization: *`: who each statement lets in."""
    return "; ".join(f"{s.sid or s.effect}: {', '.join(v for _, v in s.principals)}"
                     for s in policy.statements)
