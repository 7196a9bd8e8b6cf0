"""Images in use, end to end on moto: ECS clusters with services and standalone tasks, Lambda
image functions with versions and aliases, a kubectl pods file; the lifecycle preview flags
what a policy would take from them, post-deploy refuses to write it, and protection keeps them.

moto gaps, covered with Stubber in tests/test_in_use_stubbed.py: a service with two deployments
(moto keeps one, though after UpdateService it reports the new task definition beside the old
deployment's), a task container's `imageDigest` (moto reports none), pagination of the ECS and
Lambda list calls (moto answers in one page), and `lastRecordedPullTime` (moto records no pull).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.model import lifecycle
from generator.model.protection import SHIELD_RULE, is_shield_rule, shield_tag
from tests.conftest import post_deploy_json

REPOSITORY = "shop-ecr-web"
CONFIG = """\
system_name: shop
outputs: []
defaults:
  lifecycle:
    - {description: Keep the last 2, tag_status: any, keep_last: 2}
repositories:
  - name: web
"""
ROLE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def push(ecr: Any, tag: str, number: int) -> str:
    """A small image tagged `tag`; its digest."""
    layer = {"digest": f"sha256:{number:064x}", "size": 1000 * number,
             "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": layer, "layers": [layer]}
    image = ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag)["image"]
    return image["imageId"]["imageDigest"]  # type: ignore[no-any-return]


def newest_first(ecr: Any) -> list[dict[str, Any]]:
    """The images in the order ECR counts them: newest push first, equal times by digest."""
    details = ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]
    return sorted(details, key=lambda d: (-d["imagePushedAt"].timestamp(), d["imageDigest"]))


class World:
    """Four images, A (newest) to D (oldest), as "keep the last 2" sees them: it expires C and D."""

    def __init__(self, mutability: str = "IMMUTABLE") -> None:
        self.ecr = boto3.client("ecr")
        repo = self.ecr.create_repository(repositoryName=REPOSITORY, imageTagMutability=mutability)["repository"]
        self.uri = repo["repositoryUri"]
        for number in range(1, 5):
            push(self.ecr, f"v{number}", number)
        order = newest_first(self.ecr)
        self.digest = {name: d["imageDigest"] for name, d in zip("ABCD", order, strict=True)}
        self.tag = {name: d["imageTags"][0] for name, d in zip("ABCD", order, strict=True)}
        self.ecs = boto3.client("ecs")
        self.lam = boto3.client("lambda")

    def task_definition(self, family: str, *images: str) -> str:
        containers = [{"name": f"c{n}", "image": image, "memory": 128} for n, image in enumerate(images)]
        return self.ecs.register_task_definition(family=family, containerDefinitions=containers)[  # type: ignore[no-any-return]
            "taskDefinition"]["taskDefinitionArn"]

    def service(self, cluster: str, name: str, image: str) -> None:
        """A service in `cluster` running `image` (and Docker Hub's nginx beside it)."""
        self.ecs.create_cluster(clusterName=cluster)
        definition = self.task_definition(name, f"{self.uri}:{image}", "nginx:1.27")
        self.ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=definition, desiredCount=1)

    def task(self, cluster: str, image: str) -> str:
        """A standalone task in `cluster` running `image`; its id."""
        self.ecs.create_cluster(clusterName=cluster)
        definition = self.task_definition("job", image)
        task = self.ecs.run_task(cluster=cluster, taskDefinition=definition, launchType="FARGATE")["tasks"][0]
        return task["taskArn"].rsplit("/", 1)[-1]  # type: ignore[no-any-return]

    def function(self, name: str, alias_image: str, latest_image: str) -> None:
        """An image function: version 1 (aliased `live`) runs `alias_image`, $LATEST `latest_image`."""
        role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=ROLE_TRUST)
        self.lam.create_function(FunctionName=name, Role=role["Role"]["Arn"], PackageType="Image",
                                 Code={"ImageUri": f"{self.uri}:{alias_image}"})
        self.lam.publish_version(FunctionName=name)
        self.lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
        self.lam.update_function_code(FunctionName=name, ImageUri=f"{self.uri}:{latest_image}")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "ecr.yaml").write_text(CONFIG)
    return tmp_path


