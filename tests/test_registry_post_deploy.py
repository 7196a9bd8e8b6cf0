"""`ecrgen post-deploy` with `registry:` end to end: moto on 127.0.0.1 behind the loopback proxy.

moto keeps the registry scanning configuration and policy but refuses a second replication rule,
so the proxy answers DescribeRegistry and PutReplicationConfiguration from an in-memory document
(`FakeReplication`): another team's rule and ours can then live side by side, as in ECR.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.base import template_body
from generator.lint.runner import lint_text
from generator.model import config
from generator.render import template
from tests.conftest import post_deploy_json
from tests.fault_proxy import FaultProxy, Faults, fault_proxy

__all__ = ["fault_proxy"]  # the fixture, imported for pytest

ACCOUNT = "123456789012"  # moto's
CONFIG = """\
system_name: myapp
repositories:
  - name: web
  - name: api
registry:
  scanning:
    scan_on_push: ["${SystemName}-ecr-web", "${SystemName}-ecr-api"]
  replication:
    - destinations: [{region: eu-west-1}]
      prefixes: ["${SystemName}-ecr-"]
  policy_statements:
    - Sid: ecrgen-${SystemName}-ReplicateIn
      Effect: Allow
      Principal: {AWS: "arn:aws:iam::111122223333:root"}
      Action: [ecr:ReplicateImage]
      Resource: "arn:aws:ecr:us-east-1:123456789012:repository/${SystemName}-ecr-*"
"""
THEIR_FILTER = {"filter": "team-b-*", "filterType": "WILDCARD"}
THEIR_RULE = {"destinations": [{"region": "us-west-2", "registryId": ACCOUNT}],
              "repositoryFilters": [{"filter": "team-b-", "filterType": "PREFIX_MATCH"}]}
THEIR_STATEMENT = {"Sid": "TeamBReplicateIn", "Effect": "Allow",
                   "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                   "Action": ["ecr:ReplicateImage"], "Resource": "*"}
OUR_RULE = {"destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}],
            "repositoryFilters": [{"filter": "myapp-ecr-", "filterType": "PREFIX_MATCH"}]}
REGISTRY_READS = {"GetRegistryScanningConfiguration", "DescribeRegistry", "GetRegistryPolicy"}


class FakeReplication:
    """The account's replication configuration, kept by the proxy instead of moto."""

    def __init__(self, proxy: FaultProxy, rules: list[dict[str, Any]]) -> None:
        self.rules = rules
        self.puts = 0
        self._lock = threading.Lock()
        proxy.intercept("DescribeRegistry", self.describe)
        proxy.intercept("PutReplicationConfiguration", self.put)

    def describe(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"registryId": ACCOUNT, "replicationConfiguration": {"rules": self.rules}}

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.rules = body["replicationConfiguration"]["rules"]
            self.puts += 1
            return {"replicationConfiguration": body["replicationConfiguration"]}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    return tmp_path


@pytest.fixture()
def ecr(aws: str) -> Any:
    """moto's ECR, reached directly (not through the proxy): the other teams' side."""
    return boto3.client("ecr", endpoint_url=aws)


@pytest.fixture()
def shared(ecr: Any, fault_proxy: FaultProxy) -> FakeReplication:
    """A registry that already holds another team's scan filter, replication rule and statement."""
    for name in ("myapp-ecr-web", "myapp-ecr-api"):
        ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE",
                              imageScanningConfiguration={"scanOnPush": True})
    ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [THEIR_FILTER]}])
    ecr.put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [THEIR_STATEMENT]}))
    return FakeReplication(fault_proxy, [THEIR_RULE])


def scan_filters(ecr: Any) -> list[dict[str, str]]:
    rules = ecr.get_registry_scanning_configuration()["scanningConfiguration"]["rules"]
    assert [r["scanFrequency"] for r in rules] == ["SCAN_ON_PUSH"]
    return rules[0]["repositoryFilters"]


def statements(ecr: Any) -> list[dict[str, Any]]:
    return json.loads(ecr.get_registry_policy()["policyText"])["Statement"]


