"""The repository policy model: any ECR repository policy, read, compared by meaning and rendered.

The template, post-deploy and the lint rules share it: `parse` reads any repository policy (from
a file, a template or live ECR), `Policy.key` is its meaning (statement order, action order and a
single value versus a list do not matter), `resolve` fills the `${AWS::...}` placeholders from
the repository's ARN once post-deploy knows it. `access` builds such policies from ecr.yaml.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator.base import source
from generator.base.strings import map_strings

# What lets a principal destroy images or decide who else gets in.
DESTRUCTIVE_ACTIONS = ("ecr:BatchDeleteImage", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository",
                       "ecr:DeleteRepositoryPolicy", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy")
VERSION = "2012-10-17"
PLACEHOLDERS = ("${AWS::AccountId}", "${AWS::Partition}", "${AWS::Region}")
REPOSITORY_ARN = re.compile(r"arn:(?P<partition>[a-z-]+):ecr:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):")


Condition = tuple[str, str, tuple[str, ...]]  # (operator, key, values)


@dataclass(frozen=True)
class Statement:
    """One statement. Principals are (type, value) pairs; ("*", "*") is `Principal: "*"`."""

    sid: str | None
    effect: str
    principals: tuple[tuple[str, str], ...]
    actions: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()
    resources: tuple[str, ...] | None = None
    not_principal: bool = False
    not_action: bool = False
    not_resource: bool = False

    def to_aws(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Sid": self.sid} if self.sid else {}
        out["Effect"] = self.effect
        principal: Any = "*" if self.principals == (("*", "*"),) else {
            kind: _one_or_list([v for k, v in self.principals if k == kind])
            for kind in unique(k for k, _ in self.principals)}
        out["NotPrincipal" if self.not_principal else "Principal"] = principal
        out["NotAction" if self.not_action else "Action"] = list(self.actions)
        if self.resources is not None:
            out["NotResource" if self.not_resource else "Resource"] = _one_or_list(self.resources)
        if self.conditions:
            condition: dict[str, dict[str, Any]] = {}
            for operator, key, values in self.conditions:
                condition.setdefault(operator, {})[key] = _one_or_list(values)
            out["Condition"] = condition
        return out

    def key(self) -> tuple[Any, ...]:
        """What the statement allows or denies: the Sid, order and letter case of names aside."""
        return (self.effect, self.not_principal, frozenset(map(_principal_key, self.principals)),
                self.not_action, frozenset(a.lower() for a in self.actions),
                self.not_resource, None if self.resources is None else frozenset(self.resources),
                frozenset((op, key.lower(), frozenset(values)) for op, key, values in self.conditions))


def _one_or_list(values: Iterable[str]) -> Any:
    values = list(values)
    return values[0] if len(values) == 1 else values


def _principal_key(principal: tuple[str, str]) -> tuple[str, str]:
    """`Principal: "*"` is `{"AWS": "*"}`; an account's root ARN is the account id."""
    kind, value = principal
    if kind == "AWS" and value == "*":
        return ("*", "*")
    root = re.fullmatch(r"arn:[a-z-]+:iam::([0-9]{12}):root", value) if kind == "AWS" else None
    return (kind, root.group(1)) if root else principal


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str = VERSION

    def to_aws(self) -> dict[str, Any]:
        return {"Version": self.version, "Statement": [s.to_aws() for s in self.statements]}

    def to_text(self, indent: int | None = 2) -> str:
        separators = (",", ": ") if indent else (",", ":")
        return json.dumps(self.to_aws(), indent=indent, separators=separators, ensure_ascii=False)

    def to_cfn(self) -> dict[str, Any]:
        """For `RepositoryPolicyText`: each value with a `${AWS::...}` placeholder in an Fn::Sub."""
        return map_strings(self.to_aws(), lambda s: {"Fn::Sub": s} if "${" in s else s)

    @classmethod
    def from_cfn(cls, data: Any) -> Policy:
        """Read `to_cfn`'s form back: an Fn::Sub value is its text, placeholders and all."""
        return parse(_map_intrinsics(data))

    def key(self) -> tuple[Any, ...]:
        """Equal keys grant the same: statement order, action order and layout do not matter."""
        return (self.version, frozenset(s.key() for s in self.statements))

    def resolve(self, repository_arn: str) -> Policy:
        """The policy with `${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` filled in
        from the repository's ARN, as CloudFormation fills them in the template."""
        match = REPOSITORY_ARN.match(repository_arn)
        if not match:
            raise ValueError(f"not a repository ARN: {repository_arn!r}")
        values = dict(zip(PLACEHOLDERS, (match["account"], match["partition"], match["region"]),
                          strict=True))

        def fill(text: str) -> str:
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            return text

        return parse(map_strings(self.to_aws(), fill))


