"""Intrinsic functions of a deployed template: resolved exactly from the stack, or Unresolved with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.reconcile import desired
from generator.reconcile.intrinsics import NO_VALUE, Stack, Unresolved, resolve, uses_functions

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Env": {"Type": "String"},
        "Secret": {"Type": "String", "NoEcho": True},
        "Tags": {"Type": "CommaDelimitedList"},
        "FromSsm": {"Type": "AWS::SSM::Parameter::Value<String>"},
    },
    "Mappings": {"Modes": {"prod": {"Mutability": "IMMUTABLE"}, "dev": {"Mutability": "MUTABLE"}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        "ProdInUs": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]},
        "Hidden": {"Fn::Equals": [{"Ref": "Secret"}, "x"]},
        "Loop": {"Condition": "Loop"},
    },
    "Resources": {"Repo": {"Type": "AWS::ECR::Repository"}},
}
DESCRIBED: dict[str, Any] = {
    "StackName": "app",
    "StackId": "arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/app/0c6d1e30",
    "Parameters": [{"ParameterKey": "Env", "ParameterValue": "prod"},
                   {"ParameterKey": "Secret", "ParameterValue": "****"},
                   {"ParameterKey": "Tags", "ParameterValue": "latest, dev-*"},
                   {"ParameterKey": "FromSsm", "ParameterValue": "/ecr/mode", "ResolvedValue": "IMMUTABLE"}],
}
STACK = Stack.of(TEMPLATE, DESCRIBED)


@pytest.mark.parametrize(("value", "expected"), [
    ({"Ref": "Env"}, "prod"),
    ({"Ref": "FromSsm"}, "IMMUTABLE"),  # an SSM parameter type: its resolved value
    ({"Ref": "Tags"}, ["latest", "dev-*"]),
    ({"Fn::Sub": "${AWS::StackName}-${AWS::Region}-${AWS::AccountId}-${AWS::Partition}.${AWS::URLSuffix}"},
     "app-cn-north-1-123456789012-aws-cn.amazonaws.com.cn"),
    ({"Fn::Sub": "no variables"}, "no variables"),
    ({"Fn::Sub": "${!Literal} ${Env}"}, "${Literal} prod"),
    ({"Fn::Sub": ["${Mode}-${Env}", {"Mode": {"Fn::FindInMap": ["Modes", {"Ref": "Env"}, "Mutability"]}}]},
     "IMMUTABLE-prod"),
    ({"Fn::If": ["IsProd", "IMMUTABLE", "MUTABLE"]}, "IMMUTABLE"),
    ({"Fn::If": ["IsDev", {"Fn::GetAtt": ["Repo", "Arn"]}, "IMMUTABLE"]}, "IMMUTABLE"),  # branch not taken
    ({"Fn::If": ["ProdInUs", "a", "b"]}, "b"),
    ({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]}, "a-prod"),
    ({"Fn::Select": [1, {"Ref": "Tags"}]}, "dev-*"),
    ({"Fn::Select": ["0", {"Fn::Split": [",", "x,y"]}]}, "x"),
    ({"Fn::ToJsonString": {"rules": [{"rulePriority": 1}]}}, '{"rules":[{"rulePriority":1}]}'),
    ({"ScanOnPush": {"Fn::If": ["IsDev", True, {"Ref": "AWS::NoValue"}]}}, {}),
    ([{"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}, "y"], ["y"]),
    ({"Ref": "AWS::NoValue"}, NO_VALUE),
])
def test_what_the_stack_tells_resolves_exactly(value: Any, expected: Any) -> None:
    assert resolve(value, STACK) == expected


@pytest.mark.parametrize(("value", "reason"), [
    ({"Ref": "Secret"}, "parameter Secret is NoEcho: CloudFormation does not tell its value"),
    ({"Fn::Sub": "${Secret}"}, "parameter Secret is NoEcho"),
    ({"Fn::If": ["Hidden", "a", "b"]}, "condition Hidden: parameter Secret is NoEcho"),
    ({"Fn::If": ["Loop", "a", "b"]}, "condition Loop refers to itself"),
    ({"Fn::If": ["Nope", "a", "b"]}, "no condition 'Nope' in the template"),
    ({"Fn::GetAtt": ["Repo", "Arn"]}, "Fn::GetAtt is evaluated by CloudFormation only"),
    ({"Fn::ImportValue": "shared-mode"}, "Fn::ImportValue is evaluated by CloudFormation only"),
    ({"Fn::Sub": "${Repo.Arn}"}, "${Repo.Arn} is an attribute of a resource"),
    ({"Ref": "Repo"}, "Ref Repo is the resource's own id"),
    ({"Ref": "Unknown"}, "Ref Unknown: no such parameter"),
    ("{{resolve:ssm:/ecr/policy}}", "the dynamic reference {{resolve:ssm:/ecr/policy}} is resolved by CloudFormation"),
    ({"Fn::Sub": "{{resolve:ssm:/${Env}/policy}}"}, "the dynamic reference {{resolve:ssm:/prod/policy}}"),
    ({"Fn::FindInMap": ["Modes", "test", "Mutability"]}, "Fn::FindInMap: no 'test'"),
])
def test_what_only_cloudformation_knows_is_unresolved_with_the_reason(value: Any, reason: str) -> None:
    with pytest.raises(Unresolved) as err:
        resolve(value, STACK)
    assert reason in str(err.value)


def test_a_stack_that_was_not_described_knows_no_parameter_or_pseudo_parameter() -> None:
    stack = Stack.of(TEMPLATE, None)
    for name in ("Env", "AWS::Region", "AWS::AccountId"):
        with pytest.raises(Unresolved, match="not described"):
            resolve({"Ref": name}, stack)
    assert resolve({"Fn::Sub": "plain"}, stack) == "plain"


def test_a_parameter_missing_from_the_stack_or_an_unknown_partition_is_unresolved() -> None:
    stack = Stack.of(TEMPLATE, {"StackName": "s", "StackId": "arn:aws-iso-x:cloudformation:r:1:stack/s/1"})
    with pytest.raises(Unresolved, match="parameter Env has no value in the stack"):
        resolve({"Ref": "Env"}, stack)
    with pytest.raises(Unresolved, match="AWS::URLSuffix is not known"):
        resolve({"Ref": "AWS::URLSuffix"}, stack)
    assert resolve({"Ref": "AWS::Partition"}, stack) == "aws-iso-x"


def test_uses_functions_finds_calls_at_any_depth_but_not_plain_mappings() -> None:
    assert uses_functions({"ScanOnPush": {"Fn::If": ["C", True, False]}})
    assert uses_functions([{"a": [{"Ref": "X"}]}])
    assert not uses_functions({"ScanOnPush": True, "Ref": "x", "other": 1})  # two keys: no call
    assert not uses_functions("{{resolve:ssm:/x}}")


# --- properties -----------------------------------------------------------------------------

LITERALS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text().filter(lambda t: "{{resolve:" not in t),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(min_size=1).filter(lambda k: k != "Ref" and not k.startswith("Fn::")), inner, max_size=3),
    max_leaves=10)
NAMES = st.from_regex(r"[A-Z][A-Za-z0-9]{0,8}", fullmatch=True)
PLAIN_TEXT = st.text(st.characters(blacklist_characters="${}"), max_size=8)


@given(LITERALS)
def test_a_value_without_functions_resolves_to_itself(value: Any) -> None:
    assert not uses_functions(value)
    assert resolve(value, STACK) == value


@given(st.dictionaries(NAMES, PLAIN_TEXT, min_size=1, max_size=4), st.data())
def test_sub_of_parameters_is_their_text_in_place(parameters: dict[str, str], data: st.DataObject) -> None:
    template = {"Parameters": {name: {"Type": "String"} for name in parameters}, "Resources": {}}
    stack = Stack.of(template, {"StackName": "s", "Parameters": [
        {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]})
    parts = data.draw(st.lists(st.one_of(PLAIN_TEXT.map(lambda t: ("text", t)),
                                         st.sampled_from(sorted(parameters)).map(lambda n: ("ref", n))),
                               max_size=6))
    text = "".join(value if kind == "text" else "${" + value + "}" for kind, value in parts)
    expected = "".join(value if kind == "text" else parameters[value] for kind, value in parts)
    assert resolve({"Fn::Sub": text}, stack) == expected


CONDITIONS = st.recursive(
    st.tuples(st.just("equals"), st.sampled_from(["prod", "dev"])),
    lambda inner: st.tuples(st.just("not"), inner) | st.tuples(st.sampled_from(["and", "or"]),
                                                                 st.lists(inner, min_size=2, max_size=3)),
    max_leaves=6)


def _as_template(expression: tuple) -> dict[str, Any]:
    kind, argument = expression
    if kind == "equals":
        return {"Fn::Equals": [{"Ref": "Env"}, argument]}
    if kind == "not":
        return {"Fn::Not": [_as_template(argument)]}
    return {f"Fn::{kind.capitalize()}": [_as_template(item) for item in argument]}


def _truth(expression: tuple, env: str) -> bool:
    kind, argument = expression
    if kind == "equals":
        return env == argument
    if kind == "not":
        return not _truth(argument, env)
    results = [_truth(item, env) for item in argument]
    return all(results) if kind == "and" else any(results)


@given(CONDITIONS, st.sampled_from(["prod", "dev", "test"]))
def test_if_takes_the_branch_its_condition_gives(expression: tuple, env: str) -> None:
    template = {**TEMPLATE, "Conditions": {"C": _as_template(expression)}}
    stack = Stack.of(template, {**DESCRIBED, "Parameters": [{"ParameterKey": "Env", "ParameterValue": env}]})
    expected = "IMMUTABLE" if _truth(expression, env) else "MUTABLE"
    assert resolve({"Fn::If": ["C", "IMMUTABLE", "MUTABLE"]}, stack) == expected


@given(CONDITIONS)
def test_a_condition_on_a_noecho_parameter_is_never_guessed(expression: tuple) -> None:
    template = {**TEMPLATE, "Conditions": {"C": _as_template(expression)}}
    template["Parameters"] = {**TEMPLATE["Parameters"], "Env": {"Type": "String", "NoEcho": "true"}}
    with pytest.raises(Unresolved, match="NoEcho"):
        resolve({"Fn::If": ["C", "IMMUTABLE", "MUTABLE"]}, Stack.of(template, DESCRIBED))


def test_needs_stack_values_only_for_settings_given_by_functions() -> None:
    name_only = {"Resources": {"R": {"Type": desired.REPOSITORY_TYPE, "Properties": {
        "RepositoryName": {"Fn::Sub": "${AWS::StackName}-r"}, "ImageTagMutability": "IMMUTABLE"}}}}
    assert not desired.needs_stack_values(name_only)
    name_only["Resources"]["R"]["Properties"]["ImageScanningConfiguration"] = {"ScanOnPush": {"Ref": "Scan"}}
    assert desired.needs_stack_values(name_only)
