"""Benchmark: `ecrgen findings` over 200 repositories against a local moto server (started here).

Each repository holds one scanned image whose scan reports a few findings (set through moto's
`/moto-api/static/ecr/scan-finding-results`). Measured, alternating runs on the same server:
1. `python -m generator findings --config ... --output json --concurrency N`, whole process;
   its calls per repository against the minimum (its DescribeImages pages plus its
   DescribeImageScanFindings pages: one each here);
2. the baseline: a fresh Python process that imports boto3 and makes exactly those raw calls
   (paginated DescribeImages, paginated DescribeImageScanFindings per repository) with one
   shared client and the same N threads. Target: ecrgen within 1.5x of it.

Run on a quiet machine: `.venv/bin/python scripts/bench/findings.py [--repos 200] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_aws import start_local_aws  # scripts/bench/local_aws.py

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 1.5
RAW_CALLS = """\
import sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
names, threads = sys.argv[2:], int(sys.argv[1])
ecr = boto3.client("ecr", config=Config(max_pool_connections=threads))
def one(name):
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=name)
    images = [d for p in pages for d in p["imageDetails"]]
    latest = max(images, key=lambda d: d["imagePushedAt"])
    pages = ecr.get_paginator("describe_image_scan_findings").paginate(
        repositoryName=name, imageId={"imageDigest": latest["imageDigest"]})
    return sum(len(p["imageScanFindings"].get("findings", [])) for p in pages)
with ThreadPoolExecutor(threads) as pool:
    print(sum(pool.map(one, names)))
"""



def setup(url: str, ecr: Any, names: list[str], concurrency: int) -> None:
    """Each repository: one image, scanned, with a CRITICAL, a HIGH and a LOW finding."""
    def one(index_name: tuple[int, str]) -> None:
        index, name = index_name
        ecr.create_repository(repositoryName=name)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100,
                       "digest": f"sha256:{index:064x}"},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000,
                        "digest": f"sha256:{index + 10**6:064x}"}]})
        image = ecr.put_image(repositoryName=name, imageManifest=manifest, imageTag="v1")["image"]
        digest = image["imageId"]["imageDigest"]
        ecr.start_image_scan(repositoryName=name, imageId={"imageDigest": digest})

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, enumerate(names)))
    findings = [{"name": f"CVE-2024-{i:04}", "severity": severity, "uri": f"https://nvd.nist.gov/CVE-2024-{i:04}",
                 "attributes": [{"key": "package_name", "value": "openssl"},
                                {"key": "package_version", "value": "1.1.1"}]}
                for i, severity in enumerate(("CRITICAL", "HIGH", "LOW"))]
    results = [{"repositoryName": name, "imageId": {"imageTag": "v1"},
                "imageScanStatus": {"status": "COMPLETE", "description": "done"},
                "imageScanFindings": {"findings": findings,
                                      "findingSeverityCounts": {"CRITICAL": 1, "HIGH": 1, "LOW": 1}}}
               for name in names]
    body = json.dumps({"results": results, "region": "us-east-1"}).encode()
    request = urllib.request.Request(f"{url}/moto-api/static/ecr/scan-finding-results", data=body,
                                     method="POST")
    urllib.request.urlopen(request, timeout=30).close()


def run_ecrgen(config: Path, concurrency: int) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "generator", "findings", "--config", str(config),
                             "--output", "json", "--concurrency", str(concurrency)],
                            capture_output=True, text=True, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"ecrgen findings failed ({result.returncode}): {result.stderr}")
    return elapsed, json.loads(result.stdout)


def run_raw(names: list[str], concurrency: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RAW_CALLS, str(concurrency), *names], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5, help="alternating runs of each")
    args = parser.parse_args()

    moto_local, proc, url = start_local_aws()
    try:
        import boto3

        names = [f"scan-ecr-app{i:04}" for i in range(args.repos)]
        setup(url, boto3.client("ecr"), names, args.concurrency)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "ecr.yaml"
            config.write_text("system_name: scan\noutputs: []\nrepositories:\n" + "".join(
                f"  - name: app{i:04}\n" for i in range(args.repos)))
            ours, raw, report = [], [], {}
            for _ in range(args.runs):
                seconds, report = run_ecrgen(config, args.concurrency)
                ours.append(seconds)
                raw.append(run_raw(names, args.concurrency))
    finally:
        moto_local.stop(proc)
    calls = report["summary"]["apiCalls"]
    minimum = {"DescribeImages": args.repos, "DescribeImageScanFindings": args.repos}
    ratio = statistics.median(ours) / statistics.median(raw)
    print(f"findings, {args.repos} repositories' latest images: "
          f"ecrgen median {statistics.median(ours):.2f} s "
          f"(best {min(ours):.2f} s) whole process; raw boto3 process median {statistics.median(raw):.2f} s "
          f"(best {min(raw):.2f} s), {args.concurrency} threads each, {args.runs} alternating runs: "
          f"{ratio:.2f}x (target <= {TARGET_RATIO}: {'ok' if ratio <= TARGET_RATIO else 'missed'})")
    print(f"  calls: {json.dumps(calls, sort_keys=True)}, minimum {json.dumps(minimum, sort_keys=True)}: "
          f"{'ok' if calls == minimum else 'ABOVE THE MINIMUM'}; "
          f"{report['summary']['images']} images, {report['summary']['failed']} failed (no --fail-on)")
    return 0 if ratio <= TARGET_RATIO and calls == minimum else 1


if __name__ == "__main__":
    sys.exit(main())
