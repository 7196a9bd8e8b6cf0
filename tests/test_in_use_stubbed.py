"""In-use discovery's call shapes where moto falls short, with botocore's Stubber: every page of
every list call, DescribeServices 10 and DescribeTasks 100 at a time, each task definition read
once, a service with two deployments (PRIMARY and ACTIVE) and a task set, a task container's
`imageDigest`, weighted aliases, a function deleted while it is read, a refused call.

With `concurrency=1` each step's calls run in order, so the Stubber's queue can check each one's
parameters exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.aws.ecr import CallCounter
from generator.aws.in_use import DiscoveryError, discover
from generator.model.in_use import Use

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ARN = "arn:aws:ecs:us-east-1:123456789012"
DIGEST = "sha256:" + "d" * 64


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")


@pytest.fixture()
def stubbed() -> Iterator[tuple[dict[str, Any], dict[str, Stubber], CallCounter]]:
    clients = {"ecs": client("ecs"), "lambda": client("lambda")}
    counter = CallCounter()
    for each in clients.values():
        counter.attach(each)
    stubs = {name: Stubber(each) for name, each in clients.items()}
    for stub in stubs.values():
        stub.activate()
    yield clients, stubs, counter
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def definition(arn: str, *images: str) -> dict[str, Any]:
    return {"taskDefinition": {"taskDefinitionArn": arn, "containerDefinitions": [
        {"name": f"c{n}", "image": image} for n, image in enumerate(images)]}}


def pairs(uses: tuple[Use, ...]) -> set[tuple[str, str]]:
    return {(str(use.reference), use.user) for use in uses}


def test_ecs_every_page_batches_of_10_and_100_each_definition_once(stubbed) -> None:
    clients, stubs, counter = stubbed
    ecs = stubs["ecs"]
    cluster = f"{ARN}:cluster/prod"
    ecs.add_response("list_clusters", {"clusterArns": [cluster], "nextToken": "c2"}, {"maxResults": 100})
    ecs.add_response("list_clusters", {"clusterArns": []}, {"maxResults": 100, "nextToken": "c2"})
    services = [f"{ARN}:service/prod/s{i:02}" for i in range(25)]
    tasks = [f"{ARN}:task/prod/t{i:03}" for i in range(150)]
    ecs.add_response("list_services", {"serviceArns": services[:20], "nextToken": "s2"},
                     {"cluster": cluster, "maxResults": 100})
    ecs.add_response("list_services", {"serviceArns": services[20:]},
                     {"cluster": cluster, "maxResults": 100, "nextToken": "s2"})
    ecs.add_response("list_tasks", {"taskArns": tasks[:100], "nextToken": "t2"}, {"cluster": cluster, "maxResults": 100})
    ecs.add_response("list_tasks", {"taskArns": tasks[100:]}, {"cluster": cluster, "maxResults": 100, "nextToken": "t2"})
    old, new, sets = (f"{ARN}:task-definition/api:{n}" for n in (1, 2, 3))
    for batch in (services[:10], services[10:20], services[20:]):
        described = [{"serviceName": arn.rsplit("/", 1)[1], "status": "ACTIVE", "taskDefinition": new,
                      "deployments": [{"status": "PRIMARY", "taskDefinition": new}]} for arn in batch]
        if batch[0] == services[0]:  # a rolling deployment: the old task definition still runs
            described[0]["deployments"].append({"status": "ACTIVE", "taskDefinition": old})
            described[1]["deployments"] = []
            described[1]["taskSets"] = [{"status": "PRIMARY", "taskDefinition": sets}]
            described[2]["status"] = "INACTIVE"  # deleted: nothing of it runs
        ecs.add_response("describe_services", {"services": described}, {"cluster": cluster, "services": batch})
    for batch in (tasks[:100], tasks[100:]):
        described = [{"taskArn": arn, "group": "family:job", "taskDefinitionArn": new, "containers": []}
                     for arn in batch]
        if batch[0] == tasks[0]:
            described[0]["containers"] = [{"image": f"{REGISTRY}/web:latest", "imageDigest": DIGEST},
                                          {"image": "nginx:1.27"}]  # no digest reported
            described[1]["group"] = "service:s00"
        ecs.add_response("describe_tasks", {"tasks": described}, {"cluster": cluster, "tasks": batch})
    for arn, image in ((old, "web:v1"), (new, "web:v2"), (sets, "web:v3")):
        ecs.add_response("describe_task_definition", definition(arn, f"{REGISTRY}/{image}", "nginx:1.27"),
                         {"taskDefinition": arn})

    uses = discover(clients, ["ecs"], concurrency=1)

    found = pairs(uses)
    assert (f"{REGISTRY}/web:v1", "ecs:prod/s00") in found  # the ACTIVE deployment
    assert (f"{REGISTRY}/web:v2", "ecs:prod/s00") in found  # the PRIMARY one
    assert (f"{REGISTRY}/web:v3", "ecs:prod/s01") in found  # a task set (CODE_DEPLOY, EXTERNAL)
    assert not any(user == "ecs:prod/s02" for _, user in found)  # INACTIVE
    assert (f"{REGISTRY}/web:latest@{DIGEST}", "ecs:prod/t000") in found  # the digest the task runs
    assert (f"{REGISTRY}/web:v2", "ecs:prod/t000") in found  # and what its next start would pull
    assert (f"{REGISTRY}/web:v2", "ecs:prod/s00") in found  # a service's task is the service's
    assert not any(user == "ecs:prod/t001" for _, user in found)
    assert counter.counts == {"ListClusters": 2, "ListServices": 2, "ListTasks": 2, "DescribeServices": 3,
                              "DescribeTasks": 2, "DescribeTaskDefinition": 3}


def test_lambda_latest_and_every_aliased_version_once(stubbed) -> None:
    clients, stubs, counter = stubbed
    lam = stubs["lambda"]
    functions = [{"FunctionName": "resize", "PackageType": "Image"}, {"FunctionName": "zip-one", "PackageType": "Zip"}]
    lam.add_response("list_functions", {"Functions": functions[:1], "NextMarker": "m"}, {"MaxItems": 50})
    gone = {"FunctionName": "gone", "PackageType": "Image"}  # deleted while it is read
    lam.add_response("list_functions", {"Functions": [*functions[1:], gone]}, {"MaxItems": 50, "Marker": "m"})
    lam.add_response("list_aliases", {"Aliases": [{"Name": "live", "FunctionVersion": "3", "RoutingConfig": {
        "AdditionalVersionWeights": {"2": 0.1}}}], "NextMarker": "a"}, {"FunctionName": "resize", "MaxItems": 10000})
    lam.add_response("list_aliases", {"Aliases": [{"Name": "beta", "FunctionVersion": "3"}]},
                     {"FunctionName": "resize", "MaxItems": 10000, "Marker": "a"})
    lam.add_client_error("list_aliases", "ResourceNotFoundException", "Function not found",
                         expected_params={"FunctionName": "gone", "MaxItems": 10000})
    codes = {"$LATEST": {"ImageUri": f"{REGISTRY}/fn:v4"},  # no ResolvedImageUri: ImageUri
             "3": {"ImageUri": f"{REGISTRY}/fn:v3", "ResolvedImageUri": f"{REGISTRY}/fn@{DIGEST}"},
             "2": {"ImageUri": f"{REGISTRY}/fn:v2", "ResolvedImageUri": f"{REGISTRY}/fn@sha256:{'2' * 64}"}}
    for version, code in codes.items():
        lam.add_response("get_function", {"Code": code}, {"FunctionName": "resize", "Qualifier": version})
    lam.add_client_error("get_function", "ResourceNotFoundException", "deleted since it was listed",
                         expected_params={"FunctionName": "gone", "Qualifier": "$LATEST"})

    uses = discover(clients, ["lambda"], concurrency=1)

    assert pairs(uses) == {(f"{REGISTRY}/fn:v4", "lambda:resize:$LATEST"),
                           (f"{REGISTRY}/fn@{DIGEST}", "lambda:resize:live"),
                           (f"{REGISTRY}/fn@{DIGEST}", "lambda:resize:beta"),
                           (f"{REGISTRY}/fn@sha256:{'2' * 64}", "lambda:resize:live")}
    assert counter.counts == {"ListFunctions": 2, "ListAliases": 3, "GetFunction": 4}


def test_a_refused_call_names_the_service_and_the_call(stubbed) -> None:
    clients, stubs, _ = stubbed
    stubs["ecs"].add_client_error("list_clusters", "AccessDeniedException", "not authorized to ecs:ListClusters")
    with pytest.raises(DiscoveryError) as caught:
        discover(clients, ["ecs"], concurrency=1)
    assert str(caught.value) == "ecs ListClusters: AccessDeniedException: not authorized to ecs:ListClusters"


# --- the guard and the shield writes --------------------------------------------------------

def image_detail(n: int, *tags: str, pulled: str | None = None) -> dict[str, Any]:
    detail = {"registryId": "123456789012", "repositoryName": "web", "imageDigest": f"sha256:{n:064x}",
              "imageTags": list(tags), "imagePushedAt": f"2026-11-{n:02}T00:00:00Z", "imageSizeInBytes": 10}
    if pulled:
        detail["lastRecordedPullTime"] = pulled
    return detail


def test_the_guard_counts_recent_pulls_as_in_use() -> None:
    """moto records no pull time: ECR's lastRecordedPullTime, as DescribeImages gives it."""
    from concurrent.futures import Future
    from datetime import UTC, datetime

    from generator.aws.in_use import Guard
    from generator.model import lifecycle
    from generator.model.in_use import Sources
    from generator.reconcile import desired, diff

    ecr = client("ecr")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    policy = lifecycle.parse({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]})
    wish = desired.RepositorySettings("web", "test", lifecycle_policy=policy)
    live = diff.LiveState({"web": diff.LiveRepository("web", "MUTABLE",
                                                      arn="arn:aws:ecr:us-east-1:123456789012:repository/web")})
    plan = diff.plan([wish], live)
    discovery: Future[tuple[Use, ...]] = Future()
    discovery.set_result(())
    guard = Guard(ecr, [wish], discovery, Sources(pulled_within_days=7), allow=False, write=True, concurrency=1)
    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [image_detail(2, "v2"), image_detail(1, "v1", pulled=now)]},
                          {"repositoryName": "web", "filter": {"imageStatus": "ANY"}})
        held = guard(live, plan)
    (change,) = plan.changes
    assert held == {change}
    (victim,) = guard.verdicts["web"].victims
    assert victim.digest == f"sha256:{1:064x}" and victim.users == (f"pulled:{now[:10]}",)


