"""Which IAM policy conditions narrow who a statement with `Principal: "*"` lets in.

A condition such as `aws:SecureTransport` says how a request must be made, not who makes it:
`Principal: "*"` with only that still admits every AWS account. Only a condition on who sends
the request (organization, account, ARN, network origin) under an operator that requires a
match narrows the grant, and only when its value does: `StringLike aws:PrincipalOrgID "o-*"`
matches every organization, and anyone can make one. Pure data and one function, shared by the
lint rule E9506 and anything else that reads repository policies.
"""

from __future__ import annotations

import ipaddress
import re
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
# Where `*` and `?` in a value are wildcards (ArnEquals is ArnLike, in IAM's words).
WILDCARD_OPERATORS = frozenset({"stringlike", "arnlike", "arnequals"})

# Values that match every caller, so a condition with one of them narrows nothing.
MATCH_ALL_VALUES = frozenset({"*", "0.0.0.0/0", "::/0"})

# Two callers that share nothing but the shape of their identifier: a wildcard value that
# matches both matches every caller. Organization ids are o- and 10 to 32 of [a-z0-9]; account
# ids 12 digits; endpoint and VPC ids hexadecimal.
_ORGS = ("o-0000000000", "o-" + "z" * 32)
_ACCOUNTS = ("000000000000", "999999999999")
_PATHS = ("o-0000000000/r-0000/ou-0000-00000000/", f"{_ORGS[1]}/r-{'z' * 32}/ou-{'z' * 32}-{'z' * 32}/")
STRANGERS = {
    **dict.fromkeys(("aws:principalorgid", "aws:sourceorgid", "aws:vpceorgid"), _ORGS),
    **dict.fromkeys(("aws:principalorgpaths", "aws:sourceorgpaths", "aws:vpceorgpaths"), _PATHS),
    **dict.fromkeys(("aws:principalaccount", "aws:sourceaccount", "aws:vpceaccount"), _ACCOUNTS),
    "aws:sourcevpce": ("vpce-00000000", "vpce-" + "f" * 17),
    "aws:sourcevpc": ("vpc-00000000", "vpc-" + "f" * 17),
}
# ARN keys narrow only when the account part does: `arn:aws:iam::*:role/deployer` is a role
# anyone can create in their own account.
ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn"})


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
            if str(key).lower() in NARROWING_KEYS and _restricts(op, str(key).lower(), values):
                return True
    return False


def _restricts(operator: str, key: str, values: Any) -> bool:
    """The values (ORed) leave some callers out: none of them matches everyone."""
    options = values if isinstance(values, list) else [values]
    return not any(isinstance(v, str) and _matches_everyone(operator, key, v) for v in options)


def _matches_everyone(operator: str, key: str, value: str) -> bool:
    if value in MATCH_ALL_VALUES:
        return True
    if operator == "ipaddress":
        try:
            return ipaddress.ip_network(value, strict=False).prefixlen == 0
        except ValueError:
            return False
    if operator not in WILDCARD_OPERATORS or "${" in value:  # a variable: known only at request time
        return False
    pattern = _wildcards(value)
    if key in ARN_KEYS:
        return _every_account(value, pattern)
    strangers = STRANGERS.get(key)
    if strangers is None:  # no known shape: only wildcards alone match everything
        return set(value) <= {"*", "?"} and "*" in value
    return all(pattern.fullmatch(stranger) for stranger in strangers)


def _every_account(value: str, pattern: re.Pattern[str]) -> bool:
    """An ARN pattern admits every account: an ARN it matches still matches in any other account."""
    parts = value.replace("*", "").replace("?", "0").split(":", 5)  # an ARN the pattern matches
    if len(parts) < 5:  # no account part to pin down: a `*` may stand for it
        return "*" in value
    return all(pattern.fullmatch(":".join([*parts[:4], account, *parts[5:]])) for account in _ACCOUNTS)


def _wildcards(value: str) -> re.Pattern[str]:
    """IAM's `*` (any run of characters) and `?` (one character); everything else literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value),
                      re.DOTALL)
