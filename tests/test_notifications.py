"""`notifications:` end to end: the template deployed to moto, AWS's own sample events put on the bus.

The sample events are the documented ones: "Event for a completed image scan" in the Amazon ECR
User Guide (Amazon ECR events and EventBridge) and the "Amazon ECR package vulnerability finding"
`Inspector2 Finding` in the Amazon Inspector User Guide (EventBridge event schema), with only the
repository, severity and status changed per case.

What moto can and cannot do here: its CloudFormation deploys the topic, the email subscription
and the rules with every intrinsic resolved, and its EventBridge evaluates the patterns as
deployed (`$or`, `numeric`, `prefix` on the `resources` array). It skips AWS::SNS::TopicPolicy
(checked in the template instead) and cannot deliver to an SNS target (PutEvents fails with
NotImplementedError), so each deployed rule's target is re-pointed at an SQS queue with the
deployed input transformer unchanged, and the queue receives what the topic would publish.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.model import config, notifications
from generator.render import template

ACCOUNT, REGION = "123456789012", "us-east-1"
ECR_SCAN_SAMPLE = {
    "version": "0", "id": "85fc3613-e913-7fc4-a80c-a3753e4aa9ae", "detail-type": "ECR Image Scan",
    "source": "aws.ecr", "account": "123456789012", "time": "2019-10-29T02:36:48Z", "region": "us-east-1",
    "resources": ["arn:aws:ecr:us-east-1:123456789012:repository/my-repo"],
    "detail": {"scan-status": "COMPLETE", "repository-name": "my-repo",
               "finding-severity-counts": {"CRITICAL": 10, "MEDIUM": 9},
               "image-digest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
               "image-tags": []},
}
IMAGE_ARN = ("arn:aws:ecr:eu-central-1:123456789012:repository/inspector2/"
             "sha256:84f507df33c6864d49c296fb734192696e4cb6f78166ac51ac8b9b118181085d")
INSPECTOR_SAMPLE = {
    "version": "0", "id": "5325facf-a1aa-7d97-6bce-25fde6f6d2fc", "detail-type": "Inspector2 Finding",
    "source": "aws.inspector2", "account": "123456789012", "time": "2024-09-04T16:55:38Z",
    "region": "eu-central-1", "resources": [IMAGE_ARN],
    "detail": {
        "awsAccountId": "123456789012", "description": "Possible denial of service in X.509 name checks",
        "exploitAvailable": "NO", "findingArn": "arn:aws:inspector2:eu-central-1:123456789012:finding/FINDING_ID",
        "fixAvailable": "YES",
        "packageVulnerabilityDetails": {
            "source": "UBUNTU_CVE", "vendorSeverity": "medium", "vulnerabilityId": "CVE-2024-6119",
            "vulnerablePackages": [{"arch": "ARM64", "epoch": 0, "fixedInVersion": "0:3.0.13-0ubuntu3.4",
                                    "name": "libssl3t64", "packageManager": "OS", "version": "3.0.13"}]},
        "resources": [{"details": {"awsEcrContainerImage": {
            "architecture": "arm64", "imageHash": IMAGE_ARN.rsplit("/", 1)[1], "imageTags": ["ubuntu_latest"],
            "platform": "UBUNTU_24_04", "registry": "123456789012", "repositoryName": "inspector2"}},
            "id": IMAGE_ARN, "partition": "aws", "region": "eu-central-1", "type": "AWS_ECR_CONTAINER_IMAGE"}],
        "severity": "MEDIUM", "status": "ACTIVE", "title": "CVE-2024-6119 - libssl3t64, openssl",
        "type": "PACKAGE_VULNERABILITY"},
}
CONFIG = """\
system_name: shop
outputs: []
notifications:
  min_severity: HIGH
  topic: create
  email: [team@example.com]
  scan_types: [BASIC, ENHANCED]
repositories:
  - name: web
  - name: api
"""


def scan_event(repository: str, counts: dict[str, int]) -> dict[str, Any]:
    event = copy.deepcopy(ECR_SCAN_SAMPLE)
    event["detail"].update({"repository-name": repository, "finding-severity-counts": counts})
    event["resources"] = [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}"]
    return event


def inspector_event(repository: str, severity: str, status: str = "ACTIVE") -> dict[str, Any]:
    event = copy.deepcopy(INSPECTOR_SAMPLE)
    arn = IMAGE_ARN.replace("eu-central-1", REGION).replace("/inspector2/", f"/{repository}/")
    event["resources"] = [arn]
    event["detail"].update({"severity": severity, "status": status})
    event["detail"]["resources"][0]["id"] = arn
    event["detail"]["resources"][0]["details"]["awsEcrContainerImage"]["repositoryName"] = repository
    return event


def put(events: Any, *samples: dict[str, Any]) -> None:
    entries = [{"Source": s["source"], "DetailType": s["detail-type"], "Detail": json.dumps(s["detail"]),
                "Resources": s["resources"]} for s in samples]
    response = events.put_events(Entries=entries)
    assert response["FailedEntryCount"] == 0


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        messages.extend(json.loads(m["Body"]) for m in batch)
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return messages


def retarget_to_queue(events: Any, rule: str, queue_arn: str) -> dict[str, Any]:
    """Swap the rule's SNS target for the queue, keeping the deployed input transformer."""
    target, = events.list_targets_by_rule(Rule=rule)["Targets"]
    events.remove_targets(Rule=rule, Ids=[target["Id"]])
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn,
                                            "InputTransformer": target["InputTransformer"]}])
    return target


