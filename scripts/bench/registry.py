"""Benchmark: what reconciling the registry adds to a converged `ecrgen post-deploy` run.

Against one local moto server this script starts and stops: N repositories in sync, a registry
already holding another team's scan filter and policy statement, then alternating converged runs
of the same ecr.yaml with and without its `registry:` section. Target: the section adds at most
3 reads (one per registry document) and no write, and the median wall time it adds is reported.

Run: `.venv/bin/python scripts/bench/registry.py [--repos 50] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_aws import start_local_aws  # scripts/bench/local_aws.py

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = """\
registry:
  scanning:
    scan_on_push: ["${SystemName}-ecr-*"]
  replication:
    - destinations: [{region: eu-west-1}]
      prefixes: ["${SystemName}-ecr-"]
  policy_statements:
    - Sid: ecrgen-${SystemName}-ReplicateIn
      Effect: Allow
      Principal: {AWS: "arn:aws:iam::111122223333:root"}
      Action: [ecr:ReplicateImage]
      Resource: "*"
"""
MAX_READS, MAX_WRITES = 3, 0



def post_deploy(config: Path) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "generator", "post-deploy", "--config", str(config),
                             "--output", "json"], cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"post-deploy exited {result.returncode}: {result.stderr}")
    return seconds, json.loads(result.stdout)["summary"]["apiCalls"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    moto_local, proc, _ = start_local_aws()
    try:
        import boto3

        ecr = boto3.client("ecr")
        theirs = [{"filter": "team-b-*", "filterType": "WILDCARD"}]
        ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": theirs}])
        ecr.put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "TeamB", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
             "Action": ["ecr:ReplicateImage"], "Resource": "*"}]}))
        with tempfile.TemporaryDirectory() as folder:
            entries = "".join(f"  - name: app{i}\n" for i in range(args.repos))
            plain = Path(folder) / "plain.yaml"
            plain.write_text(f"system_name: bench\nrepositories:\n{entries}")
            with_registry = Path(folder) / "registry.yaml"
            with_registry.write_text(plain.read_text() + REGISTRY)
            for name in (f"bench-ecr-app{i}" for i in range(args.repos)):
                ecr.create_repository(repositoryName=name)
            post_deploy(with_registry)  # converge repositories and registry
            times: dict[Path, list[float]] = {plain: [], with_registry: []}
            calls: dict[Path, dict[str, int]] = {}
            for _ in range(args.runs):
                for config in times:
                    seconds, calls[config] = post_deploy(config)
                    times[config].append(seconds)
    finally:
        moto_local.stop(proc)
    added = {op: n - calls[plain].get(op, 0) for op, n in calls[with_registry].items()
             if n != calls[plain].get(op, 0)}
    reads = sum(n for op, n in added.items() if op.startswith(("Get", "Describe")))
    writes = sum(n for op, n in added.items() if not op.startswith(("Get", "Describe")))
    ok = reads <= MAX_READS and writes <= MAX_WRITES
    extra = statistics.median(times[with_registry]) - statistics.median(times[plain])
    print(f"registry: converged run of {args.repos} repositories, `registry:` adds {reads} reads and "
          f"{writes} writes ({', '.join(f'{op} {n}' for op, n in sorted(added.items()))}): "
          f"<= {MAX_READS} reads, {MAX_WRITES} writes: {'ok' if ok else 'MISSED'}")
    print(f"registry: median {statistics.median(times[with_registry]):.2f} s with, "
          f"{statistics.median(times[plain]):.2f} s without ({extra * 1000:+.0f} ms), {args.runs} runs each")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