def test_adds_its_part_keeps_theirs_then_only_reads(ecr: Any, shared: FakeReplication,
                                                    fault_proxy: FaultProxy, project: Path) -> None:
    first = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    assert first["registry"]["status"] == "changed"
    assert {c["setting"]: c["status"] for c in first["registry"]["changes"]} == {
        "scanning": "applied", "replication": "applied", "registryPolicy": "applied"}

    ours = [{"filter": "myapp-ecr-web", "filterType": "WILDCARD"}, {"filter": "myapp-ecr-api", "filterType": "WILDCARD"}]
    assert json.dumps(scan_filters(ecr)) == json.dumps([THEIR_FILTER, *ours])  # theirs byte for byte, first
    assert json.dumps(shared.rules) == json.dumps([THEIR_RULE, OUR_RULE])
    assert json.dumps(statements(ecr)[0]) == json.dumps(THEIR_STATEMENT)
    assert [s["Sid"] for s in statements(ecr)] == ["TeamBReplicateIn", "ecrgen-myapp-ReplicateIn"]
    assert {s["repositoryName"]: (s["frequency"], s["status"]) for s in first["registry"]["scanning"]} == {
        "myapp-ecr-web": ("SCAN_ON_PUSH", "ok"), "myapp-ecr-api": ("SCAN_ON_PUSH", "ok")}

    fault_proxy.configure(Faults())  # forget the first run's requests
    again = post_deploy_json("--config", "ecr.yaml", "--check", cwd=project, code=0)
    assert again["registry"] == {**again["registry"], "status": "in-sync", "changes": []}
    calls = again["summary"]["apiCalls"]
    assert {op: n for op, n in calls.items() if op in REGISTRY_READS} == dict.fromkeys(REGISTRY_READS, 1)
    assert not [op for op in fault_proxy.counts() if op.startswith("Put")]  # the benchmark: 3 reads, 0 writes


def test_removing_a_filter_removes_exactly_it(ecr: Any, shared: FakeReplication,
                                              project: Path) -> None:
    post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    policy_before, rules_before = statements(ecr), shared.rules
    (project / "ecr.yaml").write_text(CONFIG.replace(', "${SystemName}-ecr-api"', ""))

    # The api repository still wants scan on push, but now that the registry has filters its
    # repository-level setting no longer counts and no filter matches it: drift, exit 1, and why.
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=1)
    assert [c["setting"] for c in report["registry"]["changes"]] == ["scanning"]
    assert scan_filters(ecr) == [THEIR_FILTER, {"filter": "myapp-ecr-web", "filterType": "WILDCARD"}]
    assert statements(ecr) == policy_before and shared.rules == rules_before
    drift = {s["repositoryName"]: s for s in report["registry"]["scanning"] if s["status"] == "drift"}
    assert list(drift) == ["myapp-ecr-api"]
    assert "no BASIC scan-on-push filter matches" in drift["myapp-ecr-api"]["reason"]


def test_dry_run_shows_each_document_before_and_after_and_writes_nothing(
        ecrgen: Any, ecr: Any, shared: FakeReplication, fault_proxy: FaultProxy, project: Path) -> None:
    result = ecrgen("post-deploy", "--config", "ecr.yaml", "--dry-run", cwd=project)
    assert result.returncode == 0, result.stderr
    for setting in ("scanning", "replication", "registryPolicy"):
        assert f"registry {setting}: planned" in result.stdout
    assert '"filter":"team-b-*"' in result.stdout and '"filter":"myapp-ecr-web"' in result.stdout
    assert not [op for op in fault_proxy.counts() if op.startswith("Put")]
    assert scan_filters(ecr) == [THEIR_FILTER] and shared.puts == 0
    assert ecrgen("post-deploy", "--config", "ecr.yaml", "--check", cwd=project).returncode == 1


