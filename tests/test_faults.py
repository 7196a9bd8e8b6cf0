"""ecrgen against moto behind the fault proxy: throttling, server errors, dropped connections and
replies, delays, one repository that AWS always refuses, a run killed halfway; post-deploy from
ecr.yaml and from a stack, and the live lifecycle preview.

Repositories are created in moto directly (drifted: MUTABLE, scan on push off, no lifecycle
policy; or already in sync), then ecrgen runs as a pipeline would, through the proxy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.model import config as config_module
from generator.render import template
from tests.conftest import run_ecrgen
from tests.fault_proxy import FaultProxy, Faults, RepositoryFault, fault_proxy

__all__ = ["fault_proxy"]  # the fixture, imported for pytest

CONFIG = """\
system_name: myapp
defaults:
  image_tag_mutability: IMMUTABLE
  scan_on_push: true
  lifecycle:
    - {tag_status: untagged, since_pushed_days: 14}
    - {tag_status: any, keep_last: 20}
repositories:
"""
DRIFTED = [f"svc-{index}" for index in range(10)]
IN_SYNC = ["steady-a", "steady-b", "steady-c"]
MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
WRITES = {"PutImageTagMutability", "PutImageScanningConfiguration", "PutLifecyclePolicy"}


def physical(name: str) -> str:
    return f"myapp-ecr-{name}"


@pytest.fixture()
def account(tmp_path: Path, aws: str) -> Path:
    """ecr.yaml for DRIFTED + IN_SYNC (+ `bad`), and those repositories in moto."""
    path = tmp_path / "ecr.yaml"
    path.write_text(CONFIG + "".join(f"  - name: {name}\n" for name in [*DRIFTED, *IN_SYNC, "bad"]))
    policy = config_module.load(path).repositories[0].policy
    assert policy is not None
    ecr = boto3.client("ecr", endpoint_url=aws)
    for name in [*DRIFTED, "bad"]:
        ecr.create_repository(repositoryName=physical(name), imageTagMutability="MUTABLE",
                              imageScanningConfiguration={"scanOnPush": False})
    for name in IN_SYNC:
        ecr.create_repository(repositoryName=physical(name), imageTagMutability="IMMUTABLE",
                              imageScanningConfiguration={"scanOnPush": True})
        ecr.put_lifecycle_policy(repositoryName=physical(name), lifecyclePolicyText=policy.to_text())
    return path


def post_deploy(config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run_ecrgen("post-deploy", "--config", str(config), "--output", "json", *extra)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def live(aws: str, name: str) -> tuple[str, bool, bool]:
    ecr = boto3.client("ecr", endpoint_url=aws)
    repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    try:
        ecr.get_lifecycle_policy(repositoryName=name)
        has_policy = True
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        has_policy = False
    return repo["imageTagMutability"], repo["imageScanningConfiguration"]["scanOnPush"], has_policy


def assert_no_write_to(proxy: FaultProxy, names: list[str]) -> None:
    written = {repo for r in proxy.requests if r.operation in WRITES for repo in r.repositories}
    assert not written & {physical(name) for name in names}


def test_throttling_and_server_errors_still_converge(fault_proxy: FaultProxy, account: Path,
                                                    aws: str) -> None:
    account.write_text(account.read_text().replace("  - name: bad\n", ""))  # `bad` is for the next test
    # With this seed no call needs more than 4 tries, which keeps botocore's backoff (up to 20 s
    # a try) short; other seeds converge too, only slower (seed 1 has a call that needs 7 tries: 45 s).
    fault_proxy.configure(Faults(throttle=0.3, server_error=0.1, seed=4))

    code, report = post_deploy(account)

    assert code == 0
    statuses = {r["repositoryName"]: r["status"] for r in report["repositories"]}
    assert statuses == {**{physical(n): "changed" for n in DRIFTED}, **{physical(n): "in-sync" for n in IN_SYNC}}
    for repo in report["repositories"]:
        if repo["status"] == "changed":
            assert {c["setting"]: (c["from"], c["to"], c["status"]) for c in repo["changes"]
                    if c["setting"] != "lifecyclePolicy"} == {
                "imageTagMutability": ("MUTABLE", "IMMUTABLE", "applied"),
                "scanOnPush": (False, True, "applied")}
            assert [c["status"] for c in repo["changes"] if c["setting"] == "lifecyclePolicy"] == ["applied"]
    assert {name: live(aws, physical(name)) for name in DRIFTED} == dict.fromkeys(DRIFTED, ("IMMUTABLE", True, True))

    faulted = len(fault_proxy.requests) - sum(fault_proxy.counts("forwarded").values())
    assert faulted > 0  # the faults did happen
    # Each API call reached AWS exactly once, whatever the retries; one write per drifted setting.
    assert report["summary"]["apiCalls"] == dict(fault_proxy.counts("forwarded"))
    assert {op: n for op, n in fault_proxy.counts("forwarded").items() if op in WRITES} == dict.fromkeys(
        WRITES, len(DRIFTED))
    # Retries are bounded: no request storm.
    assert len(fault_proxy.requests) <= 3 * sum(report["summary"]["apiCalls"].values())
    assert_no_write_to(fault_proxy, IN_SYNC)


def test_one_refused_repository_fails_alone(fault_proxy: FaultProxy, account: Path, aws: str) -> None:
    fault_proxy.configure(Faults(throttle=0.2, seed=2, repositories=(RepositoryFault(physical("bad")),)))

    code, report = post_deploy(account)

    assert code == 1
    by_name = {r["repositoryName"]: r for r in report["repositories"]}
    bad = by_name.pop(physical("bad"))
    assert bad["status"] == "failed"
    assert bad["changes"] and all(c["status"] == "failed" and c["error"].startswith("AccessDeniedException")
                                  for c in bad["changes"])
    assert {name: r["status"] for name, r in by_name.items()} == {
        **{physical(n): "changed" for n in DRIFTED}, **{physical(n): "in-sync" for n in IN_SYNC}}
    assert report["summary"]["failed"] == 1
    assert live(aws, physical("bad")) == ("MUTABLE", False, False)
    assert {name: live(aws, physical(name)) for name in DRIFTED} == dict.fromkeys(DRIFTED, ("IMMUTABLE", True, True))
    # AccessDenied is final: each refused write was tried once, not retried.
    assert sum(fault_proxy.counts("AccessDeniedException").values()) == len(bad["changes"])
    assert_no_write_to(fault_proxy, IN_SYNC)


def test_dropped_connections_and_slow_replies_converge(fault_proxy: FaultProxy, account: Path,
                                                       aws: str) -> None:
    # drop_reply: the write is made but its reply is lost, so botocore sends it again (puts are idempotent)
    fault_proxy.configure(Faults(drop=0.1, drop_reply=0.1, delay=0.2, delay_seconds=0.3, seed=3))

    code, report = post_deploy(account, "--concurrency", "4")

    assert code == 0, report
    assert report["summary"]["changed"] == len(DRIFTED) + 1
    assert fault_proxy.counts("drop") and fault_proxy.counts("drop-reply") and fault_proxy.counts("delayed")
    assert {name: live(aws, physical(name)) for name in [*DRIFTED, "bad"]} == dict.fromkeys(
        [*DRIFTED, "bad"], ("IMMUTABLE", True, True))


def test_a_stack_read_through_throttled_cloudformation_converges(fault_proxy: FaultProxy, tmp_path: Path,
                                                                 aws: str) -> None:
    """--stack-name: GetTemplate and ListStackResources (query protocol, XML errors) are throttled
    too. moto's CloudFormation creates the repositories MUTABLE, without scan or policy: drifted."""
    path = tmp_path / "ecr.yaml"
    path.write_text(CONFIG.replace("system_name: myapp", "system_name: myapp\nsettings_via: post-deploy\n"
                                   "outputs: []") + "".join(f"  - name: {name}\n" for name in DRIFTED))
    body = template.render(template.build(config_module.load(path)))
    boto3.client("cloudformation", endpoint_url=aws).create_stack(StackName="app", TemplateBody=body)
    fault_proxy.configure(Faults(throttle=0.3, server_error=0.1, seed=0,
                                 operations=frozenset({"GetTemplate", "ListStackResources"})))

    result = run_ecrgen("post-deploy", "--stack-name", "app", "--output", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["changed"] == len(DRIFTED)
    assert {name: live(aws, physical(name)) for name in DRIFTED} == dict.fromkeys(DRIFTED, ("IMMUTABLE", True, True))
    assert fault_proxy.counts("forwarded")["GetTemplate"] == 1
    faulted = {r.operation for r in fault_proxy.requests if r.outcome != "forwarded"}
    assert faulted and faulted <= {"GetTemplate", "ListStackResources"}


def test_a_converged_rerun_under_throttling_reads_only(fault_proxy: FaultProxy, account: Path) -> None:
    assert post_deploy(account)[0] == 0
    fault_proxy.configure(Faults(throttle=0.5, seed=4))

    code, report = post_deploy(account)

    assert code == 0
    assert report["summary"]["inSync"] == len(DRIFTED) + len(IN_SYNC) + 1
    assert not set(fault_proxy.counts()) & WRITES


def test_live_preview_through_throttling_matches_a_calm_run(fault_proxy: FaultProxy, aws: str) -> None:
    """Every call throttled twice, then answered: the same preview as a calm run (moto answers
    DescribeImages in one page; pagination is tested with Stubber elsewhere)."""
    ecr = boto3.client("ecr", endpoint_url=aws)
    ecr.create_repository(repositoryName="myapp-ecr-web")
    for index in range(150):
        layer = {"size": 1000, "digest": f"sha256:{index:064x}"}  # moto's digest hashes the layers
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_TYPE, "layers": [layer]})
        ecr.put_image(repositoryName="myapp-ecr-web", imageManifest=manifest, imageTag=f"v{index}")
    keep = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                        "countNumber": 20}, "action": {"type": "expire"}}]}
    ecr.put_lifecycle_policy(repositoryName="myapp-ecr-web", lifecyclePolicyText=json.dumps(keep))
    args = ("lifecycle", "preview", "--repository", "myapp-ecr-web", "--live", "--output", "json",
            "--now", "2030-01-01T00:00:00Z")
    calm = run_ecrgen(*args)
    assert calm.returncode == 0, calm.stderr
    fault_proxy.configure(Faults(throttle_first=2))

    stormy = run_ecrgen(*args)

    assert stormy.returncode == 0, stormy.stderr
    assert json.loads(stormy.stdout) == json.loads(calm.stdout)
    assert json.loads(calm.stdout)["summary"]["expiringImageTotalCount"] == 130
    assert fault_proxy.counts("ThrottlingException") == {op: 2 * n for op, n in fault_proxy.counts("forwarded").items()}


