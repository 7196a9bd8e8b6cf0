"""CloudFormation intrinsic functions in a deployed template, resolved only where the result is exact.

A template that ecrgen did not write may give a repository setting through `Ref`, `Fn::Sub`,
`Fn::If`... post-deploy must compare what CloudFormation actually set, so each value is
evaluated here from what the stack tells about itself (its parameter values, its ARN) and from
the template's own `Conditions` and `Mappings`. Whatever depends on something only
CloudFormation knows (a `NoEcho` parameter, `Fn::GetAtt`, `Fn::ImportValue`, a dynamic reference
such as `{{resolve:ssm:/x}}`) raises `Unresolved` with the reason, never a guess.

Pure: takes the parsed template and the DescribeStacks entry as data; no AWS calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class _NoValue:
    """`!Ref AWS::NoValue`: CloudFormation removes the property (or list item) that holds it."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:[^}]*\}\}")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_STACK_ARN = re.compile(r"arn:(?P<partition>[^:]+):cloudformation:(?P<region>[^:]+):(?P<account>\d+):stack/")
_URL_SUFFIXES = {"aws": "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn"}
_LIST_TYPES = ("CommaDelimitedList", "List<", "AWS::SSM::Parameter::Value<List<",
               "AWS::SSM::Parameter::Value<CommaDelimitedList>")


class Unresolved(Exception):
    """The value depends on something only CloudFormation knows; the message says what."""


@dataclass(frozen=True)
class Stack:
    """What `Ref`, `Fn::Sub` and conditions may use: values known exactly, and why others are not."""

    values: Mapping[str, Any] = field(default_factory=dict)  # parameters and pseudo parameters
    unknown: Mapping[str, str] = field(default_factory=dict)  # name -> why its value is not known
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    resources: frozenset[str] = frozenset()

    @classmethod
    def of(cls, template: Mapping[str, Any], described: Mapping[str, Any] | None) -> Stack:
        """The template's context; `described` is the stack's DescribeStacks entry (None: not read)."""
        values: dict[str, Any] = {"AWS::NoValue": NO_VALUE}
        unknown: dict[str, str] = {}
        given = {p.get("ParameterKey"): p for p in (described or {}).get("Parameters") or []}
        declared = template.get("Parameters")
        for name, spec in (declared if isinstance(declared, dict) else {}).items():
            spec = spec if isinstance(spec, dict) else {}
            unknown_why = _parameter_value(name, spec, given.get(name), described is not None, values)
            if unknown_why:
                unknown[name] = unknown_why
        if described is None:
            for pseudo in ("AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::StackId",
                           "AWS::Partition", "AWS::URLSuffix", "AWS::NotificationARNs"):
                unknown[pseudo] = f"{pseudo} is not known: the stack was not described"
        else:
            values.update(_pseudo_parameters(described, unknown))
        return cls(values, unknown, _section(template, "Conditions"), _section(template, "Mappings"),
                   frozenset(_section(template, "Resources")))