def preview_json(ecrgen: Any, project: Path, *args: str, code: int = 0) -> dict[str, Any]:
    result = ecrgen("lifecycle", "preview", "--live", "--config", "ecr.yaml", "--repository", "web",
                    "--output", "json", *args, cwd=project)
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def live_policy() -> str | None:
    try:
        return boto3.client("ecr").get_lifecycle_policy(repositoryName=REPOSITORY)["lifecyclePolicyText"]  # type: ignore[no-any-return]
    except boto3.client("ecr").exceptions.LifecyclePolicyNotFoundException:
        return None


def test_a_policy_that_expires_running_images_is_flagged_refused_then_allowed(aws: str, ecrgen: Any,
                                                                             project: Path) -> None:
    world = World()
    world.service("prod", "api", world.tag["D"])                 # D: the oldest, in an ECS service
    world.function("resize", world.tag["C"], world.tag["A"])     # C: behind the alias, A: $LATEST
    pods = {"kind": "List", "items": [{
        "metadata": {"namespace": "shop", "name": "web-1"},
        "spec": {"containers": [{"name": "web", "image": f"{world.uri}:{world.tag['B']}"}]},
        "status": {"containerStatuses": [{"image": "docker.io/library/redis:7",
                                          "imageID": "docker-pullable://redis@sha256:" + "e" * 64}]}}]}
    (project / "pods.json").write_text(json.dumps(pods, indent=2))

    preview = preview_json(ecrgen, project, "--in-use", "ecs,lambda", "--in-use-file", "pods.json")
    flagged = {r["imageDigest"]: r["inUse"] for r in preview["previewResults"]}
    assert flagged == {world.digest["C"]: ["lambda:resize:live"], world.digest["D"]: ["ecs:prod/api"]}
    assert preview["summary"]["inUseImageTotalCount"] == 2
    # nginx from the task definition, redis twice from the pod: other registries, counted
    assert preview["inUse"]["imagesInUse"] == 4 and preview["inUse"]["otherRegistries"] == 3
    text = ecrgen("lifecycle", "preview", "--live", "--config", "ecr.yaml", "--repository", "web",
                  "--in-use", "ecs,lambda", "--fail-on-in-use", cwd=project)
    assert text.returncode == 1, text.stderr
    assert "in use by ecs:prod/api" in text.stdout and "IN USE: the policy expires 2 images in use" in text.stdout

    refused = post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs,lambda", cwd=project, code=1)
    (repo,) = refused["repositories"]
    (change,) = [c for c in repo["changes"] if c["setting"] == "lifecyclePolicy"]
    assert repo["status"] == "failed" and change["status"] == "failed"
    assert change["error"].startswith("refused: the new policy would remove 2 images in use:")
    assert world.digest["D"][:19] in change["error"] and "ecs:prod/api" in change["error"]
    assert "lambda:resize:live" in change["error"] and "--allow-expiring-in-use" in change["error"]
    assert [v["imageDigest"] for v in change["inUse"]] == [world.digest["D"], world.digest["C"]]  # oldest first
    assert live_policy() is None  # the one write refused; the others went through
    assert {c["setting"]: c["status"] for c in repo["changes"]}["scanOnPush"] == "applied"
    assert "PutLifecyclePolicy" not in refused["summary"]["apiCalls"]
    calls = refused["summary"]["apiCalls"]
    discovery = {"ListClusters": 1, "ListServices": 1, "ListTasks": 1, "DescribeServices": 1,
                 "DescribeTaskDefinition": 1, "ListFunctions": 1, "ListAliases": 1, "GetFunction": 2,
                 "DescribeImages": 1}
    assert {call: calls.get(call) for call in discovery} == discovery  # no task runs: no DescribeTasks
    assert "DescribeTasks" not in calls
    assert refused["inUse"]["sources"] == "ecs, lambda"

    allowed = post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs,lambda", "--allow-expiring-in-use",
                               cwd=project, code=0)
    (change,) = [c for c in allowed["repositories"][0]["changes"] if c["setting"] == "lifecyclePolicy"]
    assert change["status"] == "applied" and len(change["inUse"]) == 2
    assert live_policy() is not None

    at_risk = post_deploy_json("--config", "ecr.yaml", "--check", "--in-use", "ecs,lambda", cwd=project, code=1)
    (repo,) = at_risk["repositories"]
    assert repo["status"] == "at-risk" and repo["changes"] == []
    assert {v["imageDigest"] for v in repo["atRisk"]} == {world.digest["C"], world.digest["D"]}
    assert at_risk["summary"]["atRisk"] == 1
    text = ecrgen("post-deploy", "--config", "ecr.yaml", "--check", "--in-use", "ecs", cwd=project)
    assert text.returncode == 1 and "at-risk: expires 1 image in use" in text.stdout
    assert "1 at-risk" in text.stdout.splitlines()[-1]


