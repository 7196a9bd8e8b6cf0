"""post-deploy across a StackSet, end to end against moto: every account and region converges,
one account whose role cannot be assumed fails alone, and the calls stay minimal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from generator.model import config
from generator.render import template
from tests.conftest import load_yaml
from tests.fault_proxy import FaultProxy, Faults, RepositoryFault, fault_proxy

__all__ = ["fault_proxy"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parent.parent
OWN = "123456789012"  # moto's default account: the caller's own, used without AssumeRole
OTHERS = ["111111111111", "222222222222", "333333333333"]
REGIONS = ["us-east-1", "eu-west-1"]
ROLE = "AWSCloudFormationStackSetExecutionRole"
CONFIG = {
    "system_name": "myapp",
    "targets": {"stack_set": "myapp-ecr", "accounts": [OWN, *OTHERS], "regions": REGIONS},
    "defaults": {"image_tag_mutability": "IMMUTABLE", "scan_on_push": True,
                 "lifecycle": [{"tag_status": "any", "keep_last": 20}]},
    "repositories": [{"name": "web"}, {"name": "api"}, {"name": "worker"}],
}


def client(service: str, account: str, region: str) -> Any:
    """A client acting in `account`: moto tells accounts apart by the assumed role's key."""
    if account == OWN:
        return boto3.client(service, region_name=region)
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}",
                                            RoleSessionName="test")["Credentials"]
    return boto3.client(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


@pytest.fixture()
def stack_set(aws: str, tmp_path: Path) -> Path:
    """The StackSet deployed to 4 accounts x 2 regions; drift in two accounts; the ecr.yaml path."""
    path = tmp_path / "ecr.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    body = template.render(template.build(config.load(path)), "json")
    cfn = boto3.client("cloudformation")
    cfn.create_stack_set(StackSetName="myapp-ecr", TemplateBody=body)
    cfn.create_stack_instances(StackSetName="myapp-ecr", Accounts=[OWN, *OTHERS], Regions=REGIONS)
    # moto's StackSet instances create the repositories but leave their settings out: set them.
    policy = config.load(path).repositories[0].policy.to_text()  # type: ignore[union-attr]
    for account in [OWN, *OTHERS]:
        for region in REGIONS:
            ecr = client("ecr", account, region)
            for repo in CONFIG["repositories"]:
                name = f"myapp-ecr-{repo['name']}"
                ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="IMMUTABLE")
                ecr.put_image_scanning_configuration(repositoryName=name,
                                                     imageScanningConfiguration={"scanOnPush": True})
                ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=policy)
    client("ecr", OWN, "eu-west-1").put_image_tag_mutability(repositoryName="myapp-ecr-web",
                                                              imageTagMutability="MUTABLE")
    drifted = client("ecr", "222222222222", "us-east-1")
    drifted.put_image_scanning_configuration(repositoryName="myapp-ecr-api",
                                             imageScanningConfiguration={"scanOnPush": False})
    drifted.put_lifecycle_policy(repositoryName="myapp-ecr-worker", lifecyclePolicyText=json.dumps({"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
         "action": {"type": "expire"}}]}))
    return path


def by_target(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t["account"], t["region"]): t for t in result["targets"]}