def test_a_shield_tag_is_kept_when_its_image_lost_its_other_tags_meanwhile() -> None:
    from generator.aws.protection import write
    from generator.model.protection import ShieldPlan

    ecr = client("ecr")
    mine, theirs = (f"sha256:{n:064x}" for n in (1, 2))
    shield = ShieldPlan(remove=((mine, "ecrgen-in-use-1"), (theirs, "ecrgen-in-use-2")))
    with Stubber(ecr) as stub:
        # read again just before: image 1 still has v1, image 2 has nothing but its shield tag now
        stub.add_response("describe_images", {"imageDetails": [
            image_detail(1, "v1", "ecrgen-in-use-1"), image_detail(2, "ecrgen-in-use-2")]},
            {"repositoryName": "web", "imageIds": [{"imageDigest": mine}, {"imageDigest": theirs}]})
        stub.add_response("batch_delete_image", {"imageIds": [{"imageTag": "ecrgen-in-use-1"}], "failures": []},
                          {"repositoryName": "web", "imageIds": [{"imageTag": "ecrgen-in-use-1"}]})
        written, error = write(ecr, "web", shield)
        stub.assert_no_pending_responses()
    assert error is None
    assert written.remove == ((mine, "ecrgen-in-use-1"),)
    assert written.kept == ((theirs, "ecrgen-in-use-2"),)