def _section(template: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = template.get(name)
    return value if isinstance(value, dict) else {}


def _parameter_value(name: str, spec: Mapping[str, Any], given: Mapping[str, Any] | None,
                     described: bool, values: dict[str, Any]) -> str | None:
    """Store the parameter's value in `values`, or say why it is not known."""
    if str(spec.get("NoEcho", "")).lower() == "true":
        return f"parameter {name} is NoEcho: CloudFormation does not tell its value"
    if not described:
        return f"parameter {name} is not known: the stack was not described"
    if given is None:
        return f"parameter {name} has no value in the stack"
    kind = str(spec.get("Type", "String"))
    value = given.get("ResolvedValue") if kind.startswith("AWS::SSM::Parameter::Value<") else given.get(
        "ParameterValue")
    if not isinstance(value, str):
        return f"parameter {name}: CloudFormation did not return its value"
    values[name] = [item.strip() for item in value.split(",")] if kind.startswith(_LIST_TYPES) else value
    return None


def _pseudo_parameters(described: Mapping[str, Any], unknown: dict[str, str]) -> dict[str, Any]:
    stack_id = str(described.get("StackId", ""))
    values: dict[str, Any] = {"AWS::StackName": described.get("StackName"), "AWS::StackId": stack_id,
                              "AWS::NotificationARNs": list(described.get("NotificationARNs") or [])}
    arn = _STACK_ARN.match(stack_id)
    if arn:
        values.update({"AWS::Region": arn["region"], "AWS::AccountId": arn["account"],
                       "AWS::Partition": arn["partition"]})
        if arn["partition"] in _URL_SUFFIXES:
            values["AWS::URLSuffix"] = _URL_SUFFIXES[arn["partition"]]
    for pseudo in ("AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"):
        if pseudo not in values:
            unknown[pseudo] = f"{pseudo} is not known for stack id {stack_id!r}"
    return values


def uses_functions(value: Any) -> bool:
    """True when `value` holds an intrinsic function anywhere (a dynamic reference is no function)."""
    if isinstance(value, dict):
        return _function(value) is not None or any(uses_functions(v) for v in value.values())
    if isinstance(value, list):
        return any(uses_functions(v) for v in value)
    return False


def _function(value: dict[str, Any]) -> str | None:
    """The function's name when `value` is a call such as `{"Fn::Sub": ...}` or `{"Ref": ...}`."""
    if len(value) == 1:
        (key,) = value
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return key
    return None


def resolve(value: Any, stack: Stack) -> Any:
    """`value` with every function evaluated (`NO_VALUE` when it is `AWS::NoValue`); raises Unresolved."""
    if isinstance(value, str):
        reference = DYNAMIC_REFERENCE.search(value)
        if reference:
            raise Unresolved(f"the dynamic reference {reference.group()} is resolved by CloudFormation "
                             "at deploy time")
        return value
    if isinstance(value, list):
        return [item for item in (resolve(v, stack) for v in value) if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    name = _function(value)
    if name is None:
        out = {key: resolve(v, stack) for key, v in value.items()}
        return {key: v for key, v in out.items() if v is not NO_VALUE}
    evaluate = _FUNCTIONS.get(name)
    if evaluate is None:
        raise Unresolved(f"{name} is evaluated by CloudFormation only")
    return evaluate(value[name], stack)


def _ref(name: Any, stack: Stack) -> Any:
    if not isinstance(name, str):
        raise Unresolved(f"Ref needs a name, got {name!r}")
    if name in stack.values:
        return stack.values[name]
    if name in stack.unknown:
        raise Unresolved(stack.unknown[name])
    if name in stack.resources:
        raise Unresolved(f"Ref {name} is the resource's own id, known to CloudFormation only")
    raise Unresolved(f"Ref {name}: no such parameter")


def _sub(argument: Any, stack: Stack) -> str:
    text, variables = (argument[0], argument[1]) if isinstance(argument, list) and len(argument) == 2 \
        else (argument, {})
    if not isinstance(text, str) or not isinstance(variables, dict):
        raise Unresolved(f"Fn::Sub needs a string, or [string, variables], got {argument!r}")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"  # `${!Literal}` is the literal text `${Literal}`
        if name in variables:
            value = resolve(variables[name], stack)
        elif "." in name and name.split(".", 1)[0] in stack.resources:
            raise Unresolved(f"${{{name}}} is an attribute of a resource, known to CloudFormation only")
        else:
            value = _ref(name, stack)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise Unresolved(f"${{{name}}} is not a string: {value!r}")
        return str(value)

    return resolve(_SUB_VARIABLE.sub(substitute, text), stack)


def _if(argument: Any, stack: Stack) -> Any:
    if not isinstance(argument, list) or len(argument) != 3:
        raise Unresolved(f"Fn::If needs [condition, value if true, value if false], got {argument!r}")
    return resolve(argument[1] if condition(argument[0], stack) else argument[2], stack)


def _join(argument: Any, stack: Stack) -> str:
    if not isinstance(argument, list) or len(argument) != 2 or not isinstance(argument[0], str):
        raise Unresolved(f"Fn::Join needs [delimiter, list], got {argument!r}")
    items = resolve(argument[1], stack)
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise Unresolved(f"Fn::Join needs a list of strings, got {items!r}")
    return argument[0].join(items)


def _select(argument: Any, stack: Stack) -> Any:
    if not isinstance(argument, list) or len(argument) != 2:
        raise Unresolved(f"Fn::Select needs [index, list], got {argument!r}")
    index, items = resolve(argument[0], stack), resolve(argument[1], stack)
    if not str(index).isdigit() or not isinstance(items, list) or int(index) >= len(items):
        raise Unresolved(f"Fn::Select: no item {index!r} in {items!r}")
    return items[int(index)]


def _split(argument: Any, stack: Stack) -> list[str]:
    parts = resolve(argument, stack) if isinstance(argument, list) else None
    if not isinstance(parts, list) or len(parts) != 2 or not all(isinstance(p, str) for p in parts) \
            or not parts[0]:
        raise Unresolved(f"Fn::Split needs [delimiter, string], got {argument!r}")
    return parts[1].split(parts[0])


def _find_in_map(argument: Any, stack: Stack) -> Any:
    if not isinstance(argument, list) or len(argument) != 3:
        raise Unresolved(f"Fn::FindInMap needs [map, key, key], got {argument!r}")
    found: Any = stack.mappings
    for key in resolve(argument, stack):
        if not isinstance(found, dict) or key not in found:
            raise Unresolved(f"Fn::FindInMap: no {key!r} in {argument!r}")
        found = found[key]
    return resolve(found, stack)


def _to_json_string(argument: Any, stack: Stack) -> str:
    return json.dumps(resolve(argument, stack), separators=(",", ":"), ensure_ascii=False)


_FUNCTIONS = {"Ref": _ref, "Fn::Sub": _sub, "Fn::If": _if, "Fn::Join": _join, "Fn::Select": _select,
              "Fn::Split": _split, "Fn::FindInMap": _find_in_map, "Fn::ToJsonString": _to_json_string}


def condition(name: Any, stack: Stack, seen: tuple[str, ...] = ()) -> bool:
    """The value of the named condition of the template's `Conditions`."""
    if not isinstance(name, str) or name not in stack.conditions:
        raise Unresolved(f"no condition {name!r} in the template")
    if name in seen:
        raise Unresolved(f"condition {name} refers to itself")
    try:
        return _truth(stack.conditions[name], stack, (*seen, name))
    except Unresolved as exc:
        if str(exc).startswith("condition "):
            raise
        raise Unresolved(f"condition {name}: {exc}") from None


def _truth(expression: Any, stack: Stack, seen: tuple[str, ...]) -> bool:
    """A condition function (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`) evaluated."""
    if isinstance(expression, dict) and len(expression) == 1:
        (name, argument), = expression.items()
        if name == "Condition":
            return condition(argument, stack, seen)
        if name == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            left, right = (_comparable(resolve(side, stack)) for side in argument)
            return left == right
        if name == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
            return not _truth(argument[0], stack, seen)
        if name in ("Fn::And", "Fn::Or") and isinstance(argument, list):
            results = [_truth(item, stack, seen) for item in argument]
            return all(results) if name == "Fn::And" else any(results)
    raise Unresolved(f"not a condition function: {expression!r}")


def _comparable(value: Any) -> Any:
    """CloudFormation compares values as strings: `true` equals "true", 3 equals "3"."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value
