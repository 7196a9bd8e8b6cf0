"""E9506: a repository policy must not let everyone in without a condition on who."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from generator.lint.rules._policy import PolicyPart, everyone, other_principals, policy_matches
from generator.model.policy_conditions import narrows_principal


class PublicRepositoryPolicy(CloudFormationLintRule):
    id = "E9506"
    shortdesc = "RepositoryPolicyText must not Allow Principal '*' without a Condition on who"
    description = (
        "A statement with Effect Allow and Principal '*' (or {'AWS': '*'}), or with NotPrincipal, "
        "lets any AWS account act on the repository, pull its images for a start, unless a "
        "Condition narrows who: aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceVpce and the "
        "like, under an operator that requires a match, with a value that leaves someone out. A "
        "Condition such as aws:SecureTransport does not, nor does a wildcard that every "
        "organization, account or ARN matches ('o-*', '????????????', 'arn:aws:iam::*:role/*'). "
        "Name the accounts, or add such a Condition."
    )
    source_url = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html"
    tags = ("resources", "ecr", "iam", "security")

    def match(self, cfn: Template) -> list[RuleMatch]:
        return policy_matches(cfn, _messages)


def _messages(part: PolicyPart) -> list[str]:
    """Deny statements never grant anything; a statement that cannot be read is E9511's."""
    statement = part.statement
    if statement is None or statement.effect != "Allow" or not everyone(statement):
        return []
    if narrows_principal(statement.to_aws().get("Condition")):
        return []
    who = other_principals(statement)[0] if statement.not_principal else "Principal '*'"
    why = ("without a Condition on who (such as aws:PrincipalOrgID)" if not statement.conditions else
           "and its Condition leaves no one out (a negated or ...IfExists operator, a key that is not "
           "about who, or a value such as 'o-*' that every organization or account matches)")
    return [f"repository policy statement {part.name} allows {who} {why}: any AWS account can use "
            "this repository"]
