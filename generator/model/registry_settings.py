"""`registry.signing`, `registry.account_settings`, `registry.pull_time_exclusions` in ecr.yaml.

- **signing**: rules of the registry's one signing configuration (managed signing with AWS
  Signer): a signing profile and the repository filters it signs. One document per registry,
  so, like the scanning and replication documents, this config owns only the rules whose
  filters all lie in its namespace, and post-deploy merges them in.
- **account_settings**: `BASIC_SCAN_TYPE_VERSION`, `REGISTRY_POLICY_SCOPE`, `BLOB_MOUNTING`, each
  set only when declared. Clair basic scanning is deprecated: a declared CLAIR is refused.
- **pull_time_exclusions**: principals whose pulls do not update an image's last pull time (a
  scanner's role, so that `since_pulled_days` rules still fire); the template creates one
  `AWS::ECR::PullTimeUpdateExclusion` each.

Pure: the models and their resolution into the values the API takes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator

from generator.base.source import Path_
from generator.model.repository import logical_id
from generator.model.schema import Strict

MAX_SIGNING_RULES = 10           # SigningRuleList
MAX_SIGNING_FILTERS = 100        # per signing rule
SIGNING_FILTER = re.compile(r"(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*\Z")
SIGNING_FILTER_LENGTH = (1, 256)
SIGNING_PROFILE = re.compile(r"arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:"
                             r"/signing-profiles/[a-zA-Z0-9_]{2,}\Z")
SIGNING_PROFILE_LENGTH = 200
MAX_PULL_TIME_EXCLUSIONS = 100   # PullTimeUpdateExclusionList
PRINCIPAL_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*\Z")
PRINCIPAL_ARN_LENGTH = 200
# ecr.yaml key -> the account setting's API name.
ACCOUNT_SETTING_NAMES = {"basic_scan_type_version": "BASIC_SCAN_TYPE_VERSION",
                         "registry_policy_scope": "REGISTRY_POLICY_SCOPE",
                         "blob_mounting": "BLOB_MOUNTING"}


class SigningRuleEntry(Strict):
    signing_profile: str
    filters: list[str] = Field(default_factory=list)


class AccountSettings(Strict):
    """Each setting is set only when given; PutAccountSetting's documented values."""

    basic_scan_type_version: str | None = None
    registry_policy_scope: str | None = None
    blob_mounting: Literal["ENABLED", "DISABLED"] | None = None

    @field_validator("basic_scan_type_version")
    @classmethod
    def _not_clair(cls, value: str | None) -> str | None:
        if value == "CLAIR":
            raise ValueError("CLAIR is deprecated: Amazon ECR retires Clair basic scanning in favour of "
                             "its own AWS-native basic scanning; use AWS_NATIVE")
        if value not in (None, "AWS_NATIVE"):
            raise ValueError(f"must be AWS_NATIVE, got {value!r}")
        return value

    @field_validator("registry_policy_scope")
    @classmethod
    def _v2(cls, value: str | None) -> str | None:
        if value == "V1":
            raise ValueError("V1 cannot be set: ECR accepts only V2, the scope that lets the registry "
                             "policy grant every ECR action; leave it out to keep the current scope")
        if value not in (None, "V2"):
            raise ValueError(f"must be V2, got {value!r}")
        return value

    def wanted(self) -> tuple[tuple[str, str], ...]:
        """(API name, value) of each declared setting."""
        return tuple((ACCOUNT_SETTING_NAMES[key], value) for key, value in self.model_dump().items()
                     if value is not None)


PullTimeExclusions = Annotated[list[str], Field(max_length=MAX_PULL_TIME_EXCLUSIONS)]


@dataclass(frozen=True)
class SigningRule:
    profile_arn: str
    filters: tuple[str, ...]

    def to_api(self) -> dict[str, object]:
        """As GetSigningConfiguration shows a rule."""
        return {"signingProfileArn": self.profile_arn,
                "repositoryFilters": [{"filter": f, "filterType": "WILDCARD_MATCH"} for f in self.filters]}


Problem_ = Callable[[Path_, str], None]


def resolve_signing(entries: list[SigningRuleEntry], substitute: Callable[[str], str],
                    owns: Callable[[str], bool], namespace: str, registry_owner: bool,
                    problem: Problem_) -> tuple[SigningRule, ...]:
    """The signing rules this config owns. A rule without filters signs every repository of the
    registry: only the registry's owner may declare one."""
    if len(entries) > MAX_SIGNING_RULES:
        problem(("signing",), f"has {len(entries)} rules; ECR allows at most {MAX_SIGNING_RULES} in the "
                "registry's signing configuration")
    rules = []
    for index, entry in enumerate(entries):
        where: Path_ = ("signing", index)
        profile = entry.signing_profile
        if len(profile) > SIGNING_PROFILE_LENGTH or not SIGNING_PROFILE.match(profile):
            problem((*where, "signing_profile"), f"{entry.signing_profile!r} is not an AWS Signer signing "
                    "profile ARN (arn:aws:signer:<region>:<account>:/signing-profiles/<name>)")
        filters = [substitute(f) for f in entry.filters]
        if not filters and not registry_owner:
            problem((*where, "filters"), "needs 1 or more filters in this config's namespace: a rule without "
                    "filters signs every team's repositories (only with `owner: registry`)")
        if len(filters) > MAX_SIGNING_FILTERS:
            problem((*where, "filters"), f"has {len(filters)} filters; ECR allows at most "
                    f"{MAX_SIGNING_FILTERS} per rule")
        for f_index, value in enumerate(filters):
            low, high = SIGNING_FILTER_LENGTH
            if not low <= len(value) <= high or not SIGNING_FILTER.match(value):
                problem((*where, "filters", f_index), f"{value!r} is not a valid filter: {low}-{high} "
                        "lowercase letters, digits, '.', '_', '-', '/' and '*' (a wildcard)")
            elif not owns(value):
                problem((*where, "filters", f_index), f"{value!r} is outside this config's namespace: a "
                        f"filter must start with {namespace!r}, or it would claim what another team owns")
        rules.append(SigningRule(entry.signing_profile, tuple(dict.fromkeys(filters))))
    return tuple(rules)


def check_exclusions(principals: list[str], problem: Problem_) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    ids: dict[str, int] = {}
    for index, arn in enumerate(principals):
        where: Path_ = ("pull_time_exclusions", index)
        if len(arn) > PRINCIPAL_ARN_LENGTH or not PRINCIPAL_ARN.match(arn):
            problem(where, f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
        elif arn in seen:
            problem(where, f"{arn!r} duplicates pull_time_exclusions[{seen[arn]}]")
        elif ids.setdefault(exclusion_id(arn), index) != index:
            problem(where, f"{arn!r} and pull_time_exclusions[{ids[exclusion_id(arn)]}] give the same "
                    "CloudFormation logical id; they differ only in punctuation")
        seen.setdefault(arn, index)
    return tuple(dict.fromkeys(principals))


def exclusion_id(principal_arn: str) -> str:
    """`arn:aws:iam::111122223333:role/scanner` -> `111122223333RoleScanner`: the principal's part
    of its resource's logical id."""
    return logical_id(principal_arn.split(":", 4)[-1]).removeprefix("Ecr")