def test_a_writer_between_read_and_write_keeps_its_part(ecr: Any, shared: FakeReplication,
                                                        fault_proxy: FaultProxy, project: Path) -> None:
    """Team C adds a statement after ecrgen planned from its first read, and team D replaces the
    scanning document (dropping ecrgen's filters) right after ecrgen wrote it. Both survive."""
    team_c = {**THEIR_STATEMENT, "Sid": "TeamC"}
    team_d = {"filter": "team-d-*", "filterType": "WILDCARD"}
    seen = {"policy": 0, "scanning": 0}

    def policy_read(body: dict[str, Any]) -> None:
        seen["policy"] += 1
        if seen["policy"] == 2:  # ecrgen's read just before its write
            doc = json.loads(ecr.get_registry_policy()["policyText"])
            ecr.put_registry_policy(policyText=json.dumps({**doc, "Statement": [*doc["Statement"], team_c]}))

    def scanning_read(body: dict[str, Any]) -> None:
        seen["scanning"] += 1
        if seen["scanning"] == 3:  # ecrgen's read-back: another team's put has just replaced its write
            ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[
                {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [THEIR_FILTER, team_d]}])

    fault_proxy.intercept("GetRegistryPolicy", policy_read)
    fault_proxy.intercept("GetRegistryScanningConfiguration", scanning_read)
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)

    assert report["registry"]["status"] == "changed"
    assert [s["Sid"] for s in statements(ecr)] == ["TeamBReplicateIn", "TeamC", "ecrgen-myapp-ReplicateIn"]
    assert [f["filter"] for f in scan_filters(ecr)] == ["team-b-*", "team-d-*", "myapp-ecr-web", "myapp-ecr-api"]
    assert fault_proxy.counts()["PutRegistryScanningConfiguration"] == 2  # merged again, once
    assert fault_proxy.counts()["PutRegistryPolicy"] == 1


def test_basic_would_break_another_teams_continuous_scanning(ecr: Any, shared: FakeReplication,
                                                             project: Path) -> None:
    theirs = [{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [THEIR_FILTER]}]
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=theirs)
    (project / "ecr.yaml").write_text(CONFIG.replace("  scanning:\n", "  scanning:\n    type: BASIC\n"))

    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=1)
    failed = [c for c in report["registry"]["changes"] if c["status"] == "failed"]
    assert [c["setting"] for c in failed] == ["scanning"]
    assert "would break the registry's CONTINUOUS_SCAN rule" in failed[0]["error"]
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {
        "scanType": "ENHANCED", "rules": theirs}
    assert report["registry"]["status"] == "failed"


def test_stack_route_reads_the_registry_part_from_the_template(ecr: Any, shared: FakeReplication,
                                                               project: Path) -> None:
    for name in ("myapp-ecr-web", "myapp-ecr-api"):
        ecr.delete_repository(repositoryName=name)  # the stack creates them
    (project / "ecr.yaml").write_text(CONFIG + "post_deploy_policy: true\n")
    body = template.render(template.build(config.load(project / "ecr.yaml")))
    granted = {action for s in template_body.parse(body, "t")["Resources"][template.POST_DEPLOY_POLICY_ID][
        "Properties"]["PolicyDocument"]["Statement"] for action in s["Action"]}
    boto3.client("cloudformation").create_stack(StackName="myapp", TemplateBody=body)
    from_stack = post_deploy_json("--stack-name", "myapp", "--dry-run", cwd=project, code=0)
    from_config = post_deploy_json("--config", "ecr.yaml", "--dry-run", cwd=project, code=0)
    assert from_stack["registry"] == from_config["registry"]
    assert from_stack["summary"]["apiCalls"]["GetTemplate"] == 1

    applied = post_deploy_json("--stack-name", "myapp", cwd=project, code=0)
    service = {"GetTemplate": "cloudformation", "ListStackResources": "cloudformation",
               "DescribeStacks": "cloudformation"}
    assert {f"{service.get(call, 'ecr')}:{call}" for call in applied["summary"]["apiCalls"]} <= granted
    assert [f["filter"] for f in scan_filters(ecr)] == ["team-b-*", "myapp-ecr-web", "myapp-ecr-api"]
    assert shared.rules == [THEIR_RULE, OUR_RULE]
    assert post_deploy_json("--stack-name", "myapp", "--check", cwd=project, code=0)["registry"]["status"] == "in-sync"


