"""E9501: the lifecycle policy inside LifecyclePolicyText (or a creation template's LifecyclePolicy)
is one that ECR accepts."""

from __future__ import annotations

import json

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.base import source
from generator.base.source import JSON_TOO_DEEP
from generator.lint.rules._helpers import LIFECYCLE_POLICY, text_lines, text_location, values_of
from generator.model import lifecycle


class LifecyclePolicyText(CloudFormationLintRule):
    id = "E9501"
    shortdesc = "ECR lifecycle policy text must be a policy ECR accepts"
    description = (
        "cfn-lint only checks that LifecyclePolicyText is a string of 100 to 30,720 characters. "
        "This rule parses it and checks ECR's lifecycle policy schema and every documented "
        "constraint (unique priorities, the 'any' rule last, tagStatus values, count types, "
        "archive rules, ...), one finding per problem, at the line of the offending rule when "
        "the policy is a YAML block literal. A repository creation template's LifecyclePolicy, "
        "which ECR gives every repository it creates, is checked the same way."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html"
    tags = ("resources", "ecr", "lifecycle")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for _, text, path in values_of(cfn, LIFECYCLE_POLICY):
            if not isinstance(text, str):
                continue
            for text_line, message in _problems(text):
                match = RuleMatch(path, f"Lifecycle policy: {message}")
                location = text_location(text, text_line)
                if location:
                    match.location = location
                matches.append(match)
        return matches


def _problems(text: str) -> list[tuple[int | None, str]]:
    """(line in the policy text or None, message) for every problem of the policy."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [(exc.lineno, f"not valid JSON: {exc.msg} (policy line {exc.lineno}, column {exc.colno})")]
    except RecursionError:
        return [(None, JSON_TOO_DEEP)]
    try:
        lifecycle.parse(data, text)  # ECR limits the length of exactly this text
    except lifecycle.PolicyError as exc:
        lines = text_lines(text)
        return [(_line_of(lines, problem), problem.describe()) for problem in exc.problems]
    return []


def _line_of(lines: source.Document | None, problem: lifecycle.PolicyProblem) -> int | None:
    if lines is None:
        return None
    path: source.Path_ = ("rules", problem.rule) if problem.rule is not None else ()
    path += tuple(part for part in problem.field.split(".") if part)
    return lines.line_of(path)