def _map_intrinsics(data: Any) -> Any:
    """Fn::Sub values as their text; any other intrinsic function is left for `parse` to refuse."""
    if isinstance(data, dict):
        if len(data) == 1 and "Fn::Sub" in data and isinstance(data["Fn::Sub"], str):
            return data["Fn::Sub"]
        return {key: _map_intrinsics(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_map_intrinsics(item) for item in data]
    return data


# --- statements AWS services add for themselves ---------------------------------------------

@dataclass(frozen=True)
class ServiceStatement:
    """A statement a service adds to a repository policy for itself, exactly as it writes it."""

    sid: str
    service: str                    # who adds it, for the report
    principal: str                  # its service principal
    actions: frozenset[str]         # lowercase
    source_arn: str                 # the aws:sourceArn it may be limited to; {partition} {region} {account}
    why: str


SERVICE_STATEMENTS = (
    # Lambda developer guide, "Amazon ECR permissions": creating or updating a function from an
    # image of the same account adds this statement unless the policy already lets Lambda pull.
    ServiceStatement("LambdaECRImageRetrievalPolicy", "AWS Lambda", "lambda.amazonaws.com",
                     frozenset({"ecr:batchgetimage", "ecr:getdownloadurlforlayer"}),
                     "arn:{partition}:lambda:{region}:{account}:function:*",
                     "a function of this account uses an image of this repository; without it the function's "
                     "next create or update fails"),
)


def added_by_service(statement: Statement, repository_arn: str) -> str | None:
    """Why `statement` is kept, when it is exactly what an AWS service adds for itself (its Sid,
    principal and actions, at most a condition on this account's own functions in this region);
    None for anything else, which includes any statement that grants more."""
    match = REPOSITORY_ARN.match(repository_arn)
    for known in SERVICE_STATEMENTS:
        if statement.sid != known.sid or statement.effect != "Allow" or statement.not_principal or \
                statement.not_action or statement.resources is not None or \
                statement.principals != (("Service", known.principal),) or \
                frozenset(a.lower() for a in statement.actions) != known.actions:
            continue
        own = known.source_arn.format(**match.groupdict()) if match else None
        conditions = [(op, key.lower(), values) for op, key, values in statement.conditions]
        if conditions and conditions != [("StringLike", "aws:sourcearn", (own,))]:
            continue
        return f"{known.sid}, added by {known.service} for itself: {known.why}"
    return None


# --- reading any repository policy ----------------------------------------------------------

@dataclass(frozen=True)
class PolicyProblem:
    """`statement` is the index in the Statement list (None: the whole policy)."""

    message: str
    statement: int | None = None
    field: str = ""

    def describe(self) -> str:
        where = " ".join(part for part in (
            "" if self.statement is None else f"Statement[{self.statement}]", self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class PolicyError(ValueError):
    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.describe() for p in problems))


_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                   "NotResource", "Condition")
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
VERSIONS = ("2012-10-17", "2008-10-17")
IMPLICIT_VERSION = "2008-10-17"  # IAM's meaning of a policy without a Version


def parse_text(text: str) -> Policy:
    try:
        data = source.load_policy_json(text)
    except ValueError as exc:
        raise PolicyError([PolicyProblem(str(exc))]) from None
    return parse(data)


def parse(data: Any) -> Policy:
    """A repository policy document as the model; PolicyError lists every problem."""
    if not isinstance(data, dict):
        raise PolicyError([PolicyProblem(f"must be a JSON object with Statement, got {_kind(data)}")])
    problems = document_problems(data)
    statements = []
    for index, raw in enumerate(statement_list(data.get("Statement"))):
        try:
            statements.append(parse_statement(raw, index))
        except PolicyError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyError(problems)
    return Policy(tuple(statements), data.get("Version", IMPLICIT_VERSION))


