"""E9506: a repository policy must not let everyone in without a condition."""

from __future__ import annotations

import json
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.cfn_rules._helpers import literal, lookup, repositories


class PublicRepositoryPolicy(CloudFormationLintRule):
    id = "E9506"
    shortdesc = "RepositoryPolicyText must not Allow Principal '*' without a Condition"
    description = (
        "A statement with Effect Allow and Principal '*' (or {'AWS': '*'}) and no Condition lets "
        "any AWS account act on the repository, pull its images for a start. Name the accounts, "
        "or add a Condition such as aws:PrincipalOrgID."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html"
    tags = ("resources", "ecr", "iam", "security")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for repo in repositories(cfn):
            policy, path = repo.prop("RepositoryPolicyText")
            in_text = isinstance(policy, str)
            if in_text:
                policy = _json(policy)
            statements = lookup(policy, ["Statement"])
            many = isinstance(statements, list)
            for index, statement in enumerate(statements if many else [statements]):
                if not _public(literal(statement)):
                    continue
                # In JSON text there is no finer position than the property itself.
                where = path if in_text else [*path, "Statement", *([index] if many else [])]
                name = statement.get("Sid") or f"{index + 1}"
                matches.append(RuleMatch(where, f"repository policy statement {name} allows Principal "
                                         "'*' without a Condition: any AWS account can use this repository"))
        return matches


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None


def _public(statement: Any) -> bool:
    """Effect Allow, Principal '*' or {'AWS': '*'} (alone or in a list), and no Condition."""
    if not isinstance(statement, dict) or "Condition" in statement:
        return False
    principal = lookup(statement, ["Principal"])
    if isinstance(principal, dict):
        principal = lookup(principal, ["AWS"])
    principals = principal if isinstance(principal, list) else [principal]
    return lookup(statement, ["Effect"]) == "Allow" and any(literal(p) == "*" for p in principals)
