"""Benchmark: `ecrgen post-deploy` against one local moto server that this script starts and stops.

Measures, in one run against the same server:
1. the server's raw request rate: N single-name DescribeRepositories calls from one shared
   boto3 client with `--concurrency` threads (the ceiling for any client in this process model);
2. N drifted repositories (MUTABLE, scan off, no lifecycle policy) converging: whole-process wall
   time of `python -m generator post-deploy --config`, its calls per API against the minimum
   (ceil(N/100) DescribeRepositories, N GetLifecyclePolicy, one write per drifted setting);
3. a converged `post-deploy --check` of the same N repositories, whole process, against the
   minimum reads (ceil(N/100) DescribeRepositories of 100 names, N GetLifecyclePolicy) made raw:
   a fresh Python process that imports boto3, makes one client and makes exactly those calls with
   the same threads, what any client needs (target: median at most 1.1x, alternating runs). The
   same reads from this process's warm client are printed too: what the server alone takes.
4. `--small` drifted repositories: ecrgen against a loop of `aws ecr put-image-tag-mutability`
   plus `put-image-scanning-configuration` per repository (target: at least 20x faster than the
   loop at the nominal cost per call). The AWS CLI is not installed here, so
   the loop's cost is (a) the nominal 0.4 s per AWS CLI call and (b) measured: a fresh Python
   process per call that imports boto3, makes a client and makes the one call (a lower bound for
   the AWS CLI, which loads far more), timed on a sample and extrapolated.

Converging must also take exactly the minimum calls. A missed target is exit 1 (see targets.py).
Run on a quiet machine: `.venv/bin/python scripts/bench/post_deploy.py [--repos 1000] [--small 50]`.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_aws import start_local_aws  # scripts/bench/local_aws.py
from targets import Targets  # scripts/bench/targets.py

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI_SECONDS = 0.4  # a typical `aws ecr ...` invocation, as stated in issue 3
RERUN_TARGET_RATIO = 1.1  # to the minimum reads in a raw boto3 process
SPEEDUP_TARGET = 20  # against the AWS CLI loop at AWS_CLI_SECONDS per call
CONFIG = """\
system_name: {system}
settings_via: post-deploy
defaults:
  image_tag_mutability: IMMUTABLE
  scan_on_push: true
  lifecycle: [{{description: Keep the 20 most recent images, tag_status: any, keep_last: 20}}]
repositories:
{entries}
"""
RAW_READS = """\
import sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
threads, names = int(sys.argv[1]), sys.argv[2:]
ecr = boto3.client("ecr", config=Config(max_pool_connections=threads))
with ThreadPoolExecutor(threads) as pool:
    found = [r for batch in pool.map(lambda i: ecr.describe_repositories(repositoryNames=names[i:i + 100]),
                                     range(0, len(names), 100)) for r in batch["repositories"]]
    texts = list(pool.map(lambda r: ecr.get_lifecycle_policy(repositoryName=r["repositoryName"]), found))
