"""What the ECR rules share: the repositories of a template, literal values, effective settings.

A value that is an intrinsic function ecrgen cannot resolve (Ref, Sub with variables, If, ...) is
`UNRESOLVED`, and the rules skip it rather than guess.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any

from cfnlint.template import Template

from generator.base import source
from generator.base.errors import InputError
from generator.model.metadata import METADATA_KEY

REPOSITORY_TYPE = "AWS::ECR::Repository"
CREATION_TEMPLATE_TYPE = "AWS::ECR::RepositoryCreationTemplate"
PULL_THROUGH_CACHE_TYPE = "AWS::ECR::PullThroughCacheRule"
# Where each resource type holds a policy: a creation template's are checked like a repository's.
LIFECYCLE_POLICY = {REPOSITORY_TYPE: ("LifecyclePolicy", "LifecyclePolicyText"),
                    CREATION_TEMPLATE_TYPE: ("LifecyclePolicy",)}
REPOSITORY_POLICY = {REPOSITORY_TYPE: ("RepositoryPolicyText",),
                     CREATION_TEMPLATE_TYPE: ("RepositoryPolicy",)}

Path = list[str | int]


class _Unresolved:
    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED: Any = _Unresolved()


def literal(value: Any) -> Any:
    """`value` itself, the text of an `Fn::Sub` without variables, or UNRESOLVED for any other
    intrinsic function. A YAML date is its text: CloudFormation has no dates."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Fn::Sub" and isinstance(arg, str) and "${" not in arg.replace("${!", ""):
            return arg
        if fn == "Ref" or str(fn).startswith("Fn::"):
            return UNRESOLVED
    return value


def lookup(data: Any, keys: Path) -> Any:
    """The literal value at `keys` below `data`; None where a key is absent, UNRESOLVED where an
    intrinsic function stands in the way."""
    value = literal(data)
    for key in keys:
        if value is UNRESOLVED:
            return UNRESOLVED
        if isinstance(key, int):
            value = literal(value[key]) if isinstance(value, list) and key < len(value) else None
        else:
            value = literal(value.get(key)) if isinstance(value, dict) else None
    return value


class Repository:
    """One AWS::ECR::Repository resource of the template."""

    def __init__(self, name: str, resource: dict[str, Any]) -> None:
        self.name = name
        self.resource = resource
        self.path: Path = ["Resources", name]

    def prop(self, *keys: str | int) -> tuple[Any, Path]:
        """The literal value of a property (None when absent) and its path in the template."""
        return lookup(self.resource, ["Properties", *keys]), [*self.path, "Properties", *keys]

    def setting(self, prop_keys: Path, metadata_key: str) -> tuple[Any, Path]:
        """The value the repository ends up with (None: ECR's default), and where it is written.

        The property wins. Without it, ecrgen's `Metadata.ecrgen` (written by `ecrgen template`
        with `settings_via: post-deploy`) records the value `ecrgen post-deploy` enforces after
        the deploy. A missing value's path ends below the last key present, where cfn-lint
        reports it.
        """
        value, path = self.prop(*prop_keys)
        if value is None:
            meta_path = ["Metadata", METADATA_KEY, metadata_key]
            meta_value = lookup(self.resource, meta_path)
            if meta_value is not None:
                return meta_value, [*self.path, *meta_path]
        return value, path


def repositories(cfn: Template, resource_type: str = REPOSITORY_TYPE) -> Iterator[Repository]:
    """Every ECR repository resource (or other `resource_type`) whose properties are a literal mapping."""
    for name, resource in cfn.get_resources([resource_type]).items():
        if isinstance(resource, dict) and isinstance(literal(resource.get("Properties", {})), dict):
            yield Repository(name, resource)


def values_of(cfn: Template, where: Mapping[str, tuple[str, ...]],
             sub_as_text: bool = False) -> Iterator[tuple[Repository, Any, Path]]:
    """(resource, its policy, the policy's path) of every resource of a type in `where` (type ->
    the property keys of its policy). With `sub_as_text`, a policy text in an `Fn::Sub` is read as
    its text, as the repository policy rules read Fn::Sub values: `${AWS::AccountId}` stays a
    placeholder in it."""
    for resource_type, keys in where.items():
        for resource in repositories(cfn, resource_type):
            value, path = resource.prop(*keys)
            if value is UNRESOLVED and sub_as_text:
                raw = resource.resource["Properties"]
                for key in keys:
                    raw = raw.get(key) if isinstance(raw, dict) else None
                text = raw.get("Fn::Sub") if isinstance(raw, dict) and len(raw) == 1 else None
                value = text if isinstance(text, str) else UNRESOLVED
            yield resource, value, path


# --- policies written as JSON text ----------------------------------------------------------

def text_lines(text: str) -> source.Document | None:
    """A policy text with the line of every value (JSON is YAML), or None if YAML disagrees."""
    try:
        return source.load("policy text", str(text))
    except InputError:
        return None


def text_location(text: Any, text_line: int | None) -> tuple[int, int, int, int] | None:
    """Where line `text_line` of a policy text is in the template (0-based, as cfn-lint wants).

    Only a block literal (`|`) keeps the policy's lines as template lines; otherwise (None)
    the finding points at the property that holds the text.
    """
    start, end = getattr(text, "start_mark", None), getattr(text, "end_mark", None)
    if text_line is None or start is None or end is None:
        return None
    if end.line - start.line < text.count("\n") + 1:
        return None
    line = start.line + text_line
    return line, 0, line, 0
