"""Paths moto cannot produce, with botocore's Stubber: paging, unknown names in a batch, one
denied repository, throttling that outlives the retries. Plus the retries themselves, against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from generator.aws import ecr as aws_ecr
from generator.aws.client import make_client
from generator.aws.stack import desired_from_stack
from generator.model import lifecycle
from generator.reconcile import desired, diff, report

POLICY = lifecycle.parse({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20}, "action": {"type": "expire"}}]})


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")


@pytest.fixture()
def ecr() -> Iterator[tuple[Any, Stubber, aws_ecr.CallCounter]]:
    ecr = client("ecr")
    counter = aws_ecr.CallCounter()
    counter.attach(ecr)  # before the Stubber, which answers in the same event
    with Stubber(ecr) as stub:
        yield ecr, stub, counter
        stub.assert_no_pending_responses()


def repo(name: str, mutability: str = "MUTABLE", scan: bool = False) -> dict[str, Any]:
    return {"repositoryName": name, "imageTagMutability": mutability,
            "imageScanningConfiguration": {"scanOnPush": scan}}


def not_found(stub: Stubber, names: list[str], message: str) -> None:
    stub.add_client_error("describe_repositories", "RepositoryNotFoundException", message,
                          expected_params={"repositoryNames": names})


def test_list_stack_resources_is_read_page_by_page() -> None:
    cfn = client("cloudformation")
    body = {"Resources": {f"R{i}": {"Type": "AWS::ECR::Repository", "Metadata": {"ecrgen": {
        "imageTagMutability": "IMMUTABLE", "scanOnPush": True, "lifecyclePolicy": None}}} for i in range(3)}}
    page = [{"LogicalResourceId": f"R{i}", "PhysicalResourceId": f"repo-{i}", "ResourceType": "AWS::ECR::Repository",
             "ResourceStatus": "CREATE_COMPLETE", "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"} for i in range(3)]
    with Stubber(cfn) as stub:
        stub.add_response("get_template", {"TemplateBody": json.dumps(body)},
                          {"StackName": "s", "TemplateStage": "Processed"})
        stub.add_response("list_stack_resources", {"StackResourceSummaries": page[:2], "NextToken": "t"},
                          {"StackName": "s"})
        stub.add_response("list_stack_resources", {"StackResourceSummaries": page[2:]},
                          {"StackName": "s", "NextToken": "t"})
        settings = desired_from_stack(cfn, "s")
    assert [s.name for s in settings] == ["repo-0", "repo-1", "repo-2"]
    assert {s.image_tag_mutability for s in settings} == {"IMMUTABLE"}


def test_names_go_100_to_a_call(ecr: Any) -> None:
    client_, stub, counter = ecr
    names = [f"r{i:03}" for i in range(250)]
    for start, end in ((0, 100), (100, 200), (200, 250)):
        stub.add_response("describe_repositories", {"repositories": [repo(n) for n in names[start:end]]},
                          {"repositoryNames": names[start:end]})
    state = aws_ecr.read(client_, names, set(), concurrency=1)
    assert set(state.repositories) == set(names) and not state.missing
    assert counter.counts == {"DescribeRepositories": 3}


def test_missing_names_named_by_ecr_cost_one_call_each(ecr: Any) -> None:
    client_, stub, counter = ecr
    not_found(stub, ["aa", "bb", "cc", "dd"], "The repository with name 'bb' does not exist in the registry")
    not_found(stub, ["aa", "cc", "dd"], "The repository with name 'dd' does not exist in the registry")
    stub.add_response("describe_repositories", {"repositories": [repo("aa"), repo("cc")]},
                      {"repositoryNames": ["aa", "cc"]})
    state = aws_ecr.read(client_, ["aa", "bb", "cc", "dd"], set(), concurrency=1)
    assert (set(state.repositories), state.missing) == ({"aa", "cc"}, {"bb", "dd"})
    assert counter.counts["DescribeRepositories"] == 3


def test_missing_names_not_named_are_found_by_halving(ecr: Any) -> None:
    client_, stub, _ = ecr
    not_found(stub, ["aa", "bb", "cc", "dd"], "not found")
    stub.add_response("describe_repositories", {"repositories": [repo("aa"), repo("bb")]},
                      {"repositoryNames": ["aa", "bb"]})
    not_found(stub, ["cc", "dd"], "not found")
    stub.add_response("describe_repositories", {"repositories": [repo("cc")]}, {"repositoryNames": ["cc"]})
    not_found(stub, ["dd"], "not found")
    state = aws_ecr.read(client_, ["aa", "bb", "cc", "dd"], set(), concurrency=1)
    assert (set(state.repositories), state.missing, state.errors) == ({"aa", "bb", "cc"}, {"dd"}, {})


def test_policies_are_read_only_where_wanted_and_a_denied_read_fails_that_repository(ecr: Any) -> None:
    client_, stub, counter = ecr
    stub.add_response("describe_repositories", {"repositories": [repo("aa"), repo("bb"), repo("cc")]},
                      {"repositoryNames": ["aa", "bb", "cc"]})
    stub.add_response("get_lifecycle_policy", {"lifecyclePolicyText": POLICY.to_text()}, {"repositoryName": "aa"})
    stub.add_client_error("get_lifecycle_policy", "AccessDeniedException", "denied", expected_params={
        "repositoryName": "bb"})
    state = aws_ecr.read(client_, ["aa", "bb", "cc"], {"aa", "bb"}, concurrency=1)
    assert state.repositories["aa"].lifecycle_text == POLICY.to_text()
    assert state.errors == {"bb": "AccessDeniedException: denied"}
    assert counter.counts == {"DescribeRepositories": 1, "GetLifecyclePolicy": 2}


def test_repository_policies_are_read_only_where_wanted_none_is_no_policy_and_denied_fails(ecr: Any) -> None:
    client_, stub, counter = ecr
    arn = "arn:aws:ecr:us-east-1:123456789012:repository/"
    stub.add_response("describe_repositories", {"repositories": [
        {**repo(name), "repositoryArn": arn + name} for name in ("aa", "bb", "cc", "dd")]},
        {"repositoryNames": ["aa", "bb", "cc", "dd"]})
    stub.add_response("get_lifecycle_policy", {"lifecyclePolicyText": POLICY.to_text()}, {"repositoryName": "aa"})
    stub.add_response("get_repository_policy", {"policyText": '{"Statement": []}'}, {"repositoryName": "aa"})
    stub.add_client_error("get_repository_policy", "RepositoryPolicyNotFoundException", "none",
                          expected_params={"repositoryName": "bb"})
    stub.add_client_error("get_repository_policy", "AccessDeniedException", "denied",
                          expected_params={"repositoryName": "cc"})
    state = aws_ecr.read(client_, ["aa", "bb", "cc", "dd"], {"aa"}, concurrency=1,
                         repository_policy_wanted={"aa", "bb", "cc"})
    assert state.repositories["aa"].lifecycle_text == POLICY.to_text()
    assert state.repositories["aa"].repository_policy_text == '{"Statement": []}'
    assert state.repositories["bb"].repository_policy_text is None and "bb" not in state.errors
    assert state.repositories["dd"].arn == arn + "dd"
    assert state.errors == {"cc": "AccessDeniedException: denied"}
    assert counter.counts == {"DescribeRepositories": 1, "GetLifecyclePolicy": 1, "GetRepositoryPolicy": 3}


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_one_failed_write_is_recorded_while_the_others_are_applied(ecr: Any, code: str) -> None:
    client_, stub, counter = ecr
    wishes = [desired.RepositorySettings(n, "test", "IMMUTABLE") for n in ("aa", "bb", "cc")]
    state = diff.LiveState({n: diff.LiveRepository(n, "MUTABLE") for n in ("aa", "bb", "cc")})
    plan = diff.plan(wishes, state)
    for name in ("aa", "bb", "cc"):
        params = {"repositoryName": name, "imageTagMutability": "IMMUTABLE"}
        if name == "bb":
            stub.add_client_error("put_image_tag_mutability", code, "no", expected_params=params)
        else:
            stub.add_response("put_image_tag_mutability", {}, params)
    result = report.build(plan, aws_ecr.apply(client_, plan.changes, concurrency=1), counter.counts)
    assert [(r["repositoryName"], r["status"], r["changes"][0]["error"]) for r in result["repositories"]] == [
        ("aa", "changed", None), ("bb", "failed", f"{code}: no"), ("cc", "changed", None)]
    assert report.exit_code(result, check=False) == 1
    assert result["summary"]["apiCalls"] == {"PutImageTagMutability": 3}


def test_throttling_is_ridden_out_by_botocore_retries_and_counted_once(aws: str) -> None:
    """Each write is throttled on its first attempt; the standard retry mode gets it through."""
    ecr = make_client("ecr")
    counter = aws_ecr.CallCounter()
    counter.attach(ecr)
    attempts: list[str] = []

    def throttle_first(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(request.headers["X-Amz-Target"].decode())
        if attempts.count(attempts[-1]) % 2 == 1 and b"Put" in request.headers["X-Amz-Target"]:
            body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))
        return None

    ecr.create_repository(repositoryName="throttled")
    ecr.meta.events.register("before-send.ecr", throttle_first)
    wishes = [desired.RepositorySettings("throttled", "test", "IMMUTABLE", scan_on_push=True)]
    plan = diff.plan(wishes, aws_ecr.read(ecr, ["throttled"], set(), concurrency=2))
    results = aws_ecr.apply(ecr, plan.changes, concurrency=2)
    assert list(results.values()) == [None, None]
    live = ecr.describe_repositories(repositoryNames=["throttled"])["repositories"][0]
    assert (live["imageTagMutability"], live["imageScanningConfiguration"]["scanOnPush"]) == ("IMMUTABLE", True)
    assert counter.counts["PutImageTagMutability"] == counter.counts["PutImageScanningConfiguration"] == 1
    assert sum("Put" in a for a in attempts) == 4  # two HTTP attempts per write


class _Raw:
    """The file-like body botocore reads from a response."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body


def test_a_denied_name_fails_alone_and_throttling_fails_its_batch_without_splitting(ecr: Any) -> None:
    client_, stub, counter = ecr
    stub.add_client_error("describe_repositories", "AccessDeniedException", "not authorized",
                          expected_params={"repositoryNames": ["aa", "bb"]})
    stub.add_response("describe_repositories", {"repositories": [repo("aa")]}, {"repositoryNames": ["aa"]})
    stub.add_client_error("describe_repositories", "AccessDeniedException", "not authorized",
                          expected_params={"repositoryNames": ["bb"]})
    state = aws_ecr.read(client_, ["aa", "bb"], set(), concurrency=1)
    assert (set(state.repositories), state.errors) == ({"aa"}, {"bb": "AccessDeniedException: not authorized"})

    stub.add_client_error("describe_repositories", "ThrottlingException", "Rate exceeded",
                          expected_params={"repositoryNames": ["aa", "bb"]})
    state = aws_ecr.read(client_, ["aa", "bb"], set(), concurrency=1)
    assert state.errors == dict.fromkeys(["aa", "bb"], "ThrottlingException: Rate exceeded")
    assert counter.counts["DescribeRepositories"] == 4
