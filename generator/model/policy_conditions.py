"""Which IAM policy conditions narrow who a statement with `Principal: "*"` lets in.

A condition such as `aws:SecureTransport` says how a request must be made, not who makes it:
`Principal: "*"` with only that still admits every AWS account. Only a condition on who sends
the request (organization, account, ARN, network origin) under an operator that requires a
match narrows the grant. Pure data and one function, shared by the lint rule E9506 and anything
else that reads repository policies.
"""

from __future__ import annotations

from typing import Any

# Global condition keys that identify the caller or where the call comes from (compared
# lowercased: IAM condition key names are case-insensitive).
NARROWING_KEYS = frozenset(key.lower() for key in (
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn",
    "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:userid",
    "aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:SourceVpce", "aws:SourceVpc", "aws:SourceIp",
    "aws:VpceAccount", "aws:VpceOrgID", "aws:VpceOrgPaths",
))

# Operators that require the key to be present and to match one of the values. Negated
# operators (StringNotEquals, ...) admit everyone else; `...IfExists` admits requests without
# the key; `Null` tests only presence; `ForAllValues:` admits a request whose key is absent.
NARROWING_OPERATORS = frozenset(op.lower() for op in (
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "IpAddress",
))
ANY_VALUE_PREFIX = "foranyvalue:"

# Values that match every caller, so a condition with one of them narrows nothing.
MATCH_ALL_VALUES = frozenset({"*", "0.0.0.0/0", "::/0"})


def narrows_principal(condition: Any) -> bool:
    """True when a statement's `Condition` block limits who can use the statement's grant.

    The block's entries are ANDed, so one narrowing entry is enough. Anything that is not the
    plain data IAM expects there (an intrinsic function that cannot be resolved before the
    deploy, say) counts as narrowing: a check should not guess.
    """
    if condition is None:
        return False
    if not isinstance(condition, dict):
        return True
    for operator, entries in condition.items():
        if not isinstance(entries, dict):
            return True
        op = str(operator).lower().removeprefix(ANY_VALUE_PREFIX)
        if op not in NARROWING_OPERATORS:
            continue
        for key, values in entries.items():
            if str(key).lower() in NARROWING_KEYS and _restricts(values):
                return True
    return False


def _restricts(values: Any) -> bool:
    """The values (ORed) leave some callers out: none of them matches everyone."""
    options = values if isinstance(values, list) else [values]
    return not any(isinstance(v, str) and v in MATCH_ALL_VALUES for v in options)
