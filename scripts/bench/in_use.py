"""Benchmark: in-use discovery over 20 ECS clusters, 200 services, 2,000 tasks and 300 Lambda
image functions, against a local moto server (started here).

Targets: the minimal batched calls (counted: one ListClusters page; per cluster one ListServices
and one ListTasks page, one DescribeServices per 10 services and one DescribeTasks per 100 tasks;
one DescribeTaskDefinition per task definition; one ListFunctions page; per function one
ListAliases page and one GetFunction per version in use, here $LATEST and the aliased version 1;
moto answers every list in one page) and `generator.aws.in_use.discover` within 1.5x of the same
raw boto3 calls at the same concurrency, in the same process with the same clients (medians of
alternating runs). Exit 1 when a target is missed.

Run on a quiet machine: `.venv/bin/python scripts/bench/in_use.py [--runs 5]`.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_aws import start_local_aws  # scripts/bench/local_aws.py
from targets import Targets  # scripts/bench/targets.py

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TARGET_RATIO = 1.5
REPOSITORY = "bench-ecr-app"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def setup(clients: dict[str, Any], clusters: int, services: int, tasks: int, functions: int,
          concurrency: int) -> None:
    """Images v0..v19 in one repository; each service its own task definition (an image of ours
    and Docker Hub's nginx); the tasks run the services' task definitions, spread over the
    clusters; each function runs an image, with version 1 behind alias `live`."""
    ecr, ecs, lam = clients["ecr"], clients["ecs"], clients["lambda"]
    uri = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    for number in range(20):
        layer = {"digest": f"sha256:{number + 1:064x}", "size": 1000,
                 "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": layer, "layers": [layer]}
        ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=f"v{number}")
    names = [f"c{n:02}" for n in range(clusters)]
    for name in names:
        ecs.create_cluster(clusterName=name)

    def service(index: int) -> str:
        cluster = names[index % clusters]
        definition = ecs.register_task_definition(family=f"svc{index:03}", containerDefinitions=[
            {"name": "app", "image": f"{uri}:v{index % 20}", "memory": 128},
            {"name": "proxy", "image": "nginx:1.27", "memory": 64}])["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster=cluster, serviceName=f"svc{index:03}", taskDefinition=definition,
                           desiredCount=1)
        return definition  # type: ignore[no-any-return]

    role = clients["iam"].create_role(RoleName="bench-fn", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]

    def function(index: int) -> None:
        name = f"fn{index:03}"
        lam.create_function(FunctionName=name, Role=role, PackageType="Image",
                            Code={"ImageUri": f"{uri}:v{index % 20}"})
        lam.publish_version(FunctionName=name)
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")

    with ThreadPoolExecutor(concurrency) as pool:
        definitions = list(pool.map(service, range(services)))
        per_cluster = tasks // clusters
        list(pool.map(lambda n: ecs.run_task(cluster=names[n], taskDefinition=definitions[n],
                                             count=per_cluster, launchType="FARGATE"), range(clusters)))
        list(pool.map(function, range(functions)))


def raw(clients: dict[str, Any], concurrency: int) -> int:
    """The same calls as discovery, straight through boto3: the references found."""
    ecs, lam = clients["ecs"], clients["lambda"]

    def pages(client: Any, operation: str, key: str, size: int, **params: Any) -> list[Any]:
        paginator = client.get_paginator(operation)
        return [i for p in paginator.paginate(**params, PaginationConfig={"PageSize": size}) for i in p[key]]

    def ecs_images() -> list[str]:
        clusters = pages(ecs, "list_clusters", "clusterArns", 100)
        with ThreadPoolExecutor(concurrency) as pool:
            services = list(pool.map(lambda c: pages(ecs, "list_services", "serviceArns", 100, cluster=c),
                                     clusters))
            tasks = list(pool.map(lambda c: pages(ecs, "list_tasks", "taskArns", 100, cluster=c), clusters))
            jobs = [(c, s[i:i + 10]) for c, s in zip(clusters, services, strict=True)
                    for i in range(0, len(s), 10)]
            described = list(pool.map(
                lambda j: ecs.describe_services(cluster=j[0], services=j[1])["services"], jobs))
            jobs = [(c, t[i:i + 100]) for c, t in zip(clusters, tasks, strict=True)
                    for i in range(0, len(t), 100)]
            ran = list(pool.map(lambda j: ecs.describe_tasks(cluster=j[0], tasks=j[1])["tasks"], jobs))
            arns = {s["taskDefinition"] for group in described for s in group}
            arns |= {d["taskDefinition"] for group in described for s in group for d in s["deployments"]}
            arns |= {t["taskDefinitionArn"] for group in ran for t in group}
            definitions = pool.map(lambda a: ecs.describe_task_definition(taskDefinition=a)["taskDefinition"],
                                   sorted(arns))
            return [c["image"] for d in definitions for c in d["containerDefinitions"]]

    def lambda_images() -> list[str]:
        names = [f["FunctionName"] for f in pages(lam, "list_functions", "Functions", 50)
                 if f.get("PackageType") == "Image"]
        with ThreadPoolExecutor(concurrency) as pool:
            aliases = list(pool.map(lambda n: pages(lam, "list_aliases", "Aliases", 10_000, FunctionName=n),
                                    names))
            jobs = [(n, v) for n, found in zip(names, aliases, strict=True)
                    for v in {"$LATEST", *(a["FunctionVersion"] for a in found)}]
            codes = pool.map(lambda j: lam.get_function(FunctionName=j[0], Qualifier=j[1])["Code"], jobs)
            return [c.get("ResolvedImageUri") or c["ImageUri"] for c in codes]

    with ThreadPoolExecutor(2) as both:
        found = [both.submit(ecs_images), both.submit(lambda_images)]
        return sum(len(f.result()) for f in found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--functions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5, help="alternating runs of each")
    args = parser.parse_args()

    moto_local, proc, _ = start_local_aws()
    try:
        import boto3
        from botocore.config import Config

        from generator.aws.ecr import CallCounter
        from generator.aws.in_use import discover

        config = Config(max_pool_connections=args.concurrency,
                        retries={"mode": "standard", "max_attempts": 5})
        clients = {name: boto3.client(name, config=config) for name in ("ecr", "ecs", "lambda", "iam")}
        start = time.perf_counter()
        setup(clients, args.clusters, args.services, args.tasks, args.functions, args.concurrency)
        print(f"in_use: setup {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        counter = CallCounter()
        counted = {name: counter.attach(boto3.client(name, config=config)) for name in ("ecs", "lambda")}
        uses = discover(counted, ["ecs", "lambda"], args.concurrency)
        calls = dict(counter.counts)
        ours, theirs = [], []
        for _ in range(args.runs):
            begin = time.perf_counter()
            discover(clients, ["ecs", "lambda"], args.concurrency)
            ours.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            raw(clients, args.concurrency)
            theirs.append(time.perf_counter() - begin)
    finally:
        moto_local.stop(proc)
    per_cluster_tasks = args.tasks // args.clusters
    minimum = {"ListClusters": 1, "ListServices": args.clusters, "ListTasks": args.clusters,
               "DescribeServices": args.clusters * math.ceil(args.services / args.clusters / 10),
               "DescribeTasks": args.clusters * math.ceil(per_cluster_tasks / 100),
               "DescribeTaskDefinition": args.services, "ListFunctions": 1, "ListAliases": args.functions,
               "GetFunction": 2 * args.functions}
    users = Counter(use.user.split(":", 1)[0] for use in uses)
    checks = Targets("in_use")
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"in_use: discovery of {args.clusters} clusters, {args.services} services, {args.tasks:,} tasks, "
          f"{args.functions} functions: median {statistics.median(ours):.2f} s (best {min(ours):.2f} s); "
          f"the same raw boto3 calls median {statistics.median(theirs):.2f} s (best {min(theirs):.2f} s), "
          f"{args.concurrency} threads, {args.runs} alternating runs: {ratio:.2f}x "
          f"({checks.check(f'<= {TARGET_RATIO}x', ratio <= TARGET_RATIO)})")
    print(f"  {len(uses):,} references found ({', '.join(f'{n:,} {k}' for k, n in sorted(users.items()))}); "
          f"{sum(calls.values()):,} calls")
    for api in sorted(set(calls) | set(minimum)):
        print(f"  {api:24} {calls.get(api, 0):6}  minimum {minimum.get(api, 0):6}")
    print(f"  {checks.check('minimum calls', calls == minimum)}")
    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
