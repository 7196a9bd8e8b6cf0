"""Benchmark: `ecrgen import` of 1,000 repositories against a local moto server.

Targets: the minimal calls (DescribeRepositories pages, plus one GetLifecyclePolicy, one
GetRepositoryPolicy and one ListTagsForResource per repository, and one page each of the
pull-through cache rules and creation templates, which the tests' loopback fake in front of moto
answers) and a whole `ecrgen import` process within 1.5x the time raw boto3 takes for the same
calls, through the same proxy, at the same concurrency (a client made beforehand). Exit 1 when a
target is missed.

Run on a quiet machine: `.venv/bin/python scripts/bench/import_.py [--repositories 1000]`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_aws import front_with_fake, start_local_aws  # scripts/bench/local_aws.py
from targets import Targets  # scripts/bench/targets.py

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 1.5
POLICY = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                      "countNumber": 20}, "action": {"type": "expire"}}]}


def create(ecr: Any, count: int, concurrency: int) -> None:
    """Half with a lifecycle policy, a tenth with tags: every read has something to find."""
    def one(index: int) -> None:
        name = f"big-ecr-app{index:04}"
        tags = [{"Key": "team", "Value": f"t{index % 3}"}] if index % 10 == 0 else []
        ecr.create_repository(repositoryName=name, tags=tags)
        if index % 2:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(POLICY))

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))


def raw_reads(ecr: Any, concurrency: int) -> float:
    """The same calls as `ecrgen import` makes, straight through boto3."""
    start = time.perf_counter()
    pages = ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1000})
    repos = [r for page in pages for r in page["repositories"]]

    def one(call: tuple[str, dict[str, Any]]) -> None:
        name, repo = call
        try:
            if name == "tags":
                ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])
            else:
                getattr(ecr, name)(repositoryName=repo["repositoryName"])
        except (ecr.exceptions.LifecyclePolicyNotFoundException,
                ecr.exceptions.RepositoryPolicyNotFoundException):
            pass

    calls = [(name, repo) for repo in repos
             for name in ("get_lifecycle_policy", "get_repository_policy", "tags")]
    for operation in ("describe_pull_through_cache_rules", "describe_repository_creation_templates"):
        list(ecr.get_paginator(operation).paginate(PaginationConfig={"PageSize": 1000}))
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, calls))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    moto_local, proc, url = start_local_aws()
    proxy, _ = front_with_fake(url)  # moto has no pull-through cache rules or creation templates
    try:
        import boto3
        from botocore.config import Config

        ecr = boto3.client("ecr", config=Config(max_pool_connections=args.concurrency))
        create(ecr, args.repositories, args.concurrency)
        raw_seconds = raw_reads(ecr, args.concurrency)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "generator", "import", "--out",
                                     f"{tmp}/ecr.yaml", "--concurrency", str(args.concurrency)],
                                    capture_output=True, text=True, check=False, cwd=ROOT)
            seconds = time.perf_counter() - start
    finally:
        proxy.stop()
        moto_local.stop(proc)
    if result.returncode != 0:
        sys.exit(f"ecrgen import failed ({result.returncode}): {result.stderr}")
    calls = {op: int(n) for op, n in re.findall(r"(\w+) (\d+)", result.stderr.split("api calls:")[1])}
    count = args.repositories
    minimum = {"DescribeRepositories": math.ceil(count / 1000), "GetLifecyclePolicy": count,
               "GetRepositoryPolicy": count, "ListTagsForResource": count,
               "DescribePullThroughCacheRules": 1, "DescribeRepositoryCreationTemplates": 1}
    checks = Targets("import")
    ratio = seconds / raw_seconds
    print(f"import: {count:,} repositories: {seconds:.2f} s whole process, raw boto3 {raw_seconds:.2f} s "
          f"for the same calls; {ratio:.2f}x ({checks.check(f'<= {TARGET_RATIO}x', ratio <= TARGET_RATIO)})")
    for api in sorted(set(calls) | set(minimum)):
        print(f"  {api:36} {calls.get(api, 0):6}  minimum {minimum.get(api, 0):6}")
    print(f"  {checks.check('minimum calls', calls == minimum)}")
    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