@pytest.fixture()
def deployed(aws: str, ecrgen, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    result = ecrgen("template", "--config", "ecr.yaml", "--out", "t.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=(tmp_path / "t.yaml").read_text())
    assert cfn.describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    ids = {r["LogicalResourceId"]: r["PhysicalResourceId"]
           for r in cfn.list_stack_resources(StackName="shop")["StackResourceSummaries"]}
    return {"topic": ids["EcrgenFindingsTopic"], "basic": ids["EcrgenScanFindingsRule"],
            "enhanced": ids["EcrgenInspectorFindingsRule"]}


def test_findings_at_or_above_the_threshold_in_these_repositories_arrive(deployed) -> None:
    events, sqs, sns = boto3.client("events"), boto3.client("sqs"), boto3.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=deployed["topic"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "team@example.com")]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for kind in ("basic", "enhanced"):
        assert retarget_to_queue(events, deployed[kind], queue_arn)["Arn"] == deployed["topic"]

    put(events,
        scan_event("shop-ecr-web", {"CRITICAL": 10, "MEDIUM": 9}),   # the documented counts: arrives
        scan_event("shop-ecr-api", {"HIGH": 1}),                     # arrives
        scan_event("shop-ecr-web", {"MEDIUM": 9, "LOW": 3}),         # below HIGH
        scan_event("shop-ecr-web", {"HIGH": 0}),                     # a zero count is no finding
        ECR_SCAN_SAMPLE,                                             # another repository (my-repo)
        inspector_event("shop-ecr-api", "CRITICAL"),                 # arrives
        inspector_event("shop-ecr-web", "MEDIUM"),                   # below HIGH
        inspector_event("shop-ecr-web", "HIGH", status="CLOSED"),    # a closed finding
        inspector_event("inspector2", "HIGH"),                       # another repository
        INSPECTOR_SAMPLE)                                            # the sample as documented
    messages = drain(sqs, url)
    arrived = sorted((m["repository"], json.dumps(m.get("severityCounts", {})), m.get("severity", ""))
                     for m in messages)
    assert arrived == [("shop-ecr-api", '{"HIGH": 1}', ""),
                       ("shop-ecr-api", "{}", "CRITICAL"),
                       ("shop-ecr-web", '{"CRITICAL": 10, "MEDIUM": 9}', "")]
    scan = next(m for m in messages if m["repository"] == "shop-ecr-web")
    digest = ECR_SCAN_SAMPLE["detail"]["image-digest"]
    assert scan == {
        "message": "Amazon ECR image scan: shop-ecr-web has findings at or above HIGH",
        "repository": "shop-ecr-web", "imageTags": [], "imageDigest": digest,
        "severityCounts": {"CRITICAL": 10, "MEDIUM": 9}, "scannedAt": scan["scannedAt"],
        "console": f"https://{REGION}.console.aws.amazon.com/ecr/repositories/private/{ACCOUNT}/shop-ecr-web"
                   f"/_/image/{digest}/details?region={REGION}"}
    finding = next(m for m in messages if m.get("severity"))
    assert finding["message"] == "Amazon Inspector: CRITICAL finding CVE-2024-6119 - libssl3t64, openssl in shop-ecr-api"
    assert finding["imageTags"] == ["ubuntu_latest"] and finding["fixAvailable"] == "YES"


def test_the_created_topic_lets_these_rules_publish_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    data = template.build(config.load(tmp_path / "ecr.yaml")).to_dict()["Resources"]
    statement, = data["EcrgenFindingsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Resource"] == {"Ref": "EcrgenFindingsTopic"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": [
        {"Fn::GetAtt": ["EcrgenScanFindingsRule", "Arn"]}, {"Fn::GetAtt": ["EcrgenInspectorFindingsRule", "Arn"]}]}}
    assert data["EcrgenFindingsTopicPolicy"]["Properties"]["Topics"] == [{"Ref": "EcrgenFindingsTopic"}]


def test_an_existing_topic_is_targeted_and_left_alone(tmp_path: Path) -> None:
    arn = "arn:aws:sns:us-east-1:123456789012:alerts"
    (tmp_path / "ecr.yaml").write_text(CONFIG.replace("topic: create", f"topic: {arn}").replace(
        "  email: [team@example.com]\n", "").replace("[BASIC, ENHANCED]", "[BASIC]"))
    data = template.build(config.load(tmp_path / "ecr.yaml")).to_dict()["Resources"]
    added = sorted(name for name in data if not name.startswith("Ecr") or name.startswith("Ecrgen"))
    assert added == ["EcrgenScanFindingsRule"]
    assert data["EcrgenScanFindingsRule"]["Properties"]["Targets"][0]["Arn"] == arn