def test_a_run_killed_halfway_is_finished_by_the_next(fault_proxy: FaultProxy, account: Path, aws: str) -> None:
    """SIGKILL while writing (slowed down by delayed replies): the next run writes only what is
    left, and then everything is in sync."""
    fault_proxy.configure(Faults(delay=1.0, delay_seconds=0.2, operations=frozenset(WRITES)))
    proc = subprocess.Popen([sys.executable, "-m", "generator", "post-deploy", "--config", str(account),
                             "--concurrency", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and sum(fault_proxy.counts("delayed").values()) < 8:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    written = sum(fault_proxy.counts("delayed").values())
    fault_proxy.configure(Faults())

    code, report = post_deploy(account)

    assert code == 0
    remaining = sum(len(r["changes"]) for r in report["repositories"])
    assert 0 < remaining <= 3 * (len(DRIFTED) + 1) - written + 2  # at most the 2 in flight are redone
    assert post_deploy(account, "--check")[0] == 0


def test_a_missing_repository_is_found_through_throttling(fault_proxy: FaultProxy, account: Path) -> None:
    """ECR fails a whole DescribeRepositories batch for one unknown name; finding it must survive
    throttled retries, and the rest of the batch still converges."""
    account.write_text(account.read_text() + "  - name: ghost\n")
    fault_proxy.configure(Faults(throttle_first=1, throttle=0.3, seed=5))

    code, report = post_deploy(account)

    assert code == 1
    statuses = {r["repositoryName"]: r["status"] for r in report["repositories"]}
    assert statuses.pop(physical("ghost")) == "missing"
    assert statuses == {**{physical(n): "changed" for n in [*DRIFTED, "bad"]},
                        **{physical(n): "in-sync" for n in IN_SYNC}}
    assert report["summary"]["apiCalls"]["DescribeRepositories"] <= 3