def test_stack_set_converges_every_account_and_region_then_check_is_clean(stack_set: Path, ecrgen) -> None:
    result = ecrgen("post-deploy", "--stack-set", "myapp-ecr", "--output", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    targets = by_target(report)
    assert sorted(targets) == sorted((a, r) for a in [OWN, *OTHERS] for r in REGIONS)
    assert targets[(OWN, "eu-west-1")]["status"] == "changed"
    assert targets[("222222222222", "us-east-1")]["summary"]["changed"] == 2, json.dumps(targets[("222222222222", "us-east-1")], indent=1)
    assert {t["status"] for key, t in targets.items()
            if key not in [(OWN, "eu-west-1"), ("222222222222", "us-east-1")]} == {"in-sync"}
    summary = report["summary"]
    assert (summary["targets"], summary["failedTargets"], summary["repositories"], summary["changed"]) == (8, 0, 24, 3)
    calls = summary["apiCalls"]
    # One AssumeRole per other account, one ListStackInstances page, one identity; then per target
    # what a single stack needs: one DescribeRepositories, one GetLifecyclePolicy a repository.
    assert calls["AssumeRole"] == len(OTHERS) and calls["GetCallerIdentity"] == 1
    assert calls["ListStackInstances"] == 1
    assert calls["DescribeRepositories"] == 8 and calls["GetLifecyclePolicy"] == 24
    assert calls["PutImageTagMutability"] + calls["PutImageScanningConfiguration"] + calls["PutLifecyclePolicy"] == 3
    assert client("ecr", "222222222222", "us-east-1").describe_repositories(repositoryNames=["myapp-ecr-api"])[
        "repositories"][0]["imageScanningConfiguration"]["scanOnPush"] is True
    assert "SecretAccessKey" not in result.stdout + result.stderr

    check = ecrgen("post-deploy", "--config", str(stack_set), "--check")  # the fleet from `targets:`
    assert check.returncode == 0, check.stdout + check.stderr
    assert "fleet: 8 targets, 0 failed; 24 repositories: 24 in-sync" in check.stdout


def test_narrowing_to_accounts_and_regions(stack_set: Path, ecrgen) -> None:
    result = ecrgen("post-deploy", "--stack-set", "myapp-ecr", "--accounts", "222222222222,111111111111",
                    "--regions", "us-east-1", "--check", "--output", "json")
    assert result.returncode == 1  # 222222222222 drifted
    assert sorted(by_target(json.loads(result.stdout))) == [("111111111111", "us-east-1"),
                                                           ("222222222222", "us-east-1")]


def test_an_account_whose_role_cannot_be_assumed_fails_alone(stack_set: Path, fault_proxy: FaultProxy,
                                                             ecrgen) -> None:
    denied = f"arn:aws:iam::333333333333:role/{ROLE}"
    fault_proxy.configure(Faults(repositories=(RepositoryFault(denied, "AccessDenied", ("AssumeRole",), 403),)))
    result = ecrgen("post-deploy", "--stack-set", "myapp-ecr", "--output", "json")
    assert result.returncode == 1
    targets = by_target(json.loads(result.stdout))
    for region in REGIONS:
        failed = targets[("333333333333", region)]
        assert failed["status"] == "failed" and f"cannot assume {denied}: AccessDenied" in failed["error"]
        assert f"failed: myapp-ecr 333333333333 {region}: " in result.stderr
    others = [t for key, t in targets.items() if key[0] != "333333333333"]
    assert len(others) == 6 and all(t["status"] in ("changed", "in-sync") for t in others)
    assert client("ecr", OWN, "eu-west-1").describe_repositories(repositoryNames=["myapp-ecr-web"])[
        "repositories"][0]["imageTagMutability"] == "IMMUTABLE"


def test_a_stack_set_that_does_not_exist_is_bad_input(aws: str, ecrgen) -> None:
    result = ecrgen("post-deploy", "--stack-set", "nope")
    assert result.returncode == 2
    assert "stack set nope: no such StackSet in region us-east-1" in result.stderr


def test_stack_name_globs_expand_to_live_stacks(aws: str, tmp_path: Path, ecrgen) -> None:
    cfn = boto3.client("cloudformation")
    for index, names in enumerate((["a"], ["b"], ["c"]), start=1):
        data = {**CONFIG, "repositories": [{"name": n} for n in names]}
        del data["targets"]
        path = tmp_path / f"{index}.yaml"
        path.write_text(yaml.safe_dump(data))
        body = template.render(template.build(config.load(path)), "json")
        stack = f"myapp-ecr-{index:02d}" if index < 3 else "other"
        cfn.create_stack(StackName=stack, TemplateBody=body)
    boto3.client("ecr").put_image_tag_mutability(repositoryName="myapp-ecr-b", imageTagMutability="MUTABLE")

    result = ecrgen("post-deploy", "--stack-name", "myapp-ecr-*", "--check", "--output", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [r["repositoryName"] for r in report["repositories"]] == ["myapp-ecr-a", "myapp-ecr-b"]
    assert report["summary"]["apiCalls"]["ListStacks"] == 1

    missing = ecrgen("post-deploy", "--stack-name", "nothing-*")
    assert missing.returncode == 2
    assert "--stack-name: 'nothing-*' matches no live stack in region us-east-1" in missing.stderr


def test_one_bound_on_calls_in_flight_across_every_client(aws: str) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Lock

    from generator.aws.fleet import CallGate

    gate, lock = CallGate(3), Lock()
    in_flight, peak = [0], [0]

    def enter(**_: Any) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])

    def leave(**_: Any) -> None:
        with lock:
            in_flight[0] -= 1

    clients = [boto3.client("ecr", region_name=region) for region in REGIONS * 3]
    for ecr in clients:
        gate.attach(ecr)  # acquires first, so `enter` runs inside the bound ...
        ecr.meta.events.register("before-call.*.*", enter)
        ecr.meta.events.register_first("after-call.*.*", leave)  # ... and `leave` before the release
        ecr.meta.events.register_first("after-call-error.*.*", leave)
    with ThreadPoolExecutor(24) as pool:
        list(pool.map(lambda i: clients[i % len(clients)].describe_repositories(), range(120)))
    assert peak[0] == 3