def test_throttled_registry_calls_are_retried_by_botocore(ecr: Any, shared: FakeReplication,
                                                          fault_proxy: FaultProxy, project: Path) -> None:
    registry_calls = REGISTRY_READS | {"PutRegistryScanningConfiguration", "PutReplicationConfiguration",
                                       "PutRegistryPolicy"}
    fault_proxy.configure(Faults(throttle_first=1, operations=frozenset(registry_calls)))
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    assert report["registry"]["status"] == "changed"
    assert fault_proxy.counts("ThrottlingException")["PutRegistryPolicy"] == 1
    assert [s["Sid"] for s in statements(ecr)] == ["TeamBReplicateIn", "ecrgen-myapp-ReplicateIn"]


# Another team's policy as `aws ecr get-registry-policy` shows one written by hand: its own spacing,
# and a value that is not ASCII.
THEIR_POLICY_TEXT = """{
  "Version" : "2012-10-17",
  "Statement" : [ {
    "Sid" : "TeamBReplicateIn",
    "Effect" : "Allow",
    "Principal" : { "AWS" : "arn:aws:iam::444455556666:root" },
    "Action" : [ "ecr:ReplicateImage" ],
    "Resource" : "*",
    "Condition" : { "StringEquals" : { "aws:PrincipalTag/team" : "équipe" } }
  } ]
}"""


def test_another_teams_policy_text_is_kept_byte_for_byte(ecr: Any, shared: FakeReplication,
                                                         project: Path) -> None:
    ecr.put_registry_policy(policyText=THEIR_POLICY_TEXT)
    post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    text = ecr.get_registry_policy()["policyText"]
    statement_start = THEIR_POLICY_TEXT.index("{\n    \"Sid\"")
    statement_end = THEIR_POLICY_TEXT.index("  } ]") + len("  }")
    assert text.startswith(THEIR_POLICY_TEXT[:statement_end])  # their bytes, up to their statement's end
    assert "équipe" in text and "\\u00e9" not in text
    assert [s["Sid"] for s in statements(ecr)] == ["TeamBReplicateIn", "ecrgen-myapp-ReplicateIn"]
    assert THEIR_POLICY_TEXT[statement_start:statement_end] in text
    assert post_deploy_json("--config", "ecr.yaml", "--check", cwd=project, code=0)["registry"]["status"] == "in-sync"


NESTED = """\
system_name: SYSTEM
name_pattern: "${SystemName}-{name}"
repositories:
  - name: web
registry:
  scanning:
    scan_on_push: ["${SystemName}-*"]
  replication:
    - destinations: [{region: eu-west-1}]
      prefixes: ["${SystemName}-"]
  policy_statements:
    - Sid: ecrgen-${SystemName}-ReplicateIn
      Effect: Allow
      Principal: {AWS: "arn:aws:iam::111122223333:root"}
      Action: [ecr:ReplicateImage]
      Resource: "*"
"""