def as_deployed(value: Any, names: dict[str, str] | None = None) -> Any:
    """The pattern as CloudFormation resolves it in this account and region (`names`: logical -> physical)."""
    names = names or {}
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return names[value["Ref"]]
    if isinstance(value, dict) and list(value) == ["Fn::Sub"]:
        text = re.sub(r"\$\{(\w+)\.Arn\}", lambda m: f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{names[m[1]]}",
                      value["Fn::Sub"])
        return (text.replace("${SystemName}", "shop").replace("${AWS::Partition}", "aws")
                .replace("${AWS::Region}", REGION).replace("${AWS::AccountId}", ACCOUNT))
    if isinstance(value, dict):
        return {key: as_deployed(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [as_deployed(item, names) for item in value]
    return value


def many_repositories(count: int) -> str:
    entries = "\n".join(f"  - name: service-{i:03}" for i in range(count))
    return CONFIG.replace("  - name: web\n  - name: api\n", entries + "\n")


def test_hundreds_of_repositories_are_matched_by_namespace_within_the_size_limit(aws: str, tmp_path: Path) -> None:
    """300 names do not fit one pattern: the rules match the namespace prefix, and moto agrees."""
    (tmp_path / "ecr.yaml").write_text(many_repositories(300))
    resources = template.build(config.load(tmp_path / "ecr.yaml")).to_dict()["Resources"]
    events, sqs = boto3.client("events"), boto3.client("sqs")
    url = sqs.create_queue(QueueName="many")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for logical_id in ("EcrgenScanFindingsRule", "EcrgenInspectorFindingsRule"):
        text = json.dumps(as_deployed(resources[logical_id]["Properties"]["EventPattern"]))
        assert len(text) <= notifications.MAX_PATTERN_CHARS
        assert "service-001" not in text and "shop-ecr-" in text
        events.put_rule(Name=logical_id, EventPattern=text)
        events.put_targets(Rule=logical_id, Targets=[{"Id": "q", "Arn": queue_arn}])
    put(events, scan_event("shop-ecr-service-299", {"HIGH": 2}), scan_event("other-ecr-service-1", {"HIGH": 2}),
        inspector_event("shop-ecr-service-150", "CRITICAL"), inspector_event("shop-web", "CRITICAL"))
    arrived = sorted(m["detail"].get("repository-name") or m["resources"][0].split("/")[1]
                     for m in drain(sqs, url))
    assert arrived == ["shop-ecr-service-150", "shop-ecr-service-299"]


def test_a_few_repositories_are_listed_by_name(tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text(many_repositories(12))
    resources = template.build(config.load(tmp_path / "ecr.yaml")).to_dict()["Resources"]
    pattern = resources["EcrgenScanFindingsRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["repository-name"][:2] == [{"Ref": "EcrService000"}, {"Ref": "EcrService001"}]
    assert pattern["detail"]["$or"] == [{"finding-severity-counts": {"CRITICAL": [{"numeric": [">", 0]}]}},
                                        {"finding-severity-counts": {"HIGH": [{"numeric": [">", 0]}]}}]


def test_critical_alone_needs_no_or() -> None:
    assert notifications.scan_pattern(["a"], ["CRITICAL"])["detail"] == {
        "scan-status": ["COMPLETE"], "repository-name": ["a"],
        "finding-severity-counts": {"CRITICAL": [{"numeric": [">", 0]}]}}


def test_many_repositories_without_a_namespace_are_bad_input(ecrgen, tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text(many_repositories(300).replace("outputs: []", 'outputs: []\nname_pattern: "{name}"'))
    result = ecrgen("template", "--config", "ecr.yaml", "--out", "t.yaml", cwd=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "t.yaml").exists()
    assert "300 repository names do not fit one EventBridge pattern" in result.stderr
    assert "Traceback" not in result.stderr


@settings(max_examples=12, deadline=None)
@given(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,39}", fullmatch=True), min_size=1, max_size=450, unique=True),
       st.sampled_from(["HIGH", "LOW", "CRITICAL"]))
def test_every_pattern_fits_eventbridge_whatever_the_repositories(names: list[str], severity: str) -> None:
    text = (CONFIG.replace("min_severity: HIGH", f"min_severity: {severity}")
            .replace("  - name: web\n  - name: api\n", "".join(f"  - name: {n}\n" for n in names)))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ecr.yaml").write_text(text)
        loaded = config.load(Path(tmp) / "ecr.yaml")
    resources = template.build(loaded).to_dict()["Resources"]
    physical = {repo.logical_id: repo.physical_name("shop") for repo in loaded.repositories}
    for logical_id in ("EcrgenScanFindingsRule", "EcrgenInspectorFindingsRule"):
        pattern = as_deployed(resources[logical_id]["Properties"]["EventPattern"], physical)
        assert len(json.dumps(pattern)) <= notifications.MAX_PATTERN_CHARS
