"""Benchmark: `ecrgen post-deploy --stack-set` across 10 accounts x 2 regions against one account.

Against one local moto server that this script starts and stops:
1. baseline: 1,000 drifted repositories in one account and region (two stacks of 500, since a
   stack holds 500 resources), `post-deploy --stack-name 'big-ecr-*'`, whole process;
2. fleet: a self-managed StackSet of 50 repositories with instances in 10 accounts x 2 regions
   (the same 1,000 repositories in all), every one drifted, `post-deploy --stack-set`.

Target: the fleet converges within 1.5x the baseline's time, with the same ECR calls (the
minimum: one DescribeRepositories per 100 names, one GetLifecyclePolicy per repository, one
write per drifted setting), plus one AssumeRole per account and one ListStackInstances page per
100 instances. Exit 1 when a target is missed. Drift: MUTABLE tags, scan on push off, no
lifecycle policy (3 writes per repository).

Run on a quiet machine: `.venv/bin/python scripts/bench/fleet.py [--accounts 10] [--regions 2]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
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
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"]
ROLE = "AWSCloudFormationStackSetExecutionRole"
TARGET_RATIO = 1.5
CONFIG = """\
system_name: {system}
settings_via: post-deploy
outputs: []
defaults:
  image_tag_mutability: IMMUTABLE
  scan_on_push: true
  lifecycle: [{{description: Keep the 20 most recent images, tag_status: any, keep_last: 20}}]
repositories:
{entries}
"""



def template_body(folder: Path, system: str, names: list[str]) -> str:
    from generator.model import config
    from generator.render import template

    path = folder / f"{system}.yaml"
    path.write_text(CONFIG.format(system=system, entries="\n".join(f"  - name: {n}" for n in names)))
    return template.render(template.build(config.load(path)), "json")


def ecr_in(account: str | None, region: str) -> Any:
    import boto3

    if account is None:
        return boto3.client("ecr", region_name=region)
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}",
                                            RoleSessionName="bench")["Credentials"]
    return boto3.client("ecr", region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def drift(ecr: Any, names: list[str]) -> None:
    """MUTABLE, scan off, no lifecycle policy: whatever the stack's create left."""
    def one(name: str) -> None:
        ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE")
        ecr.put_image_scanning_configuration(repositoryName=name,
                                             imageScanningConfiguration={"scanOnPush": False})
        with contextlib.suppress(ecr.exceptions.LifecyclePolicyNotFoundException):
            ecr.delete_lifecycle_policy(repositoryName=name)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, names))


def post_deploy(*args: str) -> tuple[float, int, dict[str, Any]]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "generator", "post-deploy", *args, "--output", "json"],
                            capture_output=True, text=True, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"ecrgen failed ({result.returncode}): {result.stderr}")
    return elapsed, result.returncode, json.loads(result.stdout)


def report_calls(label: str, calls: dict[str, int], minimum: dict[str, int]) -> bool:
    ok = True
    print(f"  {label} calls:")
    for api in sorted(set(calls) | set(minimum)):
        made, least = calls.get(api, 0), minimum.get(api)
        flag = ""
        if least is not None and made != least:
            flag, ok = "  <- not the minimum", False
        bound = f"  minimum {least:6}" if least is not None else "  (stack reads)"
        print(f"    {api:32} {made:6}{bound}{flag}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--regions", type=int, default=2)
    parser.add_argument("--per-target", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    accounts = [f"{i:012d}" for i in range(100000000001, 100000000001 + args.accounts)]
    regions = REGIONS[:args.regions]
    targets = args.accounts * args.regions
    total = targets * args.per_target

    moto_local, proc, _ = start_local_aws()
    try:
        import boto3

        cfn = boto3.client("cloudformation")
        with tempfile.TemporaryDirectory() as tmp:
            big = [f"app{i:04}" for i in range(total)]
            half = (total + 1) // 2
            for index, part in enumerate((big[:half], big[half:]), start=1):
                cfn.create_stack(StackName=f"big-ecr-{index:02d}",
                                 TemplateBody=template_body(Path(tmp), "big", part))
            drift(ecr_in(None, "us-east-1"), [f"big-ecr-{n}" for n in big])
            small = [f"svc{i:02}" for i in range(args.per_target)]
            cfn.create_stack_set(StackSetName="fleet-ecr",
                                 TemplateBody=template_body(Path(tmp), "fleet", small))
            cfn.create_stack_instances(StackSetName="fleet-ecr", Accounts=accounts, Regions=regions)
            for account in accounts:
                for region in regions:
                    drift(ecr_in(account, region), [f"fleet-ecr-{n}" for n in small])

        concurrency = ("--concurrency", str(args.concurrency))
        base_seconds, _, base = post_deploy("--stack-name", "big-ecr-*", *concurrency)
        fleet_seconds, code, fleet = post_deploy("--stack-set", "fleet-ecr", *concurrency)
    finally:
        moto_local.stop(proc)

    checks = Targets("fleet")
    ecr_minimum = {"GetLifecyclePolicy": total, "PutImageTagMutability": total,
                   "PutImageScanningConfiguration": total, "PutLifecyclePolicy": total}
    ratio = fleet_seconds / base_seconds
    print(f"baseline: {total:,} drifted repositories in one account (2 stacks): {base_seconds:.2f} s "
          f"whole process, {base['summary']['changed']} changed")
    ok = report_calls("baseline", base["summary"]["apiCalls"],
                      {**ecr_minimum, "DescribeRepositories": math.ceil(half / 100) * 2, "ListStacks": 1})
    print(f"fleet: {args.accounts} accounts x {args.regions} regions x {args.per_target} drifted "
          "repositories: "
          f"{fleet_seconds:.2f} s whole process, exit {code}, {fleet['summary']['changed']} changed, "
          f"{fleet['summary']['failedTargets']} targets failed; {ratio:.2f}x the baseline "
          f"({checks.check(f'<= {TARGET_RATIO}x', ratio <= TARGET_RATIO)})")
    ok &= report_calls("fleet", fleet["summary"]["apiCalls"], {
        **ecr_minimum, "DescribeRepositories": targets * math.ceil(args.per_target / 100),
        "AssumeRole": args.accounts, "GetCallerIdentity": 1, "ListStackInstances": math.ceil(targets / 100)})
    print("  stack reads: GetTemplate + ListStackResources per target on AWS; moto's StackId names no "
          "stack, so moto adds a failed GetTemplate and a ListStacks per target")
    print(f"  {checks.check('minimum calls', ok)}; {checks.check('every target converged', code == 0)}")
    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
