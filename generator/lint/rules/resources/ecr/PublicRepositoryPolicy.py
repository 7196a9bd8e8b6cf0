"""E9506: a repository policy must not let everyone in without a condition on who."""

from __future__ import annotations

import json
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._helpers import REPOSITORY_POLICY, literal, lookup, values_of
from generator.model.policy_conditions import narrows_principal


class PublicRepositoryPolicy(CloudFormationLintRule):
    id = "E9506"
    shortdesc = "RepositoryPolicyText must not Allow Principal '*' without a Condition on who"
    description = (
        "A statement with Effect Allow and Principal '*' (or {'AWS': '*'}) lets any AWS account "
        "act on the repository, pull its images for a start, unless a Condition narrows who: "
        "aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceVpce and the like, under an "
        "operator that requires a match. A Condition such as aws:SecureTransport does not. "
        "Name the accounts, or add such a Condition."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html"
    tags = ("resources", "ecr", "iam", "security")

    def match(self, cfn: Template) -> list[RuleMatch]:
        matches = []
        for _, policy, path in values_of(cfn, REPOSITORY_POLICY, sub_as_text=True):
            in_text = isinstance(policy, str)
            if in_text:
                policy = _json(policy)
            statements = lookup(policy, ["Statement"])
            many = isinstance(statements, list)
            for index, statement in enumerate(statements if many else [statements]):
                statement = literal(statement)
                if not _public(statement):
                    continue
                # In JSON text there is no finer position than the property itself.
                where = path if in_text else [*path, "Statement", *([index] if many else [])]
                name = statement.get("Sid") or f"{index + 1}"
                matches.append(RuleMatch(where, f"repository policy statement {name} allows Principal "
                                         "'*' without a Condition on who (such as aws:PrincipalOrgID): "
                                         "any AWS account can use this repository"))
        return matches


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None


def _public(statement: Any) -> bool:
    """Effect Allow, Principal '*' or {'AWS': '*'} (alone or in a list), and no Condition that
    narrows who. Deny statements never grant anything."""
    if not isinstance(statement, dict) or lookup(statement, ["Effect"]) != "Allow":
        return False
    principal = lookup(statement, ["Principal"])
    if isinstance(principal, dict):
        principal = lookup(principal, ["AWS"])
    principals = principal if isinstance(principal, list) else [principal]
    if not any(literal(p) == "*" for p in principals):
        return False
    return not narrows_principal(_resolved(lookup(statement, ["Condition"])))


def _resolved(condition: Any) -> Any:
    """The Condition block with every intrinsic function down to its values as UNRESOLVED."""
    if not isinstance(condition, dict):
        return condition
    resolved = {op: literal(entries) for op, entries in condition.items()}
    return {op: {key: literal(value) for key, value in entries.items()} if isinstance(entries, dict)
            else entries for op, entries in resolved.items()}
