"""Desired settings from a deployed template (ecrgen's Metadata, or plain Properties) and from ecr.yaml."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.base import template_body
from generator.base.errors import InputError
from generator.model import config, lifecycle
from generator.reconcile import desired
from generator.render import template
from tests.strategies import configs

CONFIG = """\
system_name: shop
settings_via: post-deploy
defaults:
  lifecycle: [{tag_status: any, keep_last: 20}]
repositories:
  - name: web
  - name: base
    image_tag_mutability: IMMUTABLE_WITH_EXCLUSION
    mutability_exclusions: [latest, dev-*]
    scan_on_push: false
"""

FOREIGN = """\
Resources:
  Plain:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub ${AWS::StackName}-plain
      ImageTagMutability: IMMUTABLE
      ImageScanningConfiguration: {ScanOnPush: "true"}
      LifecyclePolicy:
        LifecyclePolicyText: '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any",
          "countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}'
  FromParameter:
    Type: AWS::ECR::Repository
    Properties:
      ImageTagMutability: !Ref Mutability
      ImageScanningConfiguration: {ScanOnPush: !Ref Scan}
  Bucket:
    Type: AWS::S3::Bucket
"""


@pytest.fixture()
def cfg(tmp_path: Path) -> config.Config:
    path = tmp_path / "ecr.yaml"
    path.write_text(CONFIG)
    return config.load(path)


def physical(cfg: config.Config) -> dict[str, str]:
    return {repo.logical_id: repo.physical_name(cfg.system_name) for repo in cfg.repositories}


def key(settings: list[desired.RepositorySettings]) -> list[tuple]:
    return [(s.name, s.image_tag_mutability, s.exclusion_filters, s.scan_on_push,
             s.lifecycle_policy.key() if s.lifecycle_policy else None) for s in settings]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_generated_template_gives_what_the_config_gives(cfg: config.Config, fmt: str) -> None:
    body = template.render(template.build(cfg), fmt)
    from_stack = desired.from_template(template_body.parse(body, "stack s"), physical(cfg), "stack s")
    assert key(from_stack) == key(desired.from_config(cfg))
    assert key(from_stack)[1][:4] == ("shop-ecr-base", "IMMUTABLE_WITH_EXCLUSION",
                                      frozenset({"latest", "dev-*"}), False)


def test_parsed_json_body_as_boto3_returns_it(cfg: config.Config) -> None:
    body = json.loads(template.render(template.build(cfg), "json"))
    assert key(desired.from_template(template_body.parse(body, "s"), physical(cfg), "s")) == \
        key(desired.from_config(cfg))


def test_system_name_override_renames_every_repository(cfg: config.Config) -> None:
    assert [s.name for s in desired.from_config(cfg, "prod")] == ["prod-ecr-web", "prod-ecr-base"]
    with pytest.raises(InputError, match="--system-name: 'Prod' is not a valid repository name part"):
        desired.from_config(cfg, "Prod")


def test_undeployed_resources_are_skipped(cfg: config.Config) -> None:
    body = template.render(template.build(cfg))
    names = {"EcrWeb": "shop-ecr-web"}
    assert [s.name for s in desired.from_template(template_body.parse(body, "s"), names, "s")] == [
        "shop-ecr-web"]


def test_foreign_template_falls_back_to_properties_and_leaves_intrinsics_unmanaged() -> None:
    data = template_body.parse(FOREIGN, "stack f")
    assert desired.needs_stack_values(data)
    plain, from_parameter = desired.from_template(data, {"Plain": "f-plain", "FromParameter": "f-param",
                                                          "Bucket": "b"}, "stack f")
    assert (plain.name, plain.image_tag_mutability, plain.scan_on_push) == ("f-plain", "IMMUTABLE", True)
    assert plain.lifecycle_policy is not None and plain.lifecycle_policy.rules[0].count_number == 5
    assert (from_parameter.image_tag_mutability, from_parameter.scan_on_push,
            from_parameter.lifecycle_policy) == (None, None, None)
    assert [u.setting for u in from_parameter.unmanaged] == ["imageTagMutability", "scanOnPush"]


def test_short_form_tags_read_as_their_long_form() -> None:
    data = template_body.parse(
        "Conditions: {C: !Equals [!Ref Env, prod], D: !Not [!Condition C]}\n"
        "Resources:\n  R:\n    Type: AWS::ECR::Repository\n    Properties:\n"
        "      RepositoryName: !Sub ${AWS::StackName}-r\n"
        "      ImageTagMutability: !If [C, IMMUTABLE, !Ref Mode]\n"
        "      Tags: [{Key: a, Value: !GetAtt Other.Arn}, {Key: b, Value: !Join ['', [!Select [0, !Split [',', x]]]]}]\n",
        "stack s")
    assert data["Conditions"] == {"C": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                                  "D": {"Fn::Not": [{"Condition": "C"}]}}
    props = data["Resources"]["R"]["Properties"]
    assert props["RepositoryName"] == {"Fn::Sub": "${AWS::StackName}-r"}
    assert props["ImageTagMutability"] == {"Fn::If": ["C", "IMMUTABLE", {"Ref": "Mode"}]}
    assert props["Tags"] == [{"Key": "a", "Value": {"Fn::GetAtt": ["Other", "Arn"]}},
                             {"Key": "b", "Value": {"Fn::Join": ["", [{"Fn::Select": [0, {"Fn::Split": [",", "x"]}]}]]}}]


@pytest.mark.parametrize("body", [
    '{AWSTemplateFormatVersion: "2010-09-09", Resources: {R: {Type: "AWS::ECR::Repository", '
    'Properties: {ImageTagMutability: !Ref Mode}}}}',
    '{"Resources": {"R": {"Type": "AWS::ECR::Repository", "Properties": {"ImageTagMutability": {"Ref": "Mode"}}}}}',
    "Resources:\n  R:\n    Type: AWS::ECR::Repository\n    Properties: {ImageTagMutability: !Ref Mode}\n",
])
def test_every_body_cloudformation_accepts_is_read(body: str) -> None:
    data = template_body.parse(body, "stack s")
    assert data["Resources"]["R"]["Properties"] == {"ImageTagMutability": {"Ref": "Mode"}}


def test_a_yaml_date_is_its_text_as_cloudformation_reads_it() -> None:
    """CloudFormation has no dates: an unquoted 2012-10-17 (a date to PyYAML) is that text."""
    data = template_body.parse(
        "Resources:\n  R:\n    Type: AWS::ECR::Repository\n"
        "    Metadata:\n      ecrgen:\n        imageTagMutability: IMMUTABLE_WITH_EXCLUSION\n"
        "        imageTagMutabilityExclusionFilters: [2026-01-01]\n"
        "        repositoryPolicy: {Version: 2012-10-17, Statement: [{Effect: Allow, Principal: {AWS: '111122223333'},"
        " Action: ecr:BatchGetImage}]}\n"
        "    Properties:\n      ImageTagMutabilityExclusionFilters:\n"
        "        - {ImageTagMutabilityExclusionFilterType: WILDCARD, ImageTagMutabilityExclusionFilterValue: 2026-01-01}\n",
        "stack s")
    assert data["Resources"]["R"]["Properties"]["ImageTagMutabilityExclusionFilters"][0][
        "ImageTagMutabilityExclusionFilterValue"] == "2026-01-01"
    (settings,) = desired.from_template(data, {"R": "r"}, "stack s")
    assert settings.exclusion_filters == frozenset({"2026-01-01"})
    assert settings.repository_policy is not None and settings.repository_policy.version == "2012-10-17"
    # Without ecrgen's Metadata, the Properties: a number is its text too, as CloudFormation gives it.
    data["Resources"]["R"].pop("Metadata")
    data["Resources"]["R"]["Properties"].update(ImageTagMutability="MUTABLE_WITH_EXCLUSION")
    data["Resources"]["R"]["Properties"]["ImageTagMutabilityExclusionFilters"].append(
        {"ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": 2024})
    (settings,) = desired.from_template(data, {"R": "r"}, "stack s")
    assert settings.exclusion_filters == frozenset({"2026-01-01", "2024"})


DESCRIBED = {"StackName": "f", "StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/f/1",
             "Parameters": [{"ParameterKey": "Env", "ParameterValue": "prod"},
                            {"ParameterKey": "Token", "ParameterValue": "****"}]}
RESOLVABLE = """\
Parameters:
  Env: {Type: String}
  Token: {Type: String, NoEcho: true}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Resolved:
    Type: AWS::ECR::Repository
    Properties:
      ImageTagMutability: !If [IsProd, IMMUTABLE_WITH_EXCLUSION, MUTABLE]
      ImageTagMutabilityExclusionFilters:
        - {ImageTagMutabilityExclusionFilterType: WILDCARD, ImageTagMutabilityExclusionFilterValue: !Sub "${Env}-*"}
      ImageScanningConfiguration: {ScanOnPush: !If [IsProd, true, !Ref AWS::NoValue]}
      LifecyclePolicy:
        LifecyclePolicyText: !Sub '{"rules":[{"rulePriority":1,"description":"${AWS::Region}","selection":{
          "tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}'
  Unresolvable:
    Type: AWS::ECR::Repository
    Properties:
      ImageTagMutability: !If [IsProd, !Ref Token, MUTABLE]
      ImageScanningConfiguration: {ScanOnPush: !GetAtt Resolved.Arn}
      LifecyclePolicy: {LifecyclePolicyText: "{{resolve:ssm:/ecr/policy}}"}