def test_two_configs_whose_names_nest_never_undo_each_other(ecr: Any, fault_proxy: FaultProxy,
                                                            tmp_path: Path) -> None:
    """`shop` owns `shop-*` and `ecrgen-shop-...`, which look like they hold `shop-api`'s parts: run
    alternately, each adds its own part once, then neither writes again, and `shop` says why it
    leaves `shop-api`'s parts alone."""
    replication = FakeReplication(fault_proxy, [])
    for name in ("shop", "shop-api"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ecr.yaml").write_text(NESTED.replace("SYSTEM", name))
        ecr.create_repository(repositoryName=f"{name}-web")
    writes = []
    for name in ("shop", "shop-api", "shop", "shop-api", "shop"):
        fault_proxy.configure(Faults())
        report = post_deploy_json("--config", "ecr.yaml", cwd=tmp_path / name, code=0)
        writes.append(sorted(op for op in fault_proxy.counts() if op.startswith("Put")))
    assert writes[2:] == [[], [], []], writes
    assert [f["filter"] for f in scan_filters(ecr)] == ["shop-*", "shop-api-*"]
    assert [r["repositoryFilters"][0]["filter"] for r in replication.rules] == ["shop-", "shop-api-"]
    assert [s["Sid"] for s in statements(ecr)] == ["ecrgen-shop-ReplicateIn", "ecrgen-shop-api-ReplicateIn"]
    kept = {(k["setting"], k["item"]): k["reason"] for k in report["registry"]["kept"]}
    assert sorted(kept) == [("registryPolicy", "ecrgen-shop-api-ReplicateIn"), ("replication", "shop-api-"),
                            ("scanning", "shop-api-*")]
    assert all("SystemName 'shop-api'" in reason for reason in kept.values())
    assert report["registry"]["status"] == "in-sync"


def test_this_region_and_account_are_filled_in_and_never_a_destination(aws: str, tmp_path: Path) -> None:
    """moto, as ECR, refuses a replication rule whose destination is the registry itself; a
    statement's ${AWS::...} are this account's and region's. `template` lints it clean."""
    text = CONFIG.replace("{region: eu-west-1}", "{region: eu-west-1}, {region: us-east-1}").replace(
        "arn:aws:ecr:us-east-1:123456789012:repository/",
        "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/")
    (tmp_path / "ecr.yaml").write_text(text)
    for name in ("myapp-ecr-web", "myapp-ecr-api"):
        boto3.client("ecr").create_repository(repositoryName=name)
    report = post_deploy_json("--config", "ecr.yaml", cwd=tmp_path, code=0)
    assert [(s["setting"], s["item"], s["status"]) for s in report["registry"]["skipped"]] == [
        ("replication", "us-east-1", "skipped")]
    assert "this registry itself" in report["registry"]["skipped"][0]["reason"]
    ecr = boto3.client("ecr")
    [rule] = ecr.describe_registry()["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "eu-west-1", "registryId": ACCOUNT}]
    assert statements(ecr)[0]["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/myapp-ecr-*"
    assert post_deploy_json("--config", "ecr.yaml", "--check", cwd=tmp_path, code=0)["registry"]["status"] == "in-sync"

    for via in ("post-deploy", "template"):
        (tmp_path / "ecr.yaml").write_text(text.replace("registry:\n", f"registry:\n  via: {via}\n"))
        linted = [f.render() for f in lint_text(template.render(template.build(config.load(tmp_path / "ecr.yaml"))),
                                                "t.yaml") if f.level == "error"]
        assert linted == [], via


def test_the_stack_s_own_system_name_decides_its_namespace(ecr: Any, shared: FakeReplication,
                                                           project: Path, ecrgen: Any) -> None:
    """Deployed with `--parameter-overrides SystemName=other`: the registry part is `other`'s."""
    body = template.render(template.build(config.load(project / "ecr.yaml")))
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="other", TemplateBody=body,
                     Parameters=[{"ParameterKey": "SystemName", "ParameterValue": "other"}])
    report = post_deploy_json("--stack-name", "other", cwd=project, code=0)
    assert [r["repositoryName"] for r in report["repositories"]] == ["other-ecr-web", "other-ecr-api"]
    assert {s["repositoryName"]: s["status"] for s in report["registry"]["scanning"]} == {
        "other-ecr-web": "ok", "other-ecr-api": "ok"}
    assert [f["filter"] for f in scan_filters(ecr)] == ["team-b-*", "other-ecr-web", "other-ecr-api"]
    assert [s["Sid"] for s in statements(ecr)] == ["TeamBReplicateIn", "ecrgen-other-ReplicateIn"]
    assert report["summary"]["apiCalls"]["DescribeStacks"] == 1

    # A template from before Metadata kept ${SystemName} names the config's own: refused, not guessed.
    old = template_body.parse(body, "t")
    old["Metadata"] = json.loads(json.dumps(old["Metadata"]).replace("${!SystemName}", "myapp"))
    cfn.create_stack(StackName="old", TemplateBody=json.dumps(old),
                     Parameters=[{"ParameterKey": "SystemName", "ParameterValue": "old"}])
    refused = ecrgen("post-deploy", "--stack-name", "old", cwd=project)
    assert refused.returncode == 2
    assert "stack old: the stack was deployed with SystemName=old, but the registry part in its template's " \
           "Metadata.ecrgen names SystemName myapp" in refused.stderr
    assert "`ecrgen post-deploy --config ecr.yaml --system-name old`" in refused.stderr
