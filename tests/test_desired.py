"""Desired settings from a deployed template (ecrgen's Metadata, or plain Properties) and from ecr.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import config, desired, template
from generator.errors import InputError
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
    from_stack = desired.from_template(desired.parse_template(body, "stack s"), physical(cfg), "stack s")
    assert key(from_stack) == key(desired.from_config(cfg))
    assert key(from_stack)[1][:4] == ("shop-ecr-base", "IMMUTABLE_WITH_EXCLUSION",
                                      frozenset({"latest", "dev-*"}), False)


def test_parsed_json_body_as_boto3_returns_it(cfg: config.Config) -> None:
    body = json.loads(template.render(template.build(cfg), "json"))
    assert key(desired.from_template(desired.parse_template(body, "s"), physical(cfg), "s")) == \
        key(desired.from_config(cfg))


def test_system_name_override_renames_every_repository(cfg: config.Config) -> None:
    assert [s.name for s in desired.from_config(cfg, "prod")] == ["prod-ecr-web", "prod-ecr-base"]
    with pytest.raises(InputError, match="--system-name: 'Prod' is not a valid repository name part"):
        desired.from_config(cfg, "Prod")


def test_undeployed_resources_are_skipped(cfg: config.Config) -> None:
    body = template.render(template.build(cfg))
    names = {"EcrWeb": "shop-ecr-web"}
    assert [s.name for s in desired.from_template(desired.parse_template(body, "s"), names, "s")] == [
        "shop-ecr-web"]


def test_foreign_template_falls_back_to_properties_and_leaves_intrinsics_unmanaged() -> None:
    data = desired.parse_template(FOREIGN, "stack f")
    plain, from_parameter = desired.from_template(data, {"Plain": "f-plain", "FromParameter": "f-param",
                                                          "Bucket": "b"}, "stack f")
    assert (plain.name, plain.image_tag_mutability, plain.scan_on_push) == ("f-plain", "IMMUTABLE", True)
    assert plain.lifecycle_policy is not None and plain.lifecycle_policy.rules[0].count_number == 5
    assert (from_parameter.image_tag_mutability, from_parameter.scan_on_push,
            from_parameter.lifecycle_policy) == (None, None, None)


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
        desired.parse_template(body, "stack x")


def test_merge_keeps_one_entry_and_rejects_conflicting_wishes(cfg: config.Config) -> None:
    one = desired.from_config(cfg)
    assert len(desired.merge([one, desired.from_config(cfg)])) == 2
    other = [desired.RepositorySettings("shop-ecr-web", "stack b: EcrWeb", "MUTABLE")]
    with pytest.raises(InputError, match=r"shop-ecr-web: stack b: EcrWeb and .*want different settings"):
        desired.merge([one, other])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=configs(), fmt=st.sampled_from(["yaml", "json"]))
def test_any_generated_template_reads_back_as_its_config(tmp_path: Path, data: dict[str, Any],
                                                        fmt: str) -> None:
    path = tmp_path / "ecr.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cfg = config.load(path)
    body = desired.parse_template(template.render(template.build(cfg), fmt), "s")
    assert key(desired.from_template(body, physical(cfg), "s")) == key(desired.from_config(cfg))
    assert [s.repository_policy for s in desired.from_template(body, physical(cfg), "s")] == [
        s.repository_policy for s in desired.from_config(cfg)]
    if cfg.settings_via == "template":  # without ecrgen's Metadata the Properties say the same
        for resource in body["Resources"].values():
            resource.pop("Metadata", None)
        assert key(desired.from_template(body, physical(cfg), "s")) == key(desired.from_config(cfg))