def test_standalone_tasks_and_an_in_use_file_by_line(aws: str, project: Path) -> None:
    world = World()
    task = world.task("batch", f"{world.uri}:{world.tag['D']}")
    (project / "in-use.txt").write_text(f"# what other accounts run\n\n{REPOSITORY}@{world.digest['C']}\n")
    report = post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs", "--in-use-file", "in-use.txt",
                              "--dry-run", cwd=project, code=1)
    (change,) = [c for c in report["repositories"][0]["changes"] if c["setting"] == "lifecyclePolicy"]
    assert {v["imageDigest"]: v["users"] for v in change["inUse"]} == {
        world.digest["C"]: ["file:3"], world.digest["D"]: [f"ecs:batch/{task}"]}
    assert change["status"] == "failed"


def test_without_discovery_no_extra_call_is_made(aws: str, project: Path) -> None:
    world = World()
    world.service("prod", "api", world.tag["D"])
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    assert set(report["summary"]["apiCalls"]) == {"DescribeRepositories", "GetLifecyclePolicy",
                                                  "PutImageScanningConfiguration", "PutLifecyclePolicy"}
    assert "inUse" not in report and "atRisk" not in report["summary"]


def test_protection_keeps_the_running_image_that_keep_the_last_2_would_expire(aws: str, ecrgen: Any,
                                                                              project: Path) -> None:
    (project / "ecr.yaml").write_text(CONFIG.replace("defaults:\n", "defaults:\n  protect_in_use: true\n"))
    world = World()
    world.service("prod", "api", world.tag["D"])
    before = preview_json(ecrgen, project, "--in-use", "ecs")
    # preview: the shield tag post-deploy will put on D keeps it; C goes, as without protection
    assert [r["imageDigest"] for r in before["previewResults"]] == [world.digest["C"]]
    assert [s["imageDigest"] for s in before["shielded"]] == [world.digest["D"]]

    report = post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs", cwd=project, code=0)
    (repo,) = report["repositories"]
    assert repo["shield"]["added"] == [{"imageDigest": world.digest["D"], "tag": shield_tag(world.digest["D"])}]
    assert repo["shield"]["status"] == "applied"
    assert report["summary"]["apiCalls"]["PutImage"] == 1 and report["summary"]["apiCalls"]["BatchGetImage"] == 1

    # What ECR received: the shield rule first, the user's rule after it; on the live images
    # (D now shield-tagged, under IMMUTABLE) it expires C only.
    received = lifecycle.parse_text(live_policy() or "")
    assert is_shield_rule(received.by_priority()[0]) and received.by_priority()[0].priority == SHIELD_RULE.priority
    images = lifecycle.parse_images(world.ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"], "live")
    decided = lifecycle.evaluate(received, images, now=world_now(images))
    assert [d.image.digest for d in decided.decisions] == [world.digest["C"]]
    assert shield_tag(world.digest["D"]) in {t for i in images if i.digest == world.digest["D"] for t in i.tags}
    assert post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs", "--check", cwd=project, code=0)[
        "repositories"][0]["status"] == "in-sync"

    # D stops running and loses its own tag: its shield tag is now its last, so it stays, reported.
    world.ecs.delete_service(cluster="prod", service="api", force=True)
    world.ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": world.tag["D"]}])
    kept = post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs", cwd=project, code=0)
    shield = kept["repositories"][0]["shield"]
    assert shield["kept"][0]["imageDigest"] == world.digest["D"] and "last tag" in shield["kept"][0]["reason"]
    assert shield["removed"] == [] and "BatchDeleteImage" not in kept["summary"]["apiCalls"]
    assert world.digest["D"] in {d["imageDigest"] for d in newest_first(world.ecr)}