"""


def test_intrinsics_resolve_from_the_stack_and_the_rest_is_unmanaged_with_a_reason() -> None:
    data = template_body.parse(RESOLVABLE, "stack f")
    resolved, unresolvable = desired.from_template(data, {"Resolved": "f-a", "Unresolvable": "f-b"}, "stack f",
                                                   DESCRIBED)
    assert (resolved.image_tag_mutability, resolved.exclusion_filters, resolved.scan_on_push) == (
        "IMMUTABLE_WITH_EXCLUSION", frozenset({"prod-*"}), True)
    assert resolved.lifecycle_policy is not None
    assert resolved.lifecycle_policy.rules[0].description == "eu-west-1"
    assert resolved.unmanaged == ()
    assert (unresolvable.image_tag_mutability, unresolvable.scan_on_push, unresolvable.lifecycle_policy) == (
        None, None, None)
    at = "Resources.Unresolvable.Properties"
    assert unresolvable.unmanaged == (
        desired.Unmanaged("imageTagMutability", f"{at}.ImageTagMutability: parameter Token is NoEcho: "
                                                "CloudFormation does not tell its value"),
        desired.Unmanaged("scanOnPush", f"{at}.ImageScanningConfiguration: Fn::GetAtt is evaluated by "
                                        "CloudFormation only"),
        desired.Unmanaged("lifecyclePolicy", f"{at}.LifecyclePolicy: the dynamic reference "
                                             "{{resolve:ssm:/ecr/policy}} is resolved by CloudFormation at deploy time"))


def test_bad_metadata_names_the_resource_and_field(cfg: config.Config) -> None:
    data = json.loads(template.render(template.build(cfg), "json"))
    meta = data["Resources"]["EcrWeb"]["Metadata"]["ecrgen"]
    meta["imageTagMutability"] = "immutable"
    meta["scanOnPush"] = "yes"
    meta["lifecyclePolicy"] = {"rules": []}
    with pytest.raises(InputError) as err:
        desired.from_template(data, physical(cfg), "stack s")
    text = err.value.render()
    assert "stack s: Resources.EcrWeb.Metadata.ecrgen.imageTagMutability: must be one of" in text
    assert "Resources.EcrWeb.Metadata.ecrgen.scanOnPush: must be true or false, got 'yes'" in text
    assert "Resources.EcrWeb.Metadata.ecrgen.lifecyclePolicy: rules: must be a non-empty list" in text


@pytest.mark.parametrize("body", ["Resources: [unclosed", "just text", '{"Resources": 3}'])
def test_unreadable_template_is_input_error(body: str) -> None:
    with pytest.raises(InputError, match="stack x: the template"):
        template_body.parse(body, "stack x")


def test_merge_keeps_one_entry_and_rejects_conflicting_wishes(cfg: config.Config) -> None:
    one = desired.from_config(cfg)
    assert len(desired.merge([one, desired.from_config(cfg)])) == 2
    other = [desired.RepositorySettings("shop-ecr-web", "stack b: EcrWeb", "MUTABLE", scan_on_push=True,
                                        lifecycle_policy=one[0].lifecycle_policy)]
    with pytest.raises(InputError) as err:
        desired.merge([one, other])
    assert err.value.render() == (f"--stack-name: shop-ecr-web: {cfg.source}: web and stack b: EcrWeb want "
                                  "different settings: imageTagMutability: IMMUTABLE vs MUTABLE")


def test_merge_says_how_policies_that_differ_only_in_a_description_differ(cfg: config.Config) -> None:
    one = desired.from_config(cfg)[0]
    assert one.lifecycle_policy is not None
    rule = replace(one.lifecycle_policy.rules[0], description="Keep twenty")
    other = replace(one, origin="stack b: EcrWeb", lifecycle_policy=lifecycle.Policy((rule,)),
                    unmanaged=(desired.Unmanaged("scanOnPush", "a NoEcho parameter"),))
    assert one.differences(other) == [
        "scanOnPush: true vs unresolved (a NoEcho parameter)",
        "lifecyclePolicy: 1: any, keep 20, no description vs 1: any, keep 20, description 'Keep twenty'"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=configs(), fmt=st.sampled_from(["yaml", "json"]))
def test_any_generated_template_reads_back_as_its_config(tmp_path: Path, data: dict[str, Any],
                                                        fmt: str) -> None:
    path = tmp_path / "ecr.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cfg = config.load(path)
    body = template_body.parse(template.render(template.build(cfg), fmt), "s")
    assert key(desired.from_template(body, physical(cfg), "s")) == key(desired.from_config(cfg))
    assert [s.repository_policy for s in desired.from_template(body, physical(cfg), "s")] == [
        s.repository_policy for s in desired.from_config(cfg)]
    if cfg.settings_via == "template":  # without ecrgen's Metadata the Properties say the same
        for resource in body["Resources"].values():
            resource.pop("Metadata", None)
        assert key(desired.from_template(body, physical(cfg), "s")) == key(desired.from_config(cfg))


def test_a_deployed_repository_the_template_does_not_show_is_unmanaged_not_dropped() -> None:
    """Fn::ForEach left unexpanded (the template as written, not as CloudFormation processed it):
    the repositories it made are in the stack, not in the template; their settings cannot be read."""
    data = {"Transform": "AWS::LanguageExtensions", "Resources": {"Fn::ForEach::Repos": [
        "Name", ["web"], {"Repo${Name}": {"Type": "AWS::ECR::Repository",
                                          "Properties": {"ImageTagMutability": "IMMUTABLE"}}}]}}
    [web] = desired.from_template(data, {"Repoweb": "each-web"}, "stack each")
    assert web.name == "each-web" and web.image_tag_mutability is None
    assert [u.setting for u in web.unmanaged] == ["imageTagMutability", "scanOnPush", "lifecyclePolicy"]
    assert "still holds Fn::ForEach::Repos" in web.unmanaged[0].reason