print(len(texts))
"""
ONE_CALL = """\
import boto3, sys
boto3.client("ecr").put_image_tag_mutability(repositoryName=sys.argv[1], imageTagMutability="IMMUTABLE")
"""



def names(system: str, count: int) -> list[str]:
    return [f"{system}-ecr-app{i:04}" for i in range(count)]


def write_config(folder: Path, system: str, count: int) -> Path:
    path = folder / f"{system}.yaml"
    path.write_text(CONFIG.format(system=system, entries="\n".join(
        f"  - name: app{i:04}" for i in range(count))))
    return path


def create_drifted(ecr: Any, repositories: list[str], concurrency: int) -> None:
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda name: ecr.create_repository(repositoryName=name), repositories))


def raw_rate(ecr: Any, repositories: list[str], concurrency: int) -> float:
    """Plain DescribeRepositories calls per second, one name each, through one shared client."""
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda name: ecr.describe_repositories(repositoryNames=[name]), repositories))
    return len(repositories) / (time.perf_counter() - start)


def post_deploy(config: Path, concurrency: int, *flags: str) -> tuple[float, int, dict[str, Any]]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "generator", "post-deploy", "--config", str(config),
                             "--output", "json", "--concurrency", str(concurrency), *flags],
                            capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"ecrgen failed ({result.returncode}): {result.stderr}")
    return elapsed, result.returncode, json.loads(result.stdout)


def one_call_seconds(repositories: list[str]) -> float:
    """Mean wall time of a fresh process making one boto3 call (the AWS CLI is not installed)."""
    times = []
    for name in repositories:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", ONE_CALL, name], check=True)
        times.append(time.perf_counter() - start)
    return statistics.mean(times)


def bench_converge(folder: Path, count: int, concurrency: int, rate: float, targets: Targets) -> Path:
    config = write_config(folder, "big", count)
    seconds, code, report = post_deploy(config, concurrency)
    calls = report["summary"]["apiCalls"]
    total = sum(calls.values())
    minimum = {"DescribeRepositories": math.ceil(count / 100), "GetLifecyclePolicy": count,
               "PutImageTagMutability": count, "PutImageScanningConfiguration": count,
               "PutLifecyclePolicy": count}
    print(f"converge {count} drifted: {seconds:.2f} s whole process, exit {code}, "
          f"{report['summary']['changed']} changed; {total:,} calls = {total / seconds:,.0f}/s "
          f"({total / seconds / rate:.0%} of the raw rate; at the raw rate: {total / rate:.2f} s)")
    for api, calls_made in sorted(calls.items()):
        flag = "" if calls_made == minimum[api] else "  <- above the minimum"
        print(f"  {api:32} {calls_made:6}  minimum {minimum[api]:6}{flag}")
    print(f"  {targets.check('converge: the minimum calls', calls == minimum)}")
    return config


def raw_reads(ecr: Any, repositories: list[str], concurrency: int) -> float:
    """The minimum reads of a converged check from this process's warm client: the server's share."""
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda i: ecr.describe_repositories(repositoryNames=repositories[i:i + 100]),
                      range(0, len(repositories), 100)))
        list(pool.map(lambda name: ecr.get_lifecycle_policy(repositoryName=name), repositories))
    return time.perf_counter() - start


def raw_process(repositories: list[str], concurrency: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RAW_READS, str(concurrency), *repositories], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_rerun(config: Path, ecr: Any, repositories: list[str], concurrency: int, reruns: int,
                targets: Targets) -> None:
    ours, raw, warm = [], [], []
    for _ in range(reruns):  # alternating, so a busy moment slows both alike
        ours.append(post_deploy(config, concurrency, "--check"))
        raw.append(raw_process(repositories, concurrency))
        warm.append(raw_reads(ecr, repositories, concurrency))
    seconds = [run[0] for run in ours]
    summary = ours[-1][2]["summary"]
    writes = sum(v for k, v in summary["apiCalls"].items() if k.startswith("Put"))
    calls = sum(summary["apiCalls"].values())
    minimum = math.ceil(len(repositories) / 100) + len(repositories)
    ratio = statistics.median(seconds) / statistics.median(raw)
    target = f"converged --check median <= {RERUN_TARGET_RATIO}x the minimum reads in a raw boto3 process"
    verdict = targets.check(target, ratio <= RERUN_TARGET_RATIO and {o[1] for o in ours} == {0}
                            and calls == minimum and writes == 0)
    print(f"converged --check of {len(repositories)}: median {statistics.median(seconds):.2f} s (best "
          f"{min(seconds):.2f} s) of {reruns}, exit {ours[-1][1]}; {summary['inSync']} in sync, "
          f"{writes} writes, {calls} reads (minimum {minimum})")
    print(f"  vs the minimum reads in a raw boto3 process: median {statistics.median(raw):.2f} s (best "
          f"{min(raw):.2f} s): ratio {ratio:.2f} ({verdict})")
    served = statistics.median(warm)
    print(f"  the same reads from this process's warm client (the server's share, no start-up): median "
          f"{served:.2f} s (best {min(warm):.2f} s): ratio {statistics.median(seconds) / served:.2f}")


def bench_small(folder: Path, count: int, concurrency: int, sample: list[str], targets: Targets) -> None:
    seconds, _, report = post_deploy(write_config(folder, "small", count), concurrency)
    per_call = one_call_seconds(sample)
    calls = 2 * count
    nominal, measured = AWS_CLI_SECONDS * calls, per_call * calls
    print(f"{count} drifted repositories: ecrgen {seconds:.2f} s whole process "
          f"({report['summary']['changed']} changed, lifecycle policies too)")
    speedup = nominal / seconds
    verdict = targets.check(f">= {SPEEDUP_TARGET}x the CLI loop", speedup >= SPEEDUP_TARGET)
    print(f"  vs AWS CLI loop, {AWS_CLI_SECONDS} s/call x {calls} calls = {nominal:.0f} s: "
          f"{speedup:.0f}x faster ({verdict})")
    print(f"  vs process per call measured (python + boto3, {per_call:.2f} s/call over {len(sample)}) "
          f"x {calls} = {measured:.1f} s: {measured / seconds:.0f}x faster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--sample", type=int, default=10, help="processes timed for the CLI-loop baseline")
    args = parser.parse_args()

    targets = Targets("post_deploy")
    moto_local, proc, _ = start_local_aws()
    try:
        from generator.aws.client import make_client

        ecr = make_client("ecr", pool_size=args.concurrency)
        big, sample = names("big", args.repos), names("sample", args.sample)
        create_drifted(ecr, big + names("small", args.small) + sample, args.concurrency)
        rate = raw_rate(ecr, big, args.concurrency)
        print(f"moto server, raw: {rate:,.0f} DescribeRepositories calls/s "
              f"({args.repos} single-name calls, {args.concurrency} threads, one client)")
        with tempfile.TemporaryDirectory() as tmp:
            config = bench_converge(Path(tmp), args.repos, args.concurrency, rate, targets)
            bench_rerun(config, ecr, big, args.concurrency, args.reruns, targets)
            bench_small(Path(tmp), args.small, args.concurrency, sample, targets)
    finally:
        moto_local.stop(proc)
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
