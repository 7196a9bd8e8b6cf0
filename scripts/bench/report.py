"""Benchmark: `ecrgen report` over a registry on a local moto server (started here), and its figures.

1. Reads: `--repos` repositories (default 500) of `--images` images each (default 100), half
   with a lifecycle policy. Measured in alternating runs on the same server:
   `python -m generator report --all --out report.html`, the whole process, against the
   baseline, a fresh Python process that imports boto3 and makes exactly the raw reads (every
   DescribeRepositories page, then per repository GetLifecyclePolicy and every DescribeImages
   page) with one shared client and the same threads. Target: ecrgen within 1.5x of it, with
   the minimal calls (one DescribeRepositories page, one GetLifecyclePolicy and one
   DescribeImages page per repository), counted by a `--output json` run.
2. Figures: in-process, the figures and all three pages (HTML, JSON, Markdown) of 100,000 images
   (1,000 repositories of 100, as boto3 returns them), under a two-rule policy. Target: < 2 s.

Run on a quiet machine: `.venv/bin/python scripts/bench/report.py [--repos 500] [--images 100] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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
sys.path.insert(0, str(ROOT))
TARGET_RATIO = 1.5
TARGET_FIGURES_SECONDS = 2.0
POLICY = json.dumps({"rules": [
    {"rulePriority": 1, "description": "untagged after 14 days",
     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                   "countNumber": 14},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "keep 20",
     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
     "action": {"type": "expire"}}]})
RAW_READS = """\
import sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
threads = int(sys.argv[1])
ecr = boto3.client("ecr", config=Config(max_pool_connections=threads))
names = [r["repositoryName"] for p in ecr.get_paginator("describe_repositories").paginate(
    PaginationConfig={"PageSize": 1000}) for r in p["repositories"]]
def one(name):
    try:
        ecr.get_lifecycle_policy(repositoryName=name)
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        pass
    pages = ecr.get_paginator("describe_images").paginate(
        repositoryName=name, filter={"imageStatus": "ANY"}, PaginationConfig={"PageSize": 1000})
    return sum(len(p["imageDetails"]) for p in pages)
with ThreadPoolExecutor(threads) as pool:
    print(sum(pool.map(one, names)))
"""


def setup(ecr: Any, repos: int, images: int, concurrency: int) -> None:
    """`repos` repositories of `images` images each; every other one with POLICY."""
    def one(index: int) -> None:
        name = f"bench-ecr-app{index:04}"
        ecr.create_repository(repositoryName=name)
        if index % 2 == 0:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=POLICY)
        for number in range(images):
            unique = index * 100_000 + number
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": 10_000_000 + unique, "digest": f"sha256:{unique:064x}"},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000,
                            "digest": f"sha256:{unique + 10**9:064x}"}]})
            ecr.put_image(repositoryName=name, imageManifest=manifest,
                          **({"imageTag": f"v{number}"} if number % 4 else {}))

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(repos)))


def run_ecrgen(args: list[str], concurrency: int) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "generator", "report", "--all", *args,
                             "--concurrency", str(concurrency)], capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"ecrgen report failed ({result.returncode}): {result.stderr}")
    return elapsed, result.stdout


def run_raw(concurrency: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RAW_READS, str(concurrency)], check=True, capture_output=True)
    return time.perf_counter() - start


def reads(args: argparse.Namespace, checks: Targets) -> None:
    moto_local, proc, _ = start_local_aws()
    try:
        import boto3

        start = time.perf_counter()
        setup(boto3.client("ecr"), args.repos, args.images, args.concurrency)
        print(f"  (set-up: {args.repos} repositories x {args.images} images in "
              f"{time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        _, text = run_ecrgen(["--output", "json"], args.concurrency)
        calls = json.loads(text)["summary"]["apiCalls"]
        ours, raw = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.runs):
                ours.append(run_ecrgen(["--out", str(Path(tmp) / "report.html")], args.concurrency)[0])
                raw.append(run_raw(args.concurrency))
    finally:
        moto_local.stop(proc)
    minimum = {"DescribeRepositories": 1, "GetLifecyclePolicy": args.repos, "DescribeImages": args.repos}
    ratio = statistics.median(ours) / statistics.median(raw)
    verdict = checks.check(f"<= {TARGET_RATIO}x", ratio <= TARGET_RATIO)
    print(f"report, {args.repos} repositories x {args.images} images, `--all --out report.html`: ecrgen "
          f"median {statistics.median(ours):.2f} s (best {min(ours):.2f} s) whole process; raw boto3 reads "
          f"median {statistics.median(raw):.2f} s (best {min(raw):.2f} s), {args.concurrency} threads each, "
          f"{args.runs} alternating runs: {ratio:.2f}x ({verdict})")
    print(f"  calls: {json.dumps(calls, sort_keys=True)}, minimum {json.dumps(minimum, sort_keys=True)} "
          f"({checks.check('minimum calls', calls == minimum)})")


def figures_only(checks: Targets, repos: int = 1_000, images: int = 100) -> None:
    """The figures and the three pages of repos x images images, in this process."""
    from generator.report import figures, html, markdown

    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    readings = []
    for index in range(repos):
        details = [{"imageDigest": f"sha256:{index:08x}{number:056x}",
                    **({"imageTags": [f"v{number}"]} if number % 4 else {}),
                    "imagePushedAt": now - dt.timedelta(days=number * 3.7, seconds=index),
                    "imageSizeInBytes": 10_000_000 + number, "imageStatus": "ACTIVE",
                    "imageScanStatus": {"status": "COMPLETE"},
                    "imageScanFindingsSummary": {"findingSeverityCounts": {"HIGH": index % 3, "LOW": 2}}}
                   for number in range(images)]
        readings.append(figures.RepositoryReading(f"bench-ecr-app{index:04}", "unmanaged", True,
                                                  POLICY if index % 2 == 0 else None, details))
    best = []
    for _ in range(3):
        start = time.perf_counter()
        report = figures.build(readings, now.timestamp(), figures.Prices(), "bench", {}, {})
        page = html.render_page(report)
        document = json.dumps(figures.to_json(report))
        summary = markdown.render(report)
        best.append(time.perf_counter() - start)
    assert report.total("images") == repos * images and page and document and summary
    seconds = min(best)
    print(f"report figures, {repos * images:,} images in {repos:,} repositories: figures + HTML + JSON + "
          f"Markdown best {seconds:.2f} s of 3, median {statistics.median(best):.2f} s, in-process "
          f"({len(page):,} bytes of HTML) "
          f"({checks.check(f'figures < {TARGET_FIGURES_SECONDS:g} s', seconds < TARGET_FIGURES_SECONDS)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--figures-only", action="store_true", help="skip the reads against moto")
    args = parser.parse_args()
    checks = Targets("report")
    figures_only(checks)
    if not args.figures_only:
        reads(args, checks)
    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
