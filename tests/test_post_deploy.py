"""`ecrgen post-deploy` end to end: a generated template deployed to moto's CloudFormation, then enforced.

moto's CloudFormation leaves scan on push off and ignores LifecyclePolicy, and with
`settings_via: post-deploy` the template sets no tag mutability, so every run starts drifted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.base import template_body
from generator.lint.runner import lint_text
from generator.model import config, lifecycle
from generator.reconcile import desired
from generator.render import template
from tests.conftest import ROOT, post_deploy_json

CONFIG = """\
system_name: shop
settings_via: post-deploy
post_deploy_policy: true
defaults:
  lifecycle:
    - {description: Expire untagged images after 14 days, tag_status: untagged, since_pushed_days: 14}
    - {description: Keep the 20 most recent images, tag_status: any, keep_last: 20}
repositories:
  - name: web
  - name: base
    image_tag_mutability: IMMUTABLE_WITH_EXCLUSION
    mutability_exclusions: [latest, dev-*]
  - name: batch
    lifecycle: [{tag_status: any, keep_last: 5}]
"""
NAMES = ["shop-ecr-web", "shop-ecr-base", "shop-ecr-batch"]
READS = {"DescribeRepositories", "GetLifecyclePolicy", "GetTemplate", "ListStackResources"}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    return tmp_path


@pytest.fixture()
def stack(aws: str, project: Path) -> str:
    """The generated template, deployed through moto's CloudFormation."""
    body = template.render(template.build(config.load(project / "ecr.yaml")))
    boto3.client("cloudformation").create_stack(StackName="shop", TemplateBody=body)
    return "shop"


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {r["repositoryName"]: r["status"] for r in report["repositories"]}


def test_stack_converges_then_a_rerun_only_reads(ecrgen: Any, stack: str, project: Path) -> None:
    assert ecrgen("post-deploy", "--stack-name", stack, "--check", cwd=project).returncode == 1

    first = post_deploy_json("--stack-name", stack, cwd=project, code=0)
    assert statuses(first) == dict.fromkeys(NAMES, "changed")
    calls = first["summary"]["apiCalls"]
    assert calls["DescribeRepositories"] == 1 and calls["GetLifecyclePolicy"] == 3
    assert calls["PutImageTagMutability"] == calls["PutImageScanningConfiguration"] == 3
    assert calls["PutLifecyclePolicy"] == 3

    ecr = boto3.client("ecr")
    repos = {r["repositoryName"]: r for r in ecr.describe_repositories(repositoryNames=NAMES)["repositories"]}
    wanted = {w.name: w for w in desired.from_config(config.load(project / "ecr.yaml"))}
    for name, repo in repos.items():
        assert repo["imageTagMutability"] == wanted[name].image_tag_mutability
        assert {f["filter"] for f in repo.get("imageTagMutabilityExclusionFilters", [])} == \
            wanted[name].exclusion_filters
        assert repo["imageScanningConfiguration"]["scanOnPush"] is True
        text = ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
        assert lifecycle.parse_text(text).key() == wanted[name].lifecycle_policy.key()
    assert repos["shop-ecr-base"]["imageTagMutabilityExclusionFilters"]

    again = post_deploy_json("--stack-name", stack, cwd=project, code=0)
    assert statuses(again) == dict.fromkeys(NAMES, "in-sync")
    assert set(again["summary"]["apiCalls"]) == READS
    check = ecrgen("post-deploy", "--stack-name", stack, "--check", cwd=project)
    assert check.returncode == 0
    assert "3 in-sync" in check.stdout


def test_drift_by_hand_is_found_and_fixed(ecrgen: Any, stack: str, project: Path) -> None:
    post_deploy_json("--stack-name", stack, cwd=project, code=0)
    boto3.client("ecr").put_image_tag_mutability(repositoryName="shop-ecr-web", imageTagMutability="MUTABLE")

    check = post_deploy_json("--stack-name", stack, "--check", cwd=project, code=1)
    assert statuses(check) == {"shop-ecr-web": "planned", "shop-ecr-base": "in-sync",
                               "shop-ecr-batch": "in-sync"}
    assert check["repositories"][0]["changes"] == [{"setting": "imageTagMutability", "from": "MUTABLE",
                                                    "to": "IMMUTABLE", "status": "planned", "error": None}]
    text = ecrgen("post-deploy", "--stack-name", stack, cwd=project)
    assert text.returncode == 0
    assert "shop-ecr-web" in text.stdout and "MUTABLE" in text.stdout and "applied" in text.stdout
    assert "1 changed" in text.stdout.splitlines()[-1]
    post_deploy_json("--stack-name", stack, "--check", cwd=project, code=0)


def test_missing_repository_is_reported_while_the_others_are_fixed(aws: str,
                                                                    project: Path) -> None:
    ecr = boto3.client("ecr")
    for name in NAMES[:2]:
        ecr.create_repository(repositoryName=name)
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=1)
    assert statuses(report) == {"shop-ecr-web": "changed", "shop-ecr-base": "changed",
                                "shop-ecr-batch": "missing"}
    assert report["summary"]["missing"] == 1 and report["summary"]["changed"] == 2
    assert post_deploy_json("--config", "ecr.yaml", cwd=project, code=1)["summary"]["inSync"] == 2