def test_a_stale_shield_tag_is_removed_when_the_image_has_other_tags(aws: str, project: Path) -> None:
    (project / "ecr.yaml").write_text(CONFIG.replace("defaults:\n", "defaults:\n  protect_in_use: true\n"))
    world = World(mutability="MUTABLE")
    world.service("prod", "api", world.tag["D"])
    post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs", cwd=project, code=0)
    world.ecs.delete_service(cluster="prod", service="api", force=True)
    report = post_deploy_json("--config", "ecr.yaml", "--in-use", "ecs", cwd=project, code=0)
    assert report["repositories"][0]["shield"]["removed"] == [
        {"imageDigest": world.digest["D"], "tag": shield_tag(world.digest["D"])}]
    tags = {d["imageDigest"]: d.get("imageTags", []) for d in newest_first(world.ecr)}
    assert tags[world.digest["D"]] == [world.tag["D"]]


def world_now(images: list[lifecycle.Image]) -> float:
    return max(image.pushed_at for image in images) + 60


def test_protection_needs_a_source_of_images_in_use(aws: str, ecrgen: Any, project: Path) -> None:
    (project / "ecr.yaml").write_text(CONFIG.replace("defaults:\n", "defaults:\n  protect_in_use: true\n"))
    World()
    result = ecrgen("post-deploy", "--config", "ecr.yaml", cwd=project)
    assert result.returncode == 2 and "want protect_in_use, which needs to know the images in use" in result.stderr
    (project / "ecr.yaml").write_text(CONFIG.replace("defaults:\n", "in_use: {sources: [ecs]}\ndefaults:\n"
                                                                   "  protect_in_use: true\n"))
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    assert report["inUse"]["sources"] == "ecs" and "ListClusters" in report["summary"]["apiCalls"]


def test_the_post_deploy_policy_grants_every_call_discovery_guard_and_protection_make(aws: str,
                                                                                       project: Path) -> None:
    from generator.base import template_body
    from generator.model import config
    from generator.render import template

    (project / "ecr.yaml").write_text(CONFIG.replace("defaults:\n", "post_deploy_policy: true\nin_use: {sources: "
                                                     "[ecs, lambda]}\ndefaults:\n  protect_in_use: true\n"))
    world = World()
    world.service("prod", "api", world.tag["D"])
    world.task("batch", f"{world.uri}:{world.tag['C']}")
    world.function("resize", world.tag["B"], world.tag["A"])
    body = template.render(template.build(config.load(project / "ecr.yaml")))
    statements = template_body.parse(body, "t")["Resources"][template.POST_DEPLOY_POLICY_ID]["Properties"][
        "PolicyDocument"]["Statement"]
    granted = {action for s in statements for action in s["Action"]}
    report = post_deploy_json("--config", "ecr.yaml", cwd=project, code=0)
    service = {"ListClusters": "ecs", "ListServices": "ecs", "DescribeServices": "ecs", "ListTasks": "ecs",
               "DescribeTasks": "ecs", "DescribeTaskDefinition": "ecs", "ListFunctions": "lambda",
               "ListAliases": "lambda", "GetFunction": "lambda"}
    used = {f"{service.get(call, 'ecr')}:{call}" for call in report["summary"]["apiCalls"]}
    assert {"ecr:PutImage", "ecr:BatchGetImage", "ecs:DescribeTasks", "lambda:GetFunction"} <= used
    assert used <= granted
