"""Repository policies from `access:` end to end: deployed to moto's CloudFormation, then held in place.

moto's CloudFormation ignores RepositoryPolicyText, so a fresh stack starts without a policy
and post-deploy sets it, as it does when someone deleted or widened it by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.lint.runner import lint_text
from generator.model import config, repository_policy
from generator.render import template
from tests.conftest import ROOT, post_deploy_json

CONFIG = """\
system_name: shop
post_deploy_policy: true
defaults:
  lifecycle: [{tag_status: any, keep_last: 20}]
  access:
    pull:
      accounts: [111122223333]
      organization: o-abc123example
      services: [lambda, codebuild]
    push:
      roles: ["arn:aws:iam::444455556666:role/ci"]
repositories:
  - name: web
  - name: api
    access:
      pull: {org_paths: ["o-abc123example/r-ab12/ou-ab12-11111111/*"]}
  - name: legacy
    access: {pull: {roles: ["arn:aws:iam::111122223333:role/reader"]}}
"""
NAMES = ["shop-ecr-web", "shop-ecr-api", "shop-ecr-legacy"]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    return tmp_path


def deploy(project: Path, text: str | None = None) -> str:
    if text is not None:
        (project / "ecr.yaml").write_text(text)
    body = template.render(template.build(config.load(project / "ecr.yaml")))
    boto3.client("cloudformation").create_stack(StackName="shop", TemplateBody=body)
    return "shop"


def live_policy(name: str) -> repository_policy.Policy:
    return repository_policy.parse_text(boto3.client("ecr").get_repository_policy(repositoryName=name)["policyText"])


def wanted(project: Path, name: str) -> repository_policy.Policy:
    arn = boto3.client("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
    repo = next(r for r in config.load(project / "ecr.yaml").repositories if r.physical_name("shop") == name)
    return repo.access_policy.resolve(arn)


def test_policy_is_set_after_deploy_then_left_alone_when_in_sync(aws: str, project: Path) -> None:
    stack = deploy(project)
    first = post_deploy_json("--stack-name", stack, cwd=project, code=0)
    calls = first["summary"]["apiCalls"]
    assert calls["GetRepositoryPolicy"] == 3 and calls["SetRepositoryPolicy"] == 3
    for name in NAMES:
        assert live_policy(name).key() == wanted(project, name).key()
    account = boto3.client("sts").get_caller_identity()["Account"]
    lambda_statement = next(s for s in live_policy("shop-ecr-web").statements if s.sid == "PullLambda")
    assert f"arn:aws:lambda:us-east-1:{account}:function:*" in lambda_statement.conditions[0][2]

    again = post_deploy_json("--stack-name", stack, cwd=project, code=0)
    assert {r["status"] for r in again["repositories"]} == {"in-sync"}
    assert "SetRepositoryPolicy" not in again["summary"]["apiCalls"]
    assert again["summary"]["apiCalls"]["GetRepositoryPolicy"] == 3


def test_a_widened_policy_is_reported_by_check_and_put_back(ecrgen: Any, aws: str, project: Path) -> None:
    stack = deploy(project)
    post_deploy_json("--stack-name", stack, cwd=project, code=0)
    ecr = boto3.client("ecr")
    widened = live_policy("shop-ecr-web").to_aws()
    widened["Statement"].append({"Sid": "Console", "Effect": "Allow", "Principal": {"AWS": "999988887777"},
                                 "Action": "ecr:*"})
    ecr.set_repository_policy(repositoryName="shop-ecr-web", policyText=json.dumps(widened))

    check = post_deploy_json("--stack-name", stack, "--check", cwd=project, code=1)
    drifted = [r for r in check["repositories"] if r["status"] != "in-sync"]
    assert [r["repositoryName"] for r in drifted] == ["shop-ecr-web"]
    (change,) = drifted[0]["changes"]
    assert change["setting"] == "repositoryPolicy" and change["status"] == "planned"
    assert "999988887777" in change["from"] and "999988887777" not in change["to"]

    text = ecrgen("post-deploy", "--stack-name", stack, cwd=project)
    assert text.returncode == 0, text.stderr
    assert "repositoryPolicy" in text.stdout and "Console: 999988887777" in text.stdout
    assert live_policy("shop-ecr-web").key() == wanted(project, "shop-ecr-web").key()
    post_deploy_json("--stack-name", stack, "--check", cwd=project, code=0)


def test_the_same_policy_in_another_layout_is_in_sync(aws: str, project: Path) -> None:
    stack = deploy(project)
    post_deploy_json("--stack-name", stack, cwd=project, code=0)
    data = live_policy("shop-ecr-web").to_aws()
    data["Statement"].reverse()
    for statement in data["Statement"]:
        statement["Action"] = sorted(statement["Action"], reverse=True)
        statement.pop("Sid")
    boto3.client("ecr").set_repository_policy(repositoryName="shop-ecr-web",
                                              policyText=json.dumps(data, indent=4))
    report = post_deploy_json("--stack-name", stack, "--check", cwd=project, code=0)
    assert {r["status"] for r in report["repositories"]} == {"in-sync"}


def test_repository_without_access_keeps_its_policy_unread(aws: str, project: Path) -> None:
    text = CONFIG.replace("  access:\n    pull:\n      accounts", "  unused:\n    pull:\n      accounts")
    text = text.split("  unused:")[0] + "repositories:\n  - name: web\n"
    stack = deploy(project, text)
    own = {"Version": "2012-10-17", "Statement": [{"Sid": "Mine", "Effect": "Allow",
                                                   "Principal": {"AWS": "999988887777"}, "Action": "ecr:*"}]}
    boto3.client("ecr").set_repository_policy(repositoryName="shop-ecr-web", policyText=json.dumps(own))
    report = post_deploy_json("--stack-name", stack, cwd=project, code=0)
    assert "GetRepositoryPolicy" not in report["summary"]["apiCalls"]
    assert "SetRepositoryPolicy" not in report["summary"]["apiCalls"]
    text = boto3.client("ecr").get_repository_policy(repositoryName="shop-ecr-web")["policyText"]
    assert json.loads(text) == own


def test_config_and_stack_give_the_same_plan(aws: str, project: Path) -> None:
    deploy(project)
    by_stack = post_deploy_json("--stack-name", "shop", "--check", cwd=project, code=1)
    by_config = post_deploy_json("--config", "ecr.yaml", "--check", cwd=project, code=1)
    assert by_stack["repositories"] == by_config["repositories"]


def test_post_deploy_iam_policy_gains_exactly_the_policy_calls(project: Path) -> None:
    def actions(text: str) -> list[str]:
        (project / "ecr.yaml").write_text(text)
        document = template.build(config.load(project / "ecr.yaml")).to_dict()["Resources"][
            template.POST_DEPLOY_POLICY_ID]["Properties"]["PolicyDocument"]
        return document["Statement"][0]["Action"]

    without = CONFIG.split("  access:")[0] + "repositories:\n  - name: web\n"
    assert set(actions(CONFIG)) - set(actions(without)) == {"ecr:GetRepositoryPolicy",
                                                            "ecr:SetRepositoryPolicy"}
    assert not any("RepositoryPolicy" in a for a in actions(without))


def readme_example() -> str:
    """The `access` example of README.md, as a whole ecr.yaml."""
    text = (ROOT / "README.md").read_text()
    block = text.split("### Who may pull and push: `access`")[1].split("```yaml\n")[1].split("```")[0]
    return (f"system_name: shop\n{block}  lifecycle: [{{tag_status: any, keep_last: 20}}]\n"
            "repositories:\n  - name: web\n")


@pytest.mark.parametrize("example", ["shipped", "every-kind", "readme"])
def test_rendered_policies_lint_clean_and_deploy(example: str, aws: str, project: Path) -> None:
    """cfn-lint and ecrgen's own rules find nothing, and moto's CloudFormation takes the template."""
    if example == "readme":
        (project / "ecr.yaml").write_text(readme_example())
    cfg = config.load(ROOT / "ecr.yaml" if example == "shipped" else project / "ecr.yaml")
    assert example == "shipped" or all(repo.access_policy for repo in cfg.repositories)
    body = template.render(template.build(cfg))
    assert [f.render() for f in lint_text(body, "t.yaml") if f.level != "informational"] == []
    boto3.client("cloudformation").create_stack(StackName="lint", TemplateBody=body)
    assert boto3.client("cloudformation").describe_stacks(StackName="lint")["Stacks"][0][
        "StackStatus"] == "CREATE_COMPLETE"


# What Lambda adds to the repository policy when a function of this account uses one of its
# images (Lambda developer guide, "Amazon ECR permissions"; as `get-repository-policy` shows it).
LAMBDA_STATEMENT = {"Sid": "LambdaECRImageRetrievalPolicy", "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}


def lambda_adds(statement: dict[str, Any], name: str = "shop-ecr-legacy") -> None:
    ecr = boto3.client("ecr")
    data = json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
    data["Statement"].append(statement)
    ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(data, indent=2))


@pytest.mark.parametrize("condition", [None, "arn:aws:lambda:us-east-1:123456789012:function:*"])
def test_lambda_s_own_statement_is_kept(aws: str, project: Path, condition: str | None, ecrgen: Any) -> None:
    """`legacy` lets one role pull. Lambda's statement for a same-account function is no drift:
    `kept` with the reason, and still there after a write that `access` asks for."""
    stack = deploy(project)
    post_deploy_json("--stack-name", stack, cwd=project, code=0)
    added = {**LAMBDA_STATEMENT, "Condition": {"StringLike": {"aws:sourceArn": condition}}} if condition \
        else LAMBDA_STATEMENT
    lambda_adds(added)

    check = post_deploy_json("--stack-name", stack, "--check", cwd=project, code=0)
    legacy = next(r for r in check["repositories"] if r["repositoryName"] == "shop-ecr-legacy")
    assert legacy["status"] == "in-sync"
    [kept] = legacy["changes"]
    assert (kept["setting"], kept["status"]) == ("repositoryPolicy", "kept")
    assert "LambdaECRImageRetrievalPolicy" in kept["reason"] and "Lambda" in kept["reason"]
    text = ecrgen("post-deploy", "--stack-name", stack, "--check", cwd=project).stdout
    assert "shop-ecr-legacy  repositoryPolicy" in text and "kept: LambdaECRImageRetrievalPolicy, added by" in text

    boto3.client("ecr").set_repository_policy(repositoryName="shop-ecr-legacy", policyText=json.dumps(
        {"Version": "2012-10-17", "Statement": [added, {**LAMBDA_STATEMENT, "Sid": "Console",
                                                        "Principal": {"AWS": "999988887777"}}]}))
    post_deploy_json("--stack-name", stack, cwd=project, code=0)  # drift: access written back ...
    statements = live_policy("shop-ecr-legacy").statements
    assert [s.sid for s in statements] == ["Pull", "LambdaECRImageRetrievalPolicy"]  # ... Lambda's kept
    assert post_deploy_json("--stack-name", stack, "--check", cwd=project, code=0)["summary"]["inSync"] == 3


@pytest.mark.parametrize("wider", [
    {"Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchDeleteImage"]},
    {"Principal": {"Service": "lambda.amazonaws.com", "AWS": "999988887777"}},
    {"Condition": {"StringLike": {"aws:sourceArn": "arn:aws:lambda:us-east-1:999988887777:function:*"}}},
    {"Sid": "LambdaLookalike"},
])
def test_a_statement_that_grants_more_than_lambda_s_is_drift(aws: str, project: Path,
                                                            wider: dict[str, Any]) -> None:
    stack = deploy(project)
    post_deploy_json("--stack-name", stack, cwd=project, code=0)
    lambda_adds({**LAMBDA_STATEMENT, **wider})
    check = post_deploy_json("--stack-name", stack, "--check", cwd=project, code=1)
    legacy = next(r for r in check["repositories"] if r["repositoryName"] == "shop-ecr-legacy")
    assert [(c["setting"], c["status"]) for c in legacy["changes"]] == [("repositoryPolicy", "planned")]
