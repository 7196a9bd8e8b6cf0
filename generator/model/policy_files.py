"""The policies ecr.yaml names: `lifecycle:` rules, `lifecycle_policy_file:` and `repository_policy_file:`.

A policy file is for what the `lifecycle:` and `access:` models do not express (an adopted
repository's, say): it is read once however many repositories name it, parsed by the same policy
model, and then treated exactly like the rules (rendered into the template, recorded for
post-deploy). A problem inside a file is reported at the ecr.yaml line that names the file,
with the file's own line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_
from generator.model import access, lifecycle, protection, repository_policy
from generator.model.repository import LifecycleRule, Settings
from generator.model.schema import placeholder_problem

# Where a problem the lifecycle model finds lives in a config rule.
_RULE_FIELDS = {"rulePriority": "priority", "selection.tagStatus": "tag_status",
                "selection.tagPrefixList": "tag_prefixes", "selection.tagPatternList": "tag_patterns",
                "selection.storageClass": "storage_class", "action.type": "action"}


class _Files:
    """Policy files by name, each read and parsed once; problems go to ecr.yaml's list."""

    def __init__(self, doc: Document, base: Path, problems: list[Problem], parse: Callable[[Any], Any],
                 error: type[ValueError], located: Callable[[Any], Path_]) -> None:
        self.doc, self.base, self.problems = doc, base, problems
        self.parse, self.error = parse, error
        self.located = located  # a model's problem -> the path in the file of what it is about
        self.files: dict[str, Any] = {}

    def get(self, name: str, at: Path_) -> Any:
        if name not in self.files:
            self.files[name] = self._read(name, at)
        return self.files[name]

    def _read(self, name: str, at: Path_) -> Any:
        try:
            policy_doc = source.load(self.base / name)
        except InputError as exc:
            self.problems.extend(self.doc.problem(at, p.render(exc.source)) for p in exc.problems)
            return None
        try:
            return self.parse(policy_doc.data)
        except self.error as exc:
            for p in exc.problems:  # type: ignore[attr-defined]
                where = self.located(p)
                line = policy_doc.line_of((*where, *p.field.split(".")) if p.field else where)
                self.problems.append(self.doc.problem(at, f"{policy_doc.source}:{line}: {p.describe()}"))
            return None


def _for_template(data: Any) -> lifecycle.Policy:
    """A lifecycle policy file's policy, whose text the template carries as it is."""
    policy = lifecycle.parse(data)
    problems = [lifecycle.PolicyProblem(problem, rule=index, field="description", priority=rule.priority)
                for index, rule in enumerate(policy.rules)
                if rule.description and (problem := placeholder_problem(rule.description))]
    if problems:
        raise lifecycle.PolicyError(problems)
    return policy


class LifecyclePolicies:
    """Builds each lifecycle policy once (a policy file shared by many repositories is read once)."""

    def __init__(self, doc: Document, base: Path, problems: list[Problem]) -> None:
        self.doc, self.problems = doc, problems
        self.files = _Files(doc, base, problems, _for_template, lifecycle.PolicyError,
                            lambda p: () if p.rule is None else ("rules", p.rule))

    def get(self, settings: Settings, at: Path_, protect_at: Path_ | None = None) -> lifecycle.Policy | None:
        """The policy `settings` give (None: none); with `protect_at` (where `protect_in_use` is
        set) it starts with the in-use shield rule, checked together with the other rules."""
        if settings.lifecycle_policy_file is not None:
            policy = self.files.get(settings.lifecycle_policy_file, (*at, "lifecycle_policy_file"))
            return policy if policy is None or protect_at is None else self._protected(policy, protect_at)
        if settings.lifecycle:
            return self._from_rules(settings.lifecycle, (*at, "lifecycle"), protect_at)
        return None

    def _from_rules(self, specs: list[LifecycleRule], at: Path_,
                    protect_at: Path_ | None = None) -> lifecycle.Policy | None:
        explicit = [spec.priority for spec in specs if spec.priority is not None]
        reserved = [protection.SHIELD_PRIORITY] if protect_at is not None else []
        auto = iter(range(max(explicit + reserved, default=0) + 1, 10**6))
        # Rules without a priority are numbered in order after the explicit ones, `any` last.
        numbered: dict[int, int] = {}
        for index in sorted(range(len(specs)), key=lambda i: specs[i].tag_status == "any"):
            numbered[index] = specs[index].priority or next(auto)
        policy = lifecycle.Policy(tuple(spec.to_rule(numbered[i]) for i, spec in enumerate(specs)))
        shift = 0
        if protect_at is not None:
            policy, shift = protection.protect(policy), 1
        for problem in lifecycle.validate(policy):
            if problem.rule is not None and problem.rule < shift:
                self.problems.append(self.doc.problem(
                    protect_at or at, f"the in-use shield rule takes priority {protection.SHIELD_PRIORITY}: "
                    f"{problem.message}"))
            elif problem.rule is None:
                self.problems.append(self.doc.problem(at, problem.message))
            else:
                spec = specs[problem.rule - shift]
                key = _RULE_FIELDS.get(problem.field, spec.count_key)
                self.problems.append(self.doc.problem((*at, problem.rule - shift, key), problem.message))
        return policy

    def _protected(self, policy: lifecycle.Policy, protect_at: Path_) -> lifecycle.Policy:
        """A policy file's rules after the shield rule; what the two cannot share is reported
        where `protect_in_use` is set."""
        protected = protection.protect(policy)
        for problem in lifecycle.validate(protected):
            self.problems.append(self.doc.problem(
                protect_at, f"with the in-use shield rule (priority {protection.SHIELD_PRIORITY}) first: "
                f"{problem.describe()}"))
        return protected


class RepositoryPolicies:
    """Resolves each repository's policy: its own `access`/file first, then the defaults'."""

    def __init__(self, doc: Document, base: Path, problems: list[Problem]) -> None:
        self.files = _Files(doc, base, problems, repository_policy.parse, repository_policy.PolicyError,
                            lambda p: () if p.statement is None else ("Statement", p.statement))

    def policy_for(self, entry: Settings, defaults: Settings, at: Path_) -> repository_policy.Policy | None:
        """The repository policy to manage, or None: the policy is left alone."""
        for settings, where in ((entry, at), (defaults, ("defaults",))):
            if settings.access is not None:
                return access.policy_of(settings.access)
            if settings.repository_policy_file is not None:
                return self.files.get(settings.repository_policy_file,  # type: ignore[no-any-return]
                                      (*where, "repository_policy_file"))
        return None
