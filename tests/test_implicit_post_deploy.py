"""`ecrgen post-deploy` for what ECR creates by itself, end to end: moto behind the loopback fake.

CloudFormation's part (creating the rules, templates and exclusions the template declares) is
played by `deploy`, which reads them from ecrgen's own rendered template; post-deploy then keeps
them, the repositories under enforced templates, the signing configuration and the account
settings, as it keeps named repositories: create, drift, repair, `--check` clean.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.model import config
from generator.render import template
from tests.conftest import post_deploy_json, run_ecrgen
from tests.fault_proxy import FaultProxy, Faults, fault_proxy
from tests.implicit_fake import ACCOUNT, READS, ImplicitFake, deploy_account_wide, implicit_fake

__all__ = ["fault_proxy", "implicit_fake"]  # the fixtures, imported for pytest

CONFIG = """\
system_name: myapp
defaults:
  lifecycle:
    - {description: Keep the 10 most recent images, tag_status: any, keep_last: 10}
repositories:
  - name: web
pull_through_cache:
  - prefix: "${SystemName}-ecr-hub"
    upstream: docker-hub
    credential: ecr-pullthroughcache/dockerhub
  - prefix: "${SystemName}-ecr-quay"
    upstream: quay
creation_templates:
  - prefix: "${SystemName}-ecr-hub"
    applied_for: [PULL_THROUGH_CACHE]
    image_tag_mutability: IMMUTABLE_WITH_EXCLUSION
    mutability_exclusions: [latest]
    access:
      pull: {accounts: ["111122223333"]}
registry:
  signing:
    - signing_profile: arn:aws:signer:us-east-1:123456789012:/signing-profiles/myapp
      filters: ["${SystemName}-ecr-*"]
  account_settings: {basic_scan_type_version: AWS_NATIVE}
  pull_time_exclusions: [arn:aws:iam::123456789012:role/scanner]
"""
THEIR_RULE = {"ecrRepositoryPrefix": "team-b-hub", "upstreamRegistry": "docker-hub",
              "upstreamRegistryUrl": "registry-1.docker.io",
              "credentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/b-AbCdEf"}
THEIR_TEMPLATE = {"prefix": "team-b", "appliedFor": ["CREATE_ON_PUSH"], "imageTagMutability": "MUTABLE",
                  "description": "Team B's"}
THEIR_SIGNING = {"signingProfileArn": "arn:aws:signer:us-east-1:123456789012:/signing-profiles/teamb",
                 "repositoryFilters": [{"filter": "team-b-*", "filterType": "WILDCARD_MATCH"}]}
CACHED = "myapp-ecr-hub/library/nginx"
WRITE_PREFIXES = ("Put", "Set", "Update", "Create", "Register", "Delete", "Deregister")


@pytest.fixture()
def moto(aws: str) -> Any:
    """moto's ECR, reached directly: what a person or ECR itself does, not post-deploy."""
    return boto3.client("ecr", endpoint_url=aws)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    return tmp_path


def deploy(project: Path) -> None:
    """CloudFormation's part, from ecrgen's own template of the project's ecr.yaml."""
    deploy_account_wide(template.render(template.build(config.load(project / "ecr.yaml")), "json"))


@pytest.fixture()
def shared(implicit_fake: ImplicitFake, moto: Any, project: Path) -> ImplicitFake:
    """The template deployed; another team's rule, template and signing rule; a repository the
    cache made before any of this config's templates, on MUTABLE with no policy."""
    implicit_fake.rules["team-b-hub"] = {**THEIR_RULE, "registryId": ACCOUNT}
    implicit_fake.templates["team-b"] = dict(THEIR_TEMPLATE)
    implicit_fake.signing = {"rules": [THEIR_SIGNING]}
    moto.create_repository(repositoryName=CACHED, imageTagMutability="MUTABLE")
    moto.create_repository(repositoryName="team-b/tool", imageTagMutability="MUTABLE")
    moto.create_repository(repositoryName="myapp-ecr-web", imageTagMutability="IMMUTABLE",
                           imageScanningConfiguration={"scanOnPush": True})
    deploy(project)
    return implicit_fake


def theirs(fake: ImplicitFake) -> str:
    """Another team's rule, template and signing rule, exactly as stored."""
    return json.dumps([fake.rules["team-b-hub"], fake.templates["team-b"], fake.signing["rules"][0]])  # type: ignore[index]