def test_a_shield_tag_is_put_with_the_manifest_as_stored_and_its_digest() -> None:
    from generator.aws.protection import MANIFEST_TYPES, write
    from generator.model.protection import ShieldPlan

    ecr = client("ecr")
    digest = f"sha256:{1:064x}"
    manifest = '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    with Stubber(ecr) as stub:
        stub.add_response("batch_get_image", {"images": [{"imageId": {"imageDigest": digest}, "imageManifest": manifest,
                                                          "imageManifestMediaType": MANIFEST_TYPES[2]}],
                                              "failures": []},
                          {"repositoryName": "web", "imageIds": [{"imageDigest": digest}],
                           "acceptedMediaTypes": list(MANIFEST_TYPES)})
        stub.add_response("put_image", {"image": {"imageId": {"imageDigest": digest, "imageTag": "ecrgen-in-use-1"}}},
                          {"repositoryName": "web", "imageManifest": manifest, "imageTag": "ecrgen-in-use-1",
                           "imageDigest": digest, "imageManifestMediaType": MANIFEST_TYPES[2]})
        written, error = write(ecr, "web", ShieldPlan(add=((digest, "ecrgen-in-use-1"),)))
        stub.assert_no_pending_responses()
    assert (written.add, error) == (((digest, "ecrgen-in-use-1"),), None)
