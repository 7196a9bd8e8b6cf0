"""Repository policies of a template, read statement by statement with `generator.model.access`.

`RepositoryPolicyText` may be a mapping (with intrinsic functions inside) or JSON text. Values
are read the way `Fn::Sub` would write them: `!Sub text` is its text, `!Ref X` is `${X}`,
`!GetAtt A.B` is `${A.B}`; any other function becomes an opaque `${Fn::...}`. So
`${AWS::AccountId}` still says "this account", and a statement that is itself an intrinsic
function (`Fn::If`) is skipped rather than guessed at.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cfnlint.rules import RuleMatch
from cfnlint.template import Template

from generator.base.source import JSON_TOO_DEEP
from generator.base.template_body import scalar_text
from generator.lint.rules._helpers import (
    REPOSITORY_POLICY,
    Path,
    Repository,
    text_lines,
    text_location,
    values_of,
)
from generator.model import access, repository_policy


@dataclass
class PolicyPart:
    """One statement (or, with `index` None, the policy as a whole) and where it is written."""

    repository: Repository
    index: int | None
    path: Path
    location: tuple[int, int, int, int] | None = None
    statement: repository_policy.Statement | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        sid = self.statement.sid if self.statement else None
        return sid or str((self.index or 0) + 1)


def policy_matches(cfn: Template, messages: Callable[[PolicyPart], Iterable[str]]) -> list[RuleMatch]:
    """A match, at its statement's line, for each message `messages` has for a part of any
    repository's (or creation template's) policy: the loop every repository-policy rule shares."""
    matches = []
    for repo, value, path in values_of(cfn, REPOSITORY_POLICY, sub_as_text=True):
        for part in policy_parts(repo, value, path):
            for message in messages(part):
                match = RuleMatch(part.path, message)
                if part.location:
                    match.location = part.location
                matches.append(match)
    return matches


def policy_parts(repo: Repository, value: Any, path: Path) -> Iterator[PolicyPart]:
    """The repository policy's statements (`value`, at `path`), parsed one by one, and its
    problems, located."""
    text = value if isinstance(value, str) else None
    if text is not None:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield PolicyPart(repo, None, path, text_location(text, exc.lineno),
                             problems=[f"not valid JSON: {exc.msg} (policy line {exc.lineno}, "
                                       f"column {exc.colno})"])
            return
        except RecursionError:
            yield PolicyPart(repo, None, path, problems=[JSON_TOO_DEEP])
            return
    if not isinstance(value, dict) or _intrinsic(value):
        return  # absent, or given by a function ecrgen cannot read without a deploy
    statements = value.get("Statement")
    if _intrinsic(statements):
        return
    # JSON text reaches ECR as written; a mapping as CloudFormation writes it out.
    read = (lambda data: data) if text is not None else _as_text
    problems = repository_policy.document_problems(read(value))
    if problems:
        yield PolicyPart(repo, None, path, problems=[p.describe() for p in problems])
    lines = text_lines(text) if text is not None else None
    many = isinstance(statements, list)
    for index, item in enumerate(repository_policy.statement_list(statements)):
        if _intrinsic(item):
            continue
        where = [*path, "Statement", *([index] if many else [])]
        location = None
        if text is not None:
            where = path
            location = text_location(text, lines.line_of(("Statement", index) if many else ("Statement",))
                                     if lines else None)
        part = PolicyPart(repo, index, where, location)
        try:
            part.statement = repository_policy.parse_statement(read(item), index)
        except repository_policy.PolicyError as exc:
            part.problems = [p.describe() for p in exc.problems]
        yield part


def _intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (
        next(iter(value)) == "Ref" or str(next(iter(value))).startswith("Fn::"))


def _as_text(value: Any) -> Any:
    """Intrinsic functions as the `${...}` text Fn::Sub would hold in their place, and every
    other scalar of a policy mapping as the text CloudFormation gives it: YAML reads an unquoted
    `2012-10-17` as a date, `111122223333` as a number and `true` as a boolean."""
    if isinstance(value, list):
        return [_as_text(item) for item in value]
    if not isinstance(value, dict):
        return scalar_text(value)
    if _intrinsic(value):
        ((fn, arg),) = value.items()
        if fn == "Fn::Sub":
            sub = arg[0] if isinstance(arg, list) and arg else arg
            return sub if isinstance(sub, str) else "${Fn::Sub}"
        if fn == "Ref":
            return f"${{{arg}}}"
        if fn == "Fn::GetAtt":
            return "${" + (".".join(map(str, arg)) if isinstance(arg, list) else str(arg)) + "}"
        return f"${{{fn}}}"
    return {key: _as_text(item) for key, item in value.items()}


# --- what a statement grants ----------------------------------------------------------------

def grants(statement: repository_policy.Statement) -> bool:
    return statement.effect == "Allow"


def everyone(statement: repository_policy.Statement) -> bool:
    """The statement names every AWS principal (`"*"`, `{"AWS": "*"}`), or all but a few
    (NotPrincipal)."""
    return statement.not_principal or any(p in (("*", "*"), ("AWS", "*")) for p in statement.principals)


def wildcard_actions(statement: repository_policy.Statement) -> list[str]:
    """The actions of an Allow that name more than one action: `*`, `ecr:*`, `ecr:Batch*`;
    an Allow with NotAction grants everything it does not list."""
    if not grants(statement):
        return []
    if statement.not_action:
        return [f"every action except {', '.join(statement.actions)} (NotAction)"]
    return [action for action in statement.actions if "*" in action or "?" in action]


def other_principals(statement: repository_policy.Statement) -> list[str]:
    """Principals that are known to be outside this account: literal accounts, roles and
    services, and everyone (`*`, NotPrincipal). `${AWS::AccountId}` is this account; any other
    `${...}` cannot be known before the deploy and is left out."""
    if statement.not_principal:
        return [f"everyone but {', '.join(v for _, v in statement.principals)} (NotPrincipal)"]
    return [value for _, value in statement.principals
            if access.THIS_ACCOUNT not in value and ("${" not in value)]


def destructive_actions(statement: repository_policy.Statement) -> list[str]:
    """The delete and policy-changing actions the statement grants."""
    if not grants(statement):
        return []

    def matched(action: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in statement.actions)

    return [action for action in repository_policy.DESTRUCTIVE_ACTIONS
            if matched(action) != statement.not_action]