def settings(moto: Any, name: str) -> tuple[str, list[str], bool, Any, Any]:
    repo = moto.describe_repositories(repositoryNames=[name])["repositories"][0]
    lifecycle = json.loads(moto.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
    policy = json.loads(moto.get_repository_policy(repositoryName=name)["policyText"])
    return (repo["imageTagMutability"], [f["filter"] for f in repo.get("imageTagMutabilityExclusionFilters", [])],
            repo["imageScanningConfiguration"]["scanOnPush"], [r["selection"] for r in lifecycle["rules"]],
            [s["Principal"] for s in policy["Statement"]])


WANTED = ("IMMUTABLE_WITH_EXCLUSION", ["latest"], True,
          [{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}],
          [{"AWS": "111122223333"}])


def test_create_drift_repair_check(shared: ImplicitFake, moto: Any, fault_proxy: FaultProxy,
                                   project: Path) -> None:
    before = theirs(shared)
    first = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    registry = first["registry"]
    assert [(r["prefix"], r["status"]) for r in registry["pullThroughCache"]] == [
        ("myapp-ecr-hub", "in-sync"), ("myapp-ecr-quay", "in-sync")]
    assert [(t["prefix"], t["status"], t["repositories"]) for t in registry["creationTemplates"]] == [
        ("myapp-ecr-hub", "in-sync", 1)]
    assert registry["accountSettings"]["changes"] == [{"setting": "BASIC_SCAN_TYPE_VERSION", "from": "CLAIR",
                                                       "to": "AWS_NATIVE", "status": "applied", "error": None}]
    assert registry["signing"]["status"] == "changed"
    assert registry["pullTimeExclusions"] == {"status": "in-sync", "error": None, "principals": [
        {"principalArn": "arn:aws:iam::123456789012:role/scanner", "status": "in-sync"}]}
    cached = next(r for r in first["repositories"] if r["repositoryName"] == CACHED)
    assert cached["status"] == "changed" and cached["prefix"] == "myapp-ecr-hub"
    assert {c["setting"] for c in cached["changes"]} == {"imageTagMutability", "scanOnPush", "lifecyclePolicy",
                                                         "repositoryPolicy"}
    assert "team-b/tool" not in [r["repositoryName"] for r in first["repositories"]]  # theirs, not governed
    assert settings(moto, CACHED) == WANTED
    assert shared.settings["BASIC_SCAN_TYPE_VERSION"] == "AWS_NATIVE"
    assert shared.signing is not None and json.dumps(shared.signing["rules"][0]) == json.dumps(THEIR_SIGNING)
    assert [r["signingProfileArn"].rsplit("/", 1)[-1] for r in shared.signing["rules"]] == ["teamb", "myapp"]

    # Drift: the template edited in the console, the rule's secret swapped, a repository flipped.
    ecr = boto3.client("ecr")
    ecr.update_repository_creation_template(prefix="myapp-ecr-hub", imageTagMutability="MUTABLE",
                                            lifecyclePolicy="", appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"])
    ecr.update_pull_through_cache_rule(
        ecrRepositoryPrefix="myapp-ecr-hub",
        credentialArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/other-AbCdEf")
    moto.put_image_tag_mutability(repositoryName=CACHED, imageTagMutability="MUTABLE")
    check = post_deploy_json("--config", "ecr.yaml", "--check", cwd=project, code=1)
    rules = {r["prefix"]: r for r in check["registry"]["pullThroughCache"]}
    assert rules["myapp-ecr-hub"]["status"] == "planned"
    assert rules["myapp-ecr-hub"]["changes"][0]["to"] == (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/dockerhub")
    (entry,) = check["registry"]["creationTemplates"]
    assert (entry["status"], {c["setting"] for c in entry["changes"]}) == (
        "planned", {"appliedFor", "imageTagMutability", "lifecyclePolicy"})
    assert next(r for r in check["repositories"] if r["repositoryName"] == CACHED)["status"] == "planned"

    repaired = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    assert repaired["registry"]["creationTemplates"][0]["status"] == "changed"
    template_now = shared.templates["myapp-ecr-hub"]
    assert (template_now["imageTagMutability"], template_now["appliedFor"]) == (
        "IMMUTABLE_WITH_EXCLUSION", ["PULL_THROUGH_CACHE"])
    # A repository cached after the template was repaired gets its settings from ECR itself.
    shared.cache(moto, "myapp-ecr-hub/library/redis")
    fault_proxy.configure(Faults())
    clean = run_ecrgen("post-deploy", "--config", "ecr.yaml", "--output", "json", cwd=project)
    report = json.loads(clean.stdout)
    redis = next(r for r in report["repositories"] if r["repositoryName"] == "myapp-ecr-hub/library/redis")
    assert [c["setting"] for c in redis["changes"]] == ["scanOnPush"]  # the one thing templates cannot set
    final = post_deploy_json("--config", "ecr.yaml", "--check", cwd=project, code=0)
    assert {r["repositoryName"]: r["status"] for r in final["repositories"]} == {
        "myapp-ecr-web": "in-sync", CACHED: "implicit", "myapp-ecr-hub/library/redis": "implicit"}
    assert final["summary"]["implicit"] == 2
    assert settings(moto, CACHED) == settings(moto, "myapp-ecr-hub/library/redis") == WANTED
    assert theirs(shared) == before  # untouched, byte for byte
    assert shared.writes["DeletePullThroughCacheRule"] == shared.writes["CreatePullThroughCacheRule"] - 2 == 0


def test_a_converged_run_makes_the_reads_once_and_no_write(shared: ImplicitFake, fault_proxy: FaultProxy,
                                                           project: Path) -> None:
    post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    for index in range(5):  # more of the other teams' entries than one page holds
        shared.rules[f"team-c{index}"] = {**THEIR_RULE, "ecrRepositoryPrefix": f"team-c{index}", "registryId": ACCOUNT}
        shared.templates[f"team-c{index}"] = {**THEIR_TEMPLATE, "prefix": f"team-c{index}"}
        shared.exclusions.append(f"arn:aws:iam::123456789012:role/reader{index}")
    fault_proxy.configure(Faults())
    report = post_deploy_json("--config", "ecr.yaml", "--check", cwd=project, code=0)
    calls = fault_proxy.counts()
    pages = {"DescribePullThroughCacheRules": math.ceil(len(shared.rules) / 2),
             "DescribeRepositoryCreationTemplates": math.ceil(len(shared.templates) / 2),
             "ListPullTimeUpdateExclusions": math.ceil(len(shared.exclusions) / 2),
             "GetSigningConfiguration": 1, "GetAccountSetting": 1}
    assert {op: calls[op] for op in READS} == pages
    assert {op: report["summary"]["apiCalls"][op] for op in READS} == pages
    assert not [op for op in calls if op.startswith(WRITE_PREFIXES)]
    assert report["registry"]["status"] == "in-sync"


def test_post_deploy_never_creates_what_the_template_does(implicit_fake: ImplicitFake, moto: Any,
                                                           project: Path) -> None:
    """Nothing deployed: the rules, the template and the exclusion are missing, exit 1, no write."""
    moto.create_repository(repositoryName="myapp-ecr-web")
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=1)
    registry = report["registry"]
    assert registry["status"] == "failed"
    assert {r["status"] for r in [*registry["pullThroughCache"], *registry["creationTemplates"]]} == {"missing"}
    assert registry["pullTimeExclusions"]["status"] == "missing"
    assert not [op for op in implicit_fake.writes if op.startswith(("Create", "Register"))]
    assert implicit_fake.rules == implicit_fake.templates == {} and implicit_fake.exclusions == []


def test_refused_writes_are_reported_failed(shared: ImplicitFake, moto: Any, project: Path) -> None:
    ecr = boto3.client("ecr")
    ecr.update_repository_creation_template(prefix="myapp-ecr-hub", imageTagMutability="MUTABLE")
    shared.refuse.update(UpdateRepositoryCreationTemplate="AccessDeniedException",
                         PutSigningConfiguration="AccessDeniedException", PutAccountSetting="AccessDeniedException")
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=1)
    registry = report["registry"]
    (entry,) = registry["creationTemplates"]
    assert entry["status"] == "failed" and entry["error"].startswith("AccessDeniedException")
    assert registry["signing"]["status"] == "failed"
    assert registry["accountSettings"]["status"] == "failed"
    assert registry["status"] == "failed"
    # The rest went on: the repository under the template was still brought to its settings.
    assert settings(moto, CACHED) == WANTED
    text = run_ecrgen("post-deploy", "--config", "ecr.yaml", cwd=project)
    assert text.returncode == 1
    assert "creation template myapp-ecr-hub: failed: AccessDeniedException" in text.stdout


def test_dry_run_writes_nothing(shared: ImplicitFake, moto: Any, fault_proxy: FaultProxy, project: Path) -> None:
    fault_proxy.configure(Faults())
    report = post_deploy_json("--config", "ecr.yaml", "--dry-run", cwd=project, code=0)
    assert report["registry"]["signing"]["status"] == report["registry"]["accountSettings"]["status"] == "planned"
    assert next(r for r in report["repositories"] if r["repositoryName"] == CACHED)["status"] == "planned"
    assert not [op for op in fault_proxy.counts() if op.startswith(WRITE_PREFIXES)]


def test_from_the_deployed_stack(shared: ImplicitFake, moto: Any, project: Path) -> None:
    """--stack-name reads the same wishes from the template's Metadata (moto's CloudFormation
    skips the resource types it does not know; `deploy` played them)."""
    body = template.render(template.build(config.load(project / "ecr.yaml")))
    moto.delete_repository(repositoryName="myapp-ecr-web")  # the stack makes it
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="myapp-ecr", TemplateBody=body)
    report = post_deploy_json("--stack-name", "myapp-ecr", cwd=project, code=0)
    assert [r["status"] for r in report["registry"]["pullThroughCache"]] == ["in-sync", "in-sync"]
    assert report["registry"]["signing"]["status"] == "changed"
    assert next(r for r in report["repositories"] if r["repositoryName"] == CACHED)["prefix"] == "myapp-ecr-hub"
    again = post_deploy_json("--stack-name", "myapp-ecr", "--check", cwd=project, code=0)
    assert again["registry"]["status"] == "in-sync"


def test_the_in_use_guard_judges_the_repositories_templates_govern(shared: ImplicitFake, moto: Any,
                                                                  project: Path) -> None:
    """The template keeps the 10 most recent images: a repository the cache made holds 12, and the
    oldest two run somewhere (the in-use file says so). Its policy write is held back, as a named
    repository's would be, unless --allow-expiring-in-use."""
    digests = []
    for number in range(12):
        layer = {"digest": f"sha256:{number + 1:064x}", "size": 1000,
                 "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": layer, "layers": [layer]}
        image = moto.put_image(repositoryName=CACHED, imageManifest=json.dumps(manifest), imageTag=f"v{number}")
        digests.append(image["image"]["imageId"]["imageDigest"])
    (project / "in-use.txt").write_text("".join(f"{CACHED}@{digest}\n" for digest in digests))
    report = post_deploy_json("--config", "ecr.yaml", "--in-use-file", "in-use.txt", cwd=project, code=1)
    cached = next(r for r in report["repositories"] if r["repositoryName"] == CACHED)
    (change,) = [c for c in cached["changes"] if c["setting"] == "lifecyclePolicy"]
    assert change["status"] == "failed" and len(change["inUse"]) == 2
    assert cached["prefix"] == "myapp-ecr-hub" and cached["status"] == "failed"
    with pytest.raises(moto.exceptions.LifecyclePolicyNotFoundException):
        moto.get_lifecycle_policy(repositoryName=CACHED)
    post_deploy_json("--config", "ecr.yaml", "--in-use-file", "in-use.txt", "--allow-expiring-in-use",
                     cwd=project, code=0)
    assert settings(moto, CACHED) == WANTED


def test_each_stack_set_target_keeps_its_rules_templates_and_repositories(implicit_fake: ImplicitFake, moto: Any,
                                                                         project: Path) -> None:
    """--stack-set runs the single-stack reconcile per target, these sections included (one
    account and region here: the fake keeps one registry)."""
    (project / "ecr.yaml").write_text(CONFIG + "targets: {stack_set: myapp-ecr, accounts: ['123456789012'], "
                                               "regions: [us-east-1]}\n")
    body = template.render(template.build(config.load(project / "ecr.yaml")), "json")
    cfn = boto3.client("cloudformation")
    cfn.create_stack_set(StackSetName="myapp-ecr", TemplateBody=body)
    cfn.create_stack_instances(StackSetName="myapp-ecr", Accounts=[ACCOUNT], Regions=["us-east-1"])
    deploy_account_wide(body)
    moto.create_repository(repositoryName=CACHED, imageTagMutability="MUTABLE")
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    (target,) = report["targets"]
    assert [r["status"] for r in target["registry"]["pullThroughCache"]] == ["in-sync", "in-sync"]
    assert target["registry"]["accountSettings"]["status"] == "changed"
    cached = next(r for r in target["repositories"] if r["repositoryName"] == CACHED)
    assert (cached["status"], cached["prefix"]) == ("changed", "myapp-ecr-hub")
    again = post_deploy_json("--config", "ecr.yaml", "--check", cwd=project, code=0)
    assert again["targets"][0]["registry"]["status"] == "in-sync"
