"""`targets:` in ecr.yaml: where a CloudFormation StackSet deploys the repositories.

```yaml
targets:
  stack_set: myapp-ecr                        # the StackSet that deploys templates/ecr*.yaml
  accounts: ["111122223333", "444455556666"]  # or organizational_units: [ou-...] (service-managed)
  regions: [us-east-1, eu-west-1]
  execution_role: AWSCloudFormationStackSetExecutionRole   # post-deploy assumes it per account
```

Checked when ecr.yaml is read, so a typo in an account or a region is a located error, not a
failed deploy. Region names come from botocore's own endpoint data (read as a file: the pure
core imports no AWS SDK).
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from generator.base.errors import Problem
from generator.base.source import Document, Path_
from generator.model.roles import DEFAULT_EXECUTION_ROLE
from generator.model.schema import Strict

ACCOUNT = re.compile(r"\d{12}\Z")
ORGANIZATIONAL_UNIT = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\Z")
# CloudFormation's StackSetName pattern; IAM's role name pattern, its `\w` spelled out in ASCII
# (IAM takes no other letters, and pydantic compiles a Unicode `\w` for 40 ms at every start).
STACK_SET_NAME = r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$"
ROLE_NAME = r"^[A-Za-z0-9_+=,.@-]{1,64}$"


def _account(account: str) -> str:
    if not ACCOUNT.match(account):
        raise ValueError(f"{account!r} is not an AWS account id: 12 digits, quoted "
                         "(\"011122223333\") so YAML keeps leading zeros")
    return account


def _organizational_unit(unit: str) -> str:
    if not ORGANIZATIONAL_UNIT.match(unit):
        raise ValueError(f"{unit!r} is not an organizational unit id: ou-<root>-<suffix>, "
                         "e.g. ou-ab12-cdef3456")
    return unit


def _region(region: str) -> str:
    known = known_regions()
    if known and region not in known:
        close = difflib.get_close_matches(region, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"{region!r} is not an AWS region; {hint}known: {', '.join(sorted(known))}")
    return region


def _distinct(values: list[str]) -> list[str]:
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ValueError(f"lists {', '.join(map(repr, twice))} more than once")
    return values


def _list_of(check: Callable[[str], str]) -> Any:
    """A non-empty list of distinct strings, each checked (so a problem names its index)."""
    return Annotated[list[Annotated[str, AfterValidator(check)]], Field(min_length=1),
                     AfterValidator(_distinct)]


class Targets(Strict):
    stack_set: Annotated[str, Field(pattern=STACK_SET_NAME)]
    accounts: _list_of(_account) | None = None
    organizational_units: _list_of(_organizational_unit) | None = None
    regions: _list_of(_region)
    execution_role: Annotated[str, Field(pattern=ROLE_NAME)] = DEFAULT_EXECUTION_ROLE

    @model_validator(mode="after")
    def _accounts_or_units(self) -> Targets:
        if (self.accounts is None) == (self.organizational_units is None):
            raise ValueError("give accounts (self-managed StackSet) or organizational_units "
                             "(service-managed), exactly one of them")
        return self


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data."""
    spec = importlib.util.find_spec("botocore")
    locations = list(spec.submodule_search_locations or ()) if spec else []
    if not locations:
        return frozenset()
    data = json.loads((Path(locations[0]) / "data" / "endpoints.json").read_text())
    return frozenset(region for partition in data["partitions"] for region in partition["regions"])


def literal_problems(targets: Targets | None, kms_keys: Iterable[tuple[Path_, str | None]],
                     doc: Document) -> list[Problem]:
    """Settings that name one account and region, which a StackSet's other targets cannot use.

    `kms_keys` are (where, value) of every `encryption.kms_key` in ecr.yaml. A key ARN holds its
    account and region; an alias (`alias/NAME`) is looked up in each target's own.
    """
    if targets is None:
        return []
    return [doc.problem((*where, "encryption", "kms_key"),
                        f"{key!r} names one account and region, but targets deploys to every account and "
                        "region listed: use an alias (alias/NAME) that exists in each")
            for where, key in kms_keys if key and key.startswith("arn:")]