def test_stackset_deploy_script_deploys_every_template_then_runs_post_deploy(aws: str, tmp_path: Path,
                                                                            ecrgen) -> None:
    data = {**CONFIG, "max_per_stack": 2}  # three repositories: two StackSets, myapp-ecr-01 and -02
    (tmp_path / "ecr.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert ecrgen("template", "--no-lint", cwd=tmp_path).returncode == 0
    bin_dir = str(Path(sys.executable).parent)  # ecrgen and aws, as a pipeline has them on PATH
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "ECRGEN_ARGS": "--output json"}
    script = ROOT / "scripts" / "stackset-deploy.sh"
    for _ in range(2):  # creates the StackSets, then updates them
        run = subprocess.run(["bash", str(script), "myapp-ecr", "111111111111,222222222222", ",".join(REGIONS)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert sorted({t["stackSet"] for t in report["targets"]}) == ["myapp-ecr-01", "myapp-ecr-02"]
    assert report["summary"]["targets"] == 8 and report["summary"]["repositories"] == 12
    assert report["summary"]["failedTargets"] == 0
    assert client("ecr", "222222222222", "eu-west-1").describe_repositories(repositoryNames=["myapp-ecr-worker"])[
        "repositories"][0]["imageScanningConfiguration"]["scanOnPush"] is True


def test_templates_for_a_stack_set_hold_no_account_or_region_literal(tmp_path: Path) -> None:
    import re

    from generator.model import targets
    from generator.render import shards

    data = {**CONFIG, "post_deploy_policy": True, "max_per_stack": 60,
            "repositories": [{"name": f"svc-{i:03d}"} for i in range(120)]}  # > 50: the policy names a pattern
    path = tmp_path / "ecr.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rendered, _ = shards.render_all(config.load(path), tmp_path / "ecr.yaml", "yaml", "ecr.yaml")
    assert len(rendered) == 2
    for part in rendered:
        assert not re.search(r"\d{12}", part.text)
        assert not [region for region in targets.known_regions() if region in part.text]
        exports = [output["Export"]["Name"] for output in load_yaml(part.text.replace("!", ""))[
            "Outputs"].values()]
        assert len(exports) == 120 and all(name.startswith("Sub ${AWS::StackName}-Ecr") for name in exports)
        assert "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/" in part.text


REGISTRY_CONFIG = {
    "system_name": "myapp",
    "targets": {"stack_set": "myapp-ecr", "accounts": [OWN, "111111111111"], "regions": REGIONS},
    "repositories": [{"name": "web"}],
    "registry": {
        "scanning": {"scan_on_push": ["${SystemName}-ecr-*"]},
        # eu-west-1 is also a target region: there it is the registry itself, which ECR refuses.
        "replication": [{"destinations": [{"region": "eu-west-1"}, {"region": "us-west-2"}],
                         "prefixes": ["${SystemName}-ecr-"]}],
        "policy_statements": [{
            "Sid": "ecrgen-${SystemName}-ReplicateIn", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": ["ecr:ReplicateImage"],
            "Resource": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${SystemName}-ecr-*"}],
    },
}


def test_stack_set_targets_get_the_registry_part_each_for_its_account_and_region(aws: str, tmp_path: Path,
                                                                                 ecrgen) -> None:
    path = tmp_path / "ecr.yaml"
    path.write_text(yaml.safe_dump(REGISTRY_CONFIG, sort_keys=False))
    template_run = ecrgen("template", "--config", str(path), "--out", str(tmp_path / "ecr.yaml.out"), "--no-lint")
    assert template_run.returncode == 0
    assert "registry.replication[0].destinations[0]: eu-west-1 is also one of targets.regions" in template_run.stderr
    body = template.render(template.build(config.load(path)), "json")
    cfn = boto3.client("cloudformation")
    cfn.create_stack_set(StackSetName="myapp-ecr", TemplateBody=body)
    cfn.create_stack_instances(StackSetName="myapp-ecr", Accounts=[OWN, "111111111111"], Regions=REGIONS)

    result = ecrgen("post-deploy", "--config", str(path), "--output", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    targets = by_target(json.loads(result.stdout))
    assert len(targets) == 4
    for (account, region), target in targets.items():
        assert target["registry"]["status"] == "changed", target
        assert {c["setting"] for c in target["registry"]["changes"]} == {"scanning", "replication", "registryPolicy"}
        assert [s["status"] for s in target["registry"]["scanning"]] == ["ok"]
        ecr = client("ecr", account, region)
        [statement] = json.loads(ecr.get_registry_policy()["policyText"])["Statement"]
        assert statement["Resource"] == f"arn:aws:ecr:{region}:{account}:repository/myapp-ecr-*"
        [rule] = ecr.describe_registry()["replicationConfiguration"]["rules"]
        wanted = [r for r in ("eu-west-1", "us-west-2") if r != region]
        assert [d["region"] for d in rule["destinations"]] == wanted
        assert {d["registryId"] for d in rule["destinations"]} == {account}
        skipped = target["registry"]["skipped"]
        assert [s["item"] for s in skipped] == (["eu-west-1"] if region == "eu-west-1" else [])
        calls = target["summary"]["apiCalls"]
        assert calls["GetRegistryScanningConfiguration"] >= 1 and calls["PutRegistryPolicy"] == 1

    check = ecrgen("post-deploy", "--config", str(path), "--check", "--output", "json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert {t["registry"]["status"] for t in json.loads(check.stdout)["targets"]} == {"in-sync"}

    client("ecr", "111111111111", "eu-west-1").put_registry_scanning_configuration(scanType="BASIC", rules=[])
    drift = ecrgen("post-deploy", "--stack-set", "myapp-ecr", "--check", "--output", "json")
    assert drift.returncode == 1  # registry drift in one target fails the fleet's --check
    assert by_target(json.loads(drift.stdout))[("111111111111", "eu-west-1")]["status"] == "planned"


def test_the_in_use_guard_runs_in_every_target_on_its_own_workloads(aws: str, tmp_path: Path,
                                                                   ecrgen) -> None:
    """"Keep the last 2" in two accounts with the same four images; only 111111111111 runs its
    oldest image on ECS: there, and only there, the policy in sync is at risk, and a policy
    written by the run is refused."""
    data = {**CONFIG, "targets": {"stack_set": "myapp-ecr", "accounts": [OWN, "111111111111"],
                                  "regions": ["us-east-1"]},
            "defaults": {"lifecycle": [{"tag_status": "any", "keep_last": 2}]}, "repositories": [{"name": "web"}]}
    path = tmp_path / "ecr.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cfn = boto3.client("cloudformation")
    cfn.create_stack_set(StackSetName="myapp-ecr", TemplateBody=template.render(
        template.build(config.load(path)), "json"))
    cfn.create_stack_instances(StackSetName="myapp-ecr", Accounts=[OWN, "111111111111"], Regions=["us-east-1"])
    for account in (OWN, "111111111111"):
        ecr = client("ecr", account, "us-east-1")
        for number in range(1, 5):  # v1 is the oldest: "keep the last 2" expires v1 and v2
            layer = {"digest": f"sha256:{number:064x}", "size": 1000,
                     "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}
            ecr.put_image(repositoryName="myapp-ecr-web", imageTag=f"v{number}", imageManifest=json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": layer, "layers": [layer]}))
    uri = client("ecr", "111111111111", "us-east-1").describe_repositories()["repositories"][0]["repositoryUri"]
    ecs = client("ecs", "111111111111", "us-east-1")
    ecs.create_cluster(clusterName="prod")
    definition = ecs.register_task_definition(family="api", containerDefinitions=[
        {"name": "api", "image": f"{uri}:v1", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition=definition, desiredCount=1)

    written = ecrgen("post-deploy", "--config", str(path), "--in-use", "ecs", "--output", "json")
    assert written.returncode == 1, written.stdout + written.stderr
    targets = by_target(json.loads(written.stdout))
    own, guarded = targets[(OWN, "us-east-1")], targets[("111111111111", "us-east-1")]
    assert own["status"] == "changed" and guarded["status"] == "failed"
    [refused] = [c for c in guarded["repositories"][0]["changes"] if c["setting"] == "lifecyclePolicy"]
    assert refused["status"] == "failed" and "used by ecs:prod/api" in refused["error"]
    assert [(i["imageTags"], i["users"]) for i in refused["inUse"]] == [(["v1"], ["ecs:prod/api"])]
    assert guarded["inUse"]["sources"] == "ecs" and own["inUse"]["references"] == 0
    assert "failed: myapp-ecr 111111111111 us-east-1: " in written.stderr
    calls = json.loads(written.stdout)["summary"]["apiCalls"]
    assert calls["ListClusters"] == 2 and calls["DescribeTaskDefinition"] == 1  # each target's own ECS
    with pytest.raises(Exception, match="LifecyclePolicyNotFound"):
        client("ecr", "111111111111", "us-east-1").get_lifecycle_policy(repositoryName="myapp-ecr-web")

    allowed = ecrgen("post-deploy", "--stack-set", "myapp-ecr", "--in-use", "ecs", "--allow-expiring-in-use")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    check = ecrgen("post-deploy", "--stack-set", "myapp-ecr", "--check", "--in-use", "ecs", "--output", "json")
    assert check.returncode == 1  # the policy in sync in 111111111111 will expire what its service runs
    statuses = {key: (t["status"], t["summary"]["atRisk"]) for key, t in by_target(json.loads(check.stdout)).items()}
    assert statuses == {(OWN, "us-east-1"): ("in-sync", 0), ("111111111111", "us-east-1"): ("failed", 1)}
