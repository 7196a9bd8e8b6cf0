"""The access model: what ecr.yaml's `access:` grants, and repository policies compared by meaning."""

from __future__ import annotations

import io
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.base import template_body
from generator.base.errors import InputError
from generator.lint.runner import lint_text
from generator.model import access, config, repository_policy
from generator.reconcile import desired, report
from generator.reconcile.diff import WRITE_OPERATIONS, LiveRepository, changes
from generator.render import template
from tests.strategies import ACCESS

ARN = "arn:aws:ecr:eu-west-1:123456789012:repository/shop-ecr-web"



def load(tmp_path: Path, text: str) -> config.Config:
    (tmp_path / "ecr.yaml").write_text(text)
    return config.load(tmp_path / "ecr.yaml")


def policy_of(data: dict[str, Any]) -> repository_policy.Policy:
    return access.Access.model_validate(data).to_policy()


# --- what ecr.yaml grants -------------------------------------------------------------------

def test_every_kind_of_grant_becomes_one_exact_statement() -> None:
    policy = policy_of({
        "pull": {"accounts": [111122223333], "organization": "o-abc123example",
                 "org_paths": ["o-abc123example/r-ab12/ou-ab12-11111111/*"],
                 "roles": ["arn:aws:iam::444455556666:role/deployer"], "services": ["lambda", "codebuild"]},
        "push": {"roles": ["arn:aws:iam::111122223333:role/ci"]}})
    by_sid = {s["Sid"]: s for s in policy.to_aws()["Statement"]}
    assert list(by_sid) == ["Pull", "PullOrganization", "PullOrgPaths", "PullLambda", "PullCodebuild", "Push"]
    assert by_sid["Pull"]["Principal"] == {"AWS": ["111122223333", "arn:aws:iam::444455556666:role/deployer"]}
    assert by_sid["Pull"]["Action"] == list(access.READ_ACTIONS)
    assert by_sid["PullOrganization"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abc123example"}}
    assert by_sid["PullOrgPaths"]["Condition"] == {"ForAnyValue:StringLike": {
        "aws:PrincipalOrgPaths": "o-abc123example/r-ab12/ou-ab12-11111111/*"}}
    assert by_sid["PullLambda"]["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert by_sid["PullLambda"]["Condition"]["StringLike"]["aws:sourceArn"] == [
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*",
        "arn:${AWS::Partition}:lambda:${AWS::Region}:111122223333:function:*"]
    assert by_sid["PullCodebuild"]["Condition"] == {"StringEquals": {
        "aws:SourceAccount": ["${AWS::AccountId}", "111122223333"]}}
    assert by_sid["Push"]["Action"] == [*access.READ_ACTIONS, *access.UPLOAD_ACTIONS]


@settings(max_examples=200, deadline=None)
@given(ACCESS)
def test_a_grant_is_least_privilege_whatever_is_asked(data: dict[str, Any]) -> None:
    """Never a wildcard or a destructive action; `*` only with a condition; services only for
    named accounts; every action one of the read or upload actions."""
    for statement in policy_of(data).statements:
        assert set(statement.actions) <= {*access.READ_ACTIONS, *access.UPLOAD_ACTIONS}
        assert not any("*" in action for action in statement.actions)
        assert statement.effect == "Allow" and not statement.not_action and statement.resources is None
        kinds = {kind for kind, _ in statement.principals}
        if "*" in kinds or "Service" in kinds:
            assert statement.conditions
        if "Service" in kinds:
            assert set(statement.actions) <= set(access.READ_ACTIONS)
            assert access.THIS_ACCOUNT in statement.conditions[0][2][0]


def test_a_repository_access_replaces_the_default(tmp_path: Path) -> None:
    cfg = load(tmp_path, "system_name: s\ndefaults:\n  access: {pull: {accounts: ['111122223333']}}\n"
                         "repositories:\n  - name: a\n  - name: b\n    access: {push: {accounts: ['444455556666']}}\n"
                         "  - name: c\n")
    a, b, c = (repo.access_policy for repo in cfg.repositories)
    assert a == c and [s.sid for s in a.statements] == ["Pull"]
    assert [s.sid for s in b.statements] == ["Push"]
    assert b.statements[0].principals == (("AWS", "444455556666"),)


def test_without_access_the_policy_is_not_managed(tmp_path: Path) -> None:
    cfg = load(tmp_path, "system_name: s\nrepositories:\n  - name: a\n")
    assert cfg.repositories[0].access_policy is None
    assert desired.from_config(cfg)[0].repository_policy is None
    resource = template.build(cfg).to_dict()["Resources"]["EcrA"]
    assert "RepositoryPolicyText" not in resource["Properties"]
    assert "repositoryPolicy" not in resource["Metadata"]["ecrgen"]


@pytest.mark.parametrize(("grant", "fragment"), [
    ({"pull": {"accounts": ["11112222333"]}}, "access.pull.accounts[0]: must be a 12-digit AWS account id"),
    ({"pull": {"accounts": ["\u0661" * 12]}}, "access.pull.accounts[0]: must be a 12-digit AWS account id"),
    ({"pull": {"accounts": [True]}}, "access.pull.accounts[0]: must be a 12-digit AWS account id, got True"),
    ({"pull": {"services": ["ecs"]}}, "access.pull.services[0]: 'ecs' pulls with a role"),
    ({"push": {"services": ["lambda"]}}, "access.push.services: a service principal only pulls"),
    ({"pull": {"roles": ["arn:aws:iam::111122223333:role/"]}}, "access.pull.roles[0]: must be an IAM role ARN"),
    ({"pull": {"organization": "o-short"}}, "access.pull.organization: must be an organization id"),
    ({}, "access: is empty"),
    ({"pull": {}}, "access.pull: grants nobody"),
])
def test_bad_access_is_located(tmp_path: Path, grant: dict[str, Any], fragment: str) -> None:
    text = "system_name: s\nrepositories:\n  - name: a\n    access: " + json.dumps(grant) + "\n"
    with pytest.raises(InputError) as exc:
        load(tmp_path, text)
    assert f"ecr.yaml:4: repositories[0].{fragment}" in exc.value.render()


# --- the policy model -----------------------------------------------------------------------

def relayout(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same policy written another way: statements and actions reordered, Sids dropped,
    one-element lists as single values, accounts as root ARNs, Principal '*' as {AWS: '*'}."""
    statements = []
    for statement in data["Statement"]:
        out = {k: v for k, v in statement.items() if k != "Sid" or rng.random() < 0.5}
        actions = list(out["Action"]) if isinstance(out["Action"], list) else [out["Action"]]
        rng.shuffle(actions)
        out["Action"] = actions[0] if len(actions) == 1 and rng.random() < 0.5 else actions
        principal = out["Principal"]
        if principal == "*":
            out["Principal"] = {"AWS": "*"} if rng.random() < 0.5 else "*"
        else:
            out["Principal"] = {kind: [f"arn:aws:iam::{v}:root" if v.isdigit() and rng.random() < 0.5 else v
                                       for v in (values if isinstance(values, list) else [values])]
                                for kind, values in principal.items()}
        statements.append(out)
    rng.shuffle(statements)
    return {"Statement": statements, "Version": data["Version"]}


@settings(max_examples=200, deadline=None)
@given(ACCESS, st.randoms(use_true_random=False))
def test_render_then_parse_means_the_same_in_any_layout(data: dict[str, Any], rng: random.Random) -> None:
    policy = policy_of(data)
    assert repository_policy.parse_text(policy.to_text()).key() == policy.key()
    assert repository_policy.parse_text(policy.to_text(indent=None)) == policy
    assert repository_policy.Policy.from_cfn(policy.to_cfn()) == policy
    again = repository_policy.parse(relayout(json.loads(policy.to_text()), rng))
    assert again.key() == policy.key()
    assert again.resolve(ARN).key() == policy.resolve(ARN).key()


@settings(max_examples=100, deadline=None)
@given(ACCESS, st.sampled_from(["ecr:BatchDeleteImage", "ecr:*", "ecr:ListImages"]))
def test_a_wider_policy_never_compares_equal(data: dict[str, Any], action: str) -> None:
    policy = policy_of(data)
    wider = json.loads(policy.to_text())
    wider["Statement"][0]["Action"].append(action)
    assert repository_policy.parse(wider).key() != policy.key()
    other = json.loads(policy.to_text())
    other["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "999988887777"},
                               "Action": "ecr:BatchGetImage"})
    assert repository_policy.parse(other).key() != policy.key()


def test_resolve_fills_the_placeholders_from_the_repository_arn() -> None:
    policy = policy_of({"pull": {"services": ["lambda", "codebuild"]}}).resolve(
        "arn:aws-cn:ecr:cn-north-1:123456789012:repository/a/b")
    assert "${" not in policy.to_text()
    assert policy.statements[0].conditions[0][2] == ("arn:aws-cn:lambda:cn-north-1:123456789012:function:*",)
    assert policy.statements[1].conditions[0][2] == ("123456789012",)
    with pytest.raises(ValueError, match="not a repository ARN"):
        policy.resolve("")


def test_condition_values_and_case_do_not_change_the_meaning() -> None:
    a = repository_policy.parse({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "ECR:BatchGetImage",
                                    "Condition": {"Bool": {"aws:SecureTransport": True}}}})
    b = repository_policy.parse({"Version": "2008-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["ecr:batchgetimage"],
        "Condition": {"Bool": {"AWS:securetransport": ["true"]}}}]})
    assert a.key() == b.key()


@pytest.mark.parametrize(("data", "fragment"), [
    ([], "must be a JSON object with Statement, got a list"),
    ({"Statement": []}, "Statement: must be a statement or a non-empty list"),
    ({"Version": "2010-01-01", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "a"}},
     "Version: must be one of 2012-10-17, 2008-10-17"),
    ({"Statement": [{"Effect": "allow", "Principal": "*", "Action": "a"}]}, "Statement[0] Effect: must be Allow"),
    ({"Statement": [{"Effect": "Allow", "Action": "a"}]}, "Statement[0] Principal: is required"),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Users": "x"}, "Action": "a"}]},
     "Statement[0] Principal.Users: unknown principal type"),
    ({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": [], "Resource": "*"}]},
     "Statement[0] Action: must be a string or a non-empty list of strings"),
    ({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "a", "NotAction": "b"}]},
     "Statement[0] NotAction: give Action or NotAction, not both"),
    ({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "a", "Condition": {"StringEquals": 1}}]},
     "Statement[0] Condition.StringEquals: must be an object of condition keys"),
])
def test_unreadable_policies_say_where(data: Any, fragment: str) -> None:
    with pytest.raises(repository_policy.PolicyError) as exc:
        repository_policy.parse(data)
    assert any(fragment in problem.describe() for problem in exc.value.problems), str(exc.value)


# --- the plan -------------------------------------------------------------------------------

POLICY = policy_of({"pull": {"accounts": ["111122223333"], "services": ["codebuild"]}})


def wish(policy: repository_policy.Policy | None = POLICY) -> desired.RepositorySettings:
    return desired.RepositorySettings("shop-ecr-web", "test", repository_policy=policy)


def live(text: str | None) -> LiveRepository:
    return LiveRepository("shop-ecr-web", "IMMUTABLE", arn=ARN, repository_policy_text=text)


def test_in_sync_by_meaning_needs_no_write() -> None:
    data = json.loads(POLICY.resolve(ARN).to_text())
    data["Statement"].reverse()
    assert changes(wish(), live(json.dumps(data, indent=7))) == ()


@pytest.mark.parametrize("text", [None, "not json", json.dumps({"Statement": []}),
                                  POLICY.to_text()])  # placeholders unfilled: not what ECR holds
def test_missing_unreadable_or_different_policy_is_one_set_call(text: str | None) -> None:
    (change,) = changes(wish(), live(text))
    assert change.setting == "repositoryPolicy" and change.operation == "set_repository_policy"
    assert change.params == {"repositoryName": "shop-ecr-web", "policyText": change.after}
    assert repository_policy.parse_text(change.after).key() == POLICY.resolve(ARN).key()
    assert "set_repository_policy" in WRITE_OPERATIONS.values()
    assert not any("delete" in op for op in WRITE_OPERATIONS.values())


def test_no_access_means_no_change_whatever_is_live() -> None:
    assert changes(wish(None), live(json.dumps({"Statement": {"Effect": "Allow", "Principal": "*",
                                                              "Action": "ecr:*"}}))) == ()


def test_the_text_report_names_who_each_statement_lets_in() -> None:
    (change,) = changes(wish(), live(None))
    out = io.StringIO()
    report.render_text({"repositories": [{"repositoryName": "shop-ecr-web", "status": "planned", "changes": [
        {"setting": change.setting, "from": change.before, "to": change.after, "status": "planned",
         "error": None}]}], "summary": {"repositories": 1, "inSync": 0, "changed": 0, "planned": 1,
                                        "failed": 0, "missing": 0, "unmanaged": 0, "apiCalls": {}}}, out)
    assert "Pull: 111122223333" in out.getvalue() and "PullCodebuild: codebuild.amazonaws.com" in out.getvalue()
    assert "(none)" in out.getvalue()


def test_stack_metadata_and_config_want_the_same(tmp_path: Path) -> None:
    cfg = load(tmp_path, "system_name: s\nrepositories:\n  - name: a\n    access:\n      pull: "
                         "{services: [lambda], organization: o-abc123example}\n")
    body = template.render(template.build(cfg))
    from_stack = desired.from_template(template_body.parse(body, "stack"), {"EcrA": "s-ecr-a"}, "stack")
    assert from_stack[0].differences(desired.from_config(cfg)[0]) == []
    assert from_stack[0].repository_policy == cfg.repositories[0].access_policy


@settings(max_examples=15, deadline=None)
@given(ACCESS)
def test_every_rendered_policy_lints_clean(data: dict[str, Any]) -> None:
    """cfn-lint's own checks and every ecrgen rule: nothing to say about what ecrgen writes."""
    text = ("system_name: s\ndefaults:\n  lifecycle: [{tag_status: any, keep_last: 5}]\n"
            f"repositories:\n  - name: a\n    access: {json.dumps(data)}\n")
    with tempfile.TemporaryDirectory() as folder:
        body = template.render(template.build(load(Path(folder), text)))
    assert [f.render() for f in lint_text(body, "t.yaml")] == []