def test_config_and_stack_give_the_same_plan(stack: str, project: Path) -> None:
    from_stack = post_deploy_json("--stack-name", stack, "--dry-run", cwd=project, code=0)
    from_config = post_deploy_json("--config", "ecr.yaml", "--dry-run", cwd=project, code=0)
    assert from_stack["repositories"] == from_config["repositories"]
    assert set(statuses(from_stack).values()) == {"planned"}
    assert not any(call.startswith("Put") for call in from_config["summary"]["apiCalls"])
    renamed = post_deploy_json("--config", "ecr.yaml", "--system-name", "other", "--check", cwd=project, code=1)
    assert set(statuses(renamed)) == {name.replace("shop", "other") for name in NAMES}
    assert set(statuses(renamed).values()) == {"missing"}


def test_post_deploy_policy_lints_clean_and_grants_exactly_the_calls_made(stack: str,
                                                                           project: Path) -> None:
    body = template.render(template.build(config.load(project / "ecr.yaml")))
    assert [f for f in lint_text(body, "ecr.yaml") if f.level == "error"] == []
    statements = template_body.parse(body, "t")["Resources"][template.POST_DEPLOY_POLICY_ID][
        "Properties"]["PolicyDocument"]["Statement"]
    granted = {action for s in statements for action in s["Action"]}
    assert all(s["Effect"] == "Allow" and s["Resource"] != "*" for s in statements)

    report = post_deploy_json("--stack-name", stack, cwd=project, code=0)
    service = {"GetTemplate": "cloudformation", "ListStackResources": "cloudformation"}
    used = {f"{service.get(call, 'ecr')}:{call}" for call in report["summary"]["apiCalls"]}
    assert used == granted


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--stack-name", "nope"], {}, "stack nope: no such stack in region us-east-1"),
    (["--stack-name", "shop", "--config", "ecr.yaml"], {}, "give --stack-name NAME (repeatable) or --config"),
    (["--config", "missing.yaml"], {}, "missing.yaml: file not found"),
    (["--config", "ecr.yaml"], {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
                                "AWS_EC2_METADATA_DISABLED": "true"}, "no AWS credentials found"),
    (["--config", "ecr.yaml"], {"AWS_REGION": None, "AWS_DEFAULT_REGION": None}, "no AWS region"),
    (["--config", "ecr.yaml", "--profile", "nope"], {}, "profile 'nope' not found"),
    (["--config", "ecr.yaml", "--system-name", "Bad Name"], {}, "--system-name: 'Bad Name' is not a valid"),
])
def test_bad_input_is_one_line_and_exit_2(ecrgen: Any, aws: str, project: Path, args: list[str],
                                          env: dict[str, str | None], message: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k, v in env.items() if v is None]:
        monkeypatch.delenv(key)
        del env[key]
    result = ecrgen("post-deploy", *args, cwd=project, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert message in result.stderr


def test_endpoint_url_flag_and_region_flag(aws: str, project: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("ecr").create_repository(repositoryName="shop-ecr-web")
    for key in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key)
    report = post_deploy_json("--config", "ecr.yaml", "--endpoint-url", aws, "--region", "us-east-1", "--check",
                      cwd=project, code=1)
    assert statuses(report) == {"shop-ecr-web": "planned", "shop-ecr-base": "missing",
                                "shop-ecr-batch": "missing"}


def test_no_credential_is_ever_printed(ecrgen: Any, stack: str, project: Path) -> None:
    secret = "wJalrXUtnFEMI-not-a-real-secret"
    env = {"AWS_SECRET_ACCESS_KEY": secret, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SESSION_TOKEN": "tok3n"}
    for extra in ([], ["--output", "json"], ["--stack-name", "nope"]):
        result = ecrgen("post-deploy", "--stack-name", stack, *extra, cwd=project, env=env)
        for value in env.values():
            assert value not in result.stdout + result.stderr
    assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


FAKE_AWS = """\
#!{python}
# `aws cloudformation deploy` for tests: the real CLI is not installed; moto plays CloudFormation.
import sys, boto3
args = sys.argv[1:]
assert args[:2] == ["cloudformation", "deploy"], args
opts = dict(zip(args[2::2], args[3::2]))
boto3.client("cloudformation").create_stack(
    StackName=opts["--stack-name"], TemplateBody=open(opts["--template-file"]).read(),
    Capabilities=[opts["--capabilities"]])
"""


def test_pipeline_hook_deploys_then_enforces(aws: str, project: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS.format(python=sys.executable))
    (bin_dir / "aws").chmod(0o755)
    (project / "ecr.template").write_text(template.render(template.build(config.load(project / "ecr.yaml"))))
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "ECRGEN_ARGS": "--output json"}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "post-deploy.sh"), "shop", "ecr.template"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "+ aws cloudformation deploy --stack-name shop --template-file ecr.template" in result.stderr
    assert statuses(json.loads(result.stdout)) == dict.fromkeys(NAMES, "changed")