def document_problems(data: dict[str, Any]) -> list[PolicyProblem]:
    """What is wrong outside the statements: unknown keys, the Version, no Statement at all."""
    problems = [PolicyProblem("unknown key; allowed: Version, Id, Statement", field=key)
                for key in data if key not in ("Version", "Id", "Statement")]
    version = data.get("Version", IMPLICIT_VERSION)
    if version not in VERSIONS:
        problems.append(PolicyProblem(f"must be one of {', '.join(VERSIONS)}, got {version!r}",
                                      field="Version"))
    if data.get("Statement") in (None, []):
        problems.append(PolicyProblem("must be a statement or a non-empty list of them",
                                      field="Statement"))
    return problems


def statement_list(value: Any) -> list[Any]:
    """`Statement` as a list: one statement may stand alone."""
    return value if isinstance(value, list) else [] if value is None else [value]


def parse_statement(raw: Any, index: int) -> Statement:
    problems: list[PolicyProblem] = []

    def bad(field: str, message: str) -> None:
        problems.append(PolicyProblem(message, index, field))

    if not isinstance(raw, dict):
        raise PolicyError([PolicyProblem(f"must be an object, got {_kind(raw)}", index)])
    for key in raw:
        if key not in _STATEMENT_KEYS:
            bad(key, f"unknown key; allowed: {', '.join(_STATEMENT_KEYS)}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        bad("Sid", f"must be a string, got {_kind(sid)}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        bad("Effect", f"must be Allow or Deny, got {effect!r}")
    principal_key = _one_of(raw, "Principal", "NotPrincipal", bad, required=True)
    principals = _principals(raw.get(principal_key), principal_key, bad) if principal_key else ()
    action_key = _one_of(raw, "Action", "NotAction", bad, required=True)
    actions = _strings(raw.get(action_key), action_key, bad) if action_key else ()
    resource_key = _one_of(raw, "Resource", "NotResource", bad, required=False)
    resources = _strings(raw.get(resource_key), resource_key, bad) if resource_key else None
    conditions = _conditions(raw.get("Condition"), bad)
    if problems:
        raise PolicyError(problems)
    return Statement(sid, str(effect), principals, actions, conditions, resources,
                     principal_key == "NotPrincipal", action_key == "NotAction",
                     resource_key == "NotResource")


def _one_of(raw: dict[str, Any], key: str, not_key: str, bad: Any, required: bool) -> str | None:
    given = [k for k in (key, not_key) if k in raw]
    if len(given) == 2:
        bad(not_key, f"give {key} or {not_key}, not both")
    elif not given and required:
        bad(key, f"is required ({key} or {not_key})")
    return given[0] if given else None


def _strings(value: Any, field: str, bad: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        bad(field, f"must be a string or a non-empty list of strings, got {value!r}")
        return ()
    return tuple(values)


def _principals(value: Any, field: str, bad: Any) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict) or not value:
        bad(field, f"must be \"*\" or an object of {', '.join(_PRINCIPAL_TYPES)}, got {value!r}")
        return ()
    out = []
    for kind, values in value.items():
        if kind not in _PRINCIPAL_TYPES:
            bad(f"{field}.{kind}", f"unknown principal type; allowed: {', '.join(_PRINCIPAL_TYPES)}")
            continue
        out.extend((kind, v) for v in _strings(values, f"{field}.{kind}", bad))
    return tuple(out)


def _conditions(value: Any, bad: Any) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        bad("Condition", f"must be an object of operators, got {_kind(value)}")
        return ()
    out = []
    for operator, block in value.items():
        if not isinstance(block, dict) or not block:
            bad(f"Condition.{operator}", f"must be an object of condition keys, got {block!r}")
            continue
        for key, values in block.items():
            items = values if isinstance(values, list) else [values]
            if not items or not all(isinstance(v, str | bool | int | float) for v in items):
                bad(f"Condition.{operator}.{key}", f"must be a value or a list of values, got {values!r}")
                continue
            # JSON `true` and "true" mean the same to IAM.
            out.append((operator, key, tuple(json.dumps(v) if not isinstance(v, str) else v
                                             for v in items)))
    return tuple(out)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """The values in their first order, each once."""
    return tuple(dict.fromkeys(values))
