"""Who may pull and push: the `access:` section of ecr.yaml and the repository policy it becomes.

`Access` reads the section (every value checked at load); `Access.to_policy` renders the least
privilege repository policy (`generator.model.repository_policy`): pull grants exactly the
image-read actions (a named service gets what its documentation asks for), push adds exactly
the upload actions, never a wildcard or a delete.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, field_validator, model_validator

from generator.model.repository_policy import Policy, Statement, unique
from generator.model.schema import Strict

READ_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
UPLOAD_ACTIONS = ("ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage",
                  "ecr:UploadLayerPart")
THIS_ACCOUNT = "${AWS::AccountId}"

ACCOUNT = re.compile(r"[0-9]{12}\Z")  # \d would take any Unicode digit
ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}\Z")
# aws:PrincipalOrgPaths entries: o-id/ then optionally r-id/ and ou-ids, each ending in '/',
# optionally a final '*'. A path without its trailing '/' matches no principal at all.
ORG_PATH = re.compile(r"o-[a-z0-9]{10,32}/(r-[0-9a-z]{4,32}/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}/)*)?\*?\Z")
ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/"
                      r"([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}\Z")


@dataclass(frozen=True)
class Service:
    """A service that pulls with its own principal, as its documentation describes."""

    principal: str
    actions: tuple[str, ...]
    operator: str
    condition_key: str
    value: str  # `{account}` stands for each account the service may act for


SERVICES: dict[str, Service] = {
    # CodeBuild user guide, "Amazon ECR sample": the three read actions, aws:SourceAccount.
    "codebuild": Service("codebuild.amazonaws.com", READ_ACTIONS, "StringEquals",
                         "aws:SourceAccount", "{account}"),
    # Lambda developer guide, "Amazon ECR permissions": two actions, functions by aws:sourceArn.
    "lambda": Service("lambda.amazonaws.com", ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                      "StringLike", "aws:sourceArn",
                      "arn:${AWS::Partition}:lambda:${AWS::Region}:{account}:function:*"),
}
# Services that pull with a role of the user's, which belongs in `roles`.
PULL_BY_ROLE = {"apprunner": "App Runner's access role", "ecs": "the ECS task execution role",
                "eks": "the node or pod role", "batch": "the job's execution role",
                "sagemaker": "the SageMaker execution role"}


# --- ecr.yaml ------------------------------------------------------------------------------

def _account(value: Any) -> str:
    # YAML reads an unquoted 111122223333 as a number; 12 decimal digits are unambiguous.
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not ACCOUNT.match(text):
        raise ValueError(f"must be a 12-digit AWS account id, got {value!r}")
    return text


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"must be {what}, got {value!r}")
        return value
    return check


def _service(value: Any) -> str:
    if value in PULL_BY_ROLE:
        raise ValueError(f"{value!r} pulls with a role, not a service principal: put "
                         f"{PULL_BY_ROLE[value]} in pull.roles")
    if value not in SERVICES:
        raise ValueError(f"unknown service {value!r}; allowed: {', '.join(SERVICES)}")
    return str(value)


def _given(value: Any) -> Any:
    """An explicitly empty section is a mistake, not a way to say "none"."""
    if value is None:
        raise ValueError("is empty: say who gets access (pull or push, with accounts, organization, "
                         "org_paths, roles or services), or leave the key out")
    return value


AccountId = Annotated[str, BeforeValidator(_account)]
OrganizationId = Annotated[str, BeforeValidator(_matching(
    ORGANIZATION, "an organization id: o- and 10 to 32 lowercase letters or digits"))]
OrgPath = Annotated[str, BeforeValidator(_matching(
    ORG_PATH, "an organization path like o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ (or ending in /*)"))]
RoleArn = Annotated[str, BeforeValidator(_matching(
    ROLE_ARN, "an IAM role ARN like arn:aws:iam::111122223333:role/name"))]
ServiceName = Annotated[str, BeforeValidator(_service)]


class Grant(Strict):
    """Who gets one kind of access; at least one field must name someone."""

    accounts: list[AccountId] | None = None
    organization: OrganizationId | None = None
    org_paths: list[OrgPath] | None = None
    roles: list[RoleArn] | None = None
    services: list[ServiceName] | None = None

    @model_validator(mode="after")
    def _names_someone(self) -> Grant:
        if not any((self.accounts, self.organization, self.org_paths, self.roles, self.services)):
            raise ValueError("grants nobody: give accounts, organization, org_paths, roles or services")
        return self


class PushGrant(Grant):
    @field_validator("services")
    @classmethod
    def _no_services(cls, value: list[str] | None) -> list[str] | None:
        if value:
            raise ValueError("a service principal only pulls: to push from a service, put the role "
                             "it runs as in push.roles")
        return value


class Access(Strict):
    pull: Annotated[Grant | None, BeforeValidator(_given)] = None
    push: Annotated[PushGrant | None, BeforeValidator(_given)] = None

    @model_validator(mode="after")
    def _grants_something(self) -> Access:
        if self.pull is None and self.push is None:
            raise ValueError("is empty: give pull and/or push")
        return self

    def to_policy(self) -> Policy:
        """The repository policy: one statement per kind of principal, with stable Sids."""
        statements: list[Statement] = []
        for prefix, grant, actions in (("Pull", self.pull, READ_ACTIONS),
                                       ("Push", self.push, READ_ACTIONS + UPLOAD_ACTIONS)):
            if grant is None:
                continue
            accounts = unique(grant.accounts or ())
            named = [("AWS", p) for p in unique([*accounts, *(grant.roles or ())])]
            if named:
                statements.append(Statement(prefix, "Allow", tuple(named), actions))
            if grant.organization:
                statements.append(Statement(f"{prefix}Organization", "Allow", (("*", "*"),), actions,
                                            (("StringEquals", "aws:PrincipalOrgID", (grant.organization,)),)))
            if grant.org_paths:
                statements.append(Statement(
                    f"{prefix}OrgPaths", "Allow", (("*", "*"),), actions,
                    (("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", unique(grant.org_paths)),)))
            for name in unique(grant.services or ()):
                service = SERVICES[name]
                values = tuple(service.value.replace("{account}", a) for a in (THIS_ACCOUNT, *accounts))
                statements.append(Statement(
                    f"{prefix}{name.capitalize()}", "Allow", (("Service", service.principal),),
                    service.actions, ((service.operator, service.condition_key, values),)))
        return Policy(tuple(statements))


AccessField = Annotated[Access | None, BeforeValidator(_given)]


def policy_of(access: Access | None) -> Policy | None:
    """The repository policy to manage, or None: no `access`, so the policy is left alone."""
    return access.to_policy() if access else None


