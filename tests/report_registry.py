"""The demo registry of `ecrgen report`: nine repositories of tests/fixtures/report/ecr.yaml on moto.

moto stores images with the time they were put and reports neither scans nor archive status in
DescribeImages, so the fault proxy answers DescribeImages itself (`intercept`): moto's own
answer, with each image's push time, storage class and scan (status and severity counts) from
this fixture. Everything else is moto's. `shop-ecr-payments` refuses DescribeImages
(AccessDenied), as an IAM policy that denies one repository would. The data are generated from
a fixed seed, so the report at `NOW` is the same every run: the page docs/report.png shows.

The images in use (ecr.yaml's `in_use:`): ECS services and a Lambda function (`WORKLOADS`), and
images pulled in the last 7 days (`PULLS`; moto records no pull, so the proxy reports them).
Some of them the current policies expire or archive: the report's "at risk".
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fault_proxy import FaultProxy, Faults, RepositoryFault

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "fixtures" / "report" / "ecr.yaml"
NOW = "2026-06-01T00:00:00Z"
NOW_EPOCH = dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp()
DAY = 86_400
MIB = 2**20
DENIED = "shop-ecr-payments"
CLUSTER = "shop"
FUNCTION = "report-builder"
# Who runs what: (repository, image by push order, 0 the newest, user as discovery names it).
WORKLOADS = (
    ("shop-ecr-web", 0, f"ecs:{CLUSTER}/web"),
    ("shop-ecr-web", 24, f"ecs:{CLUSTER}/admin"),  # a rarely deployed service: "keep 20" expires it
    ("shop-ecr-checkout", 0, f"ecs:{CLUSTER}/checkout"),
    ("shop-ecr-reports", 0, f"lambda:{FUNCTION}:$LATEST"),
    ("shop-ecr-reports", 10, f"lambda:{FUNCTION}:live"),  # pushed over 90 days ago: archived
)
OTHER_REGISTRY_IMAGE = "nginx:1.27"  # beside the web service's own image: counted, ignored
# Images pulled recently: (repository, image by push order, days before NOW).
PULLS = (("shop-ecr-worker", 22, 2.0), ("shop-ecr-ml-models", 0, 1.0))
ROLE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@dataclass
class Image:
    digest: str
    tags: tuple[str, ...]
    pushed_at: float
    size: int
    archived_at: float | None = None  # set: the image is in archive storage
    scan: str | None = None           # imageScanStatus.status; None: never scanned
    findings: dict[str, int] = field(default_factory=dict)
    pulled_at: float | None = None    # lastRecordedPullTime; None: never pulled


@dataclass
class Repository:
    name: str
    count: int                     # images
    sizes: tuple[int, int]         # MiB, smallest and largest
    every_days: tuple[float, float]  # days between pushes
    untagged: float = 0.0          # share of untagged pushes
    findings: dict[str, int] = field(default_factory=dict)  # of the newest image
    newest_scan: str | None = "COMPLETE"
    scanned: bool = True
    archived: int = 0              # the oldest N are in archive storage
    drift: dict[str, Any] = field(default_factory=dict)  # live settings that differ from ecr.yaml
    images: list[Image] = field(default_factory=list)
    archive_policy: str | None = None  # a policy that archives, which moto cannot store: the proxy serves it


REPOSITORIES = [
    Repository("shop-ecr-web", 45, (120, 180), (2, 5), untagged=0.2, findings={"HIGH": 3, "MEDIUM": 7, "LOW": 12}),
    Repository("shop-ecr-api", 38, (200, 260), (3, 6), untagged=0.15,
               findings={"CRITICAL": 1, "HIGH": 4, "MEDIUM": 9}, drift={"imageTagMutability": "MUTABLE"}),
    Repository("shop-ecr-worker", 30, (90, 110), (4, 8), untagged=0.1, findings={"MEDIUM": 2, "LOW": 5}),
    Repository("shop-ecr-checkout", 25, (140, 160), (5, 9), findings={"CRITICAL": 2, "HIGH": 1},
               drift={"keep_last": 30}),
    Repository("shop-ecr-search", 18, (280, 320), (6, 12), newest_scan="IN_PROGRESS"),
    Repository("shop-ecr-base-image", 60, (400, 600), (5, 8), findings={"HIGH": 2, "LOW": 20, "INFORMATIONAL": 4}),
    Repository("shop-ecr-ml-models", 12, (2048, 3072), (20, 40), scanned=False, newest_scan=None,
               drift={"scanOnPush": False}),
    Repository("shop-ecr-reports", 20, (70, 90), (10, 20), archived=6),
    Repository(DENIED, 10, (50, 60), (3, 5)),
]


def build(ecr: Any) -> list[Repository]:
    """Create every repository, with its images and settings (drift included), in moto."""
    from generator.model import config
    from generator.reconcile import desired

    wishes = {w.name: w for w in desired.from_config(config.load(CONFIG))}
    rng = random.Random(23)
    number = 0
    for repo in REPOSITORIES:
        wish = wishes[repo.name]
        ecr.create_repository(
            repositoryName=repo.name,
            imageTagMutability=repo.drift.get("imageTagMutability", wish.image_tag_mutability),
            **({"imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": f}
                                                       for f in sorted(wish.exclusion_filters)]}
               if wish.exclusion_filters else {}),
            imageScanningConfiguration={"scanOnPush": repo.drift.get("scanOnPush", wish.scan_on_push)})
        if wish.lifecycle_policy is not None:
            text = wish.lifecycle_policy.to_text(indent=None)
            if "keep_last" in repo.drift:
                text = text.replace('"countNumber":10', f'"countNumber":{repo.drift["keep_last"]}')
            if '"transition"' in text:
                repo.archive_policy = text
            else:
                ecr.put_lifecycle_policy(repositoryName=repo.name, lifecyclePolicyText=text)
        pushed = NOW_EPOCH - rng.uniform(0.2, 2) * DAY
        images = []
        for index in range(repo.count):
            number += 1
            size = rng.randint(*repo.sizes) * MIB + rng.randint(0, MIB)
            tagged = rng.random() >= repo.untagged or index == 0
            tag = f"v{repo.count - index}.{rng.randint(0, 9)}" if tagged else None
            images.append(Image(_put(ecr, repo.name, number, size, tag), (tag,) if tag else (), pushed, size,
                                scan="COMPLETE" if repo.scanned else None))
            pushed -= rng.uniform(*repo.every_days) * DAY
        images[0].scan = repo.newest_scan
        images[0].findings = dict(repo.findings)
        for image in images[len(images) - repo.archived:]:
            image.archived_at = image.pushed_at + 95 * DAY
        repo.images = images
    by_name = {repo.name: repo for repo in REPOSITORIES}
    for name, index, days in PULLS:
        by_name[name].images[index].pulled_at = NOW_EPOCH - days * DAY
    return REPOSITORIES


def reference(ecr: Any, repository: Repository, index: int) -> str:
    """How a workload names the image: `<uri>:<tag>`, or `<uri>@<digest>` when it has no tag."""
    uri = ecr.describe_repositories(repositoryNames=[repository.name])["repositories"][0]["repositoryUri"]
    image = repository.images[index]
    return f"{uri}:{image.tags[0]}" if image.tags else f"{uri}@{image.digest}"


def run_workloads(moto_url: str, repositories: list[Repository]) -> None:
    """WORKLOADS in moto: an ECS service each, and one Lambda function whose alias `live` runs
    an older image than its $LATEST."""
    import boto3

    ecr, ecs, lam, iam = (boto3.client(service, endpoint_url=moto_url) for service in ("ecr", "ecs", "lambda", "iam"))
    by_name = {repo.name: repo for repo in repositories}
    ecs.create_cluster(clusterName=CLUSTER)
    functions = {}
    for name, index, user in WORKLOADS:
        image = reference(ecr, by_name[name], index)
        if user.startswith("lambda:"):
            functions[user.rsplit(":", 1)[-1]] = image
            continue
        service = user.rsplit("/", 1)[-1]
        containers = [{"name": service, "image": image, "memory": 128}]
        if service == "web":
            containers.append({"name": "proxy", "image": OTHER_REGISTRY_IMAGE, "memory": 64})
        definition = ecs.register_task_definition(family=service, containerDefinitions=containers)
        ecs.create_service(cluster=CLUSTER, serviceName=service, desiredCount=1,
                           taskDefinition=definition["taskDefinition"]["taskDefinitionArn"])
    role = iam.create_role(RoleName=f"{FUNCTION}-role", AssumeRolePolicyDocument=ROLE_TRUST)
    lam.create_function(FunctionName=FUNCTION, Role=role["Role"]["Arn"], PackageType="Image",
                        Code={"ImageUri": functions["live"]})
    lam.publish_version(FunctionName=FUNCTION)
    lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
    lam.update_function_code(FunctionName=FUNCTION, ImageUri=functions["$LATEST"])


def _put(ecr: Any, repository: str, number: int, size: int, tag: str | None) -> str:
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": size,
                   "digest": f"sha256:{number:064x}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": size,
                    "digest": f"sha256:{number + 10**6:064x}"}]})
    image = ecr.put_image(repositoryName=repository, imageManifest=manifest, **({"imageTag": tag} if tag else {}))
    return str(image["image"]["imageId"]["imageDigest"])


def serve(proxy: FaultProxy, moto_url: str, repositories: list[Repository]) -> None:
    """The proxy answers DescribeImages with moto's images as this fixture describes them (and
    GetLifecyclePolicy with the archive policies moto cannot store), and refuses DescribeImages
    for DENIED."""
    import boto3

    direct = boto3.client("ecr", endpoint_url=moto_url)
    by_digest = {image.digest: image for repo in repositories for image in repo.images}

    def describe_images(body: dict[str, Any]) -> dict[str, Any]:
        details = direct.describe_images(repositoryName=body["repositoryName"])["imageDetails"]
        return {"imageDetails": [_detail(raw, by_digest[raw["imageDigest"]]) for raw in details]}

    archiving = {repo.name: repo.archive_policy for repo in repositories if repo.archive_policy}

    def get_lifecycle_policy(body: dict[str, Any]) -> dict[str, Any] | None:
        name = body["repositoryName"]
        return {"registryId": "123456789012", "repositoryName": name,
                "lifecyclePolicyText": archiving[name]} if name in archiving else None

    proxy.intercept("DescribeImages", describe_images)
    proxy.intercept("GetLifecyclePolicy", get_lifecycle_policy)
    proxy.configure(Faults(repositories=(RepositoryFault(DENIED, operations=("DescribeImages",)),)))


def _detail(raw: dict[str, Any], image: Image) -> dict[str, Any]:
    detail = {key: value.timestamp() if isinstance(value, dt.datetime) else value for key, value in raw.items()}
    detail["imagePushedAt"] = image.pushed_at
    if image.archived_at is not None:
        detail.update(imageStatus="ARCHIVED", lastArchivedAt=image.archived_at)
    else:
        detail["imageStatus"] = "ACTIVE"
    if image.scan is not None:
        detail["imageScanStatus"] = {"status": image.scan, "description": "fixture"}
    if image.findings:
        detail["imageScanFindingsSummary"] = {"findingSeverityCounts": image.findings}
    if image.pulled_at is not None:
        detail["lastRecordedPullTime"] = image.pulled_at
    return detail


@pytest.fixture()
def registry(aws: str, fault_proxy: FaultProxy) -> list[Repository]:
    """The demo registry on moto, behind the fault proxy (AWS_ENDPOINT_URL points at it)."""
    import boto3

    repositories = build(boto3.client("ecr", endpoint_url=aws))
    run_workloads(aws, repositories)
    serve(fault_proxy, aws, repositories)
    return repositories
