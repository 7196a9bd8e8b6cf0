"""Benchmark: what keeping the repositories ECR creates by itself adds to a converged post-deploy.

Against moto on 127.0.0.1 with the tests' loopback fake in front of it for the operations moto
lacks (tests/implicit_fake.py, 10 items a page): a config with 20 pull-through cache rules, 10
creation templates (`enforce_existing`), a signing rule, an account setting and a pull-time
exclusion, deployed (the fake plays CloudFormation's part) beside other teams' rules and
templates, and 200 repositories ECR made under the templates, 20 each. After one run converges
everything, a converged run is compared with the same config without those sections.

Targets (calls are counted, not timed: the figure is deterministic): the sections add exactly
DescribePullThroughCacheRules, DescribeRepositoryCreationTemplates and
ListPullTimeUpdateExclusions once per page, GetSigningConfiguration once and GetAccountSetting
once per declared setting; keeping the 200 repositories adds what 200 named repositories cost
(DescribeRepositories once per page of the listing, one GetLifecyclePolicy each); and no write.

Run: `.venv/bin/python scripts/bench/implicit.py [--rules 20] [--templates 10] [--per-template 20]`.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from local_aws import front_with_fake, start_local_aws  # scripts/bench/local_aws.py
from targets import Targets  # scripts/bench/targets.py

ROOT = Path(__file__).resolve().parents[2]
PAGE = 10  # items a page, from the fake
OTHERS = 15  # other teams' rules and templates, and other principals' exclusions
REGISTRY = """\
registry:
  signing:
    - signing_profile: arn:aws:signer:us-east-1:123456789012:/signing-profiles/bench
      filters: ["${SystemName}-ecr-*"]
  account_settings: {basic_scan_type_version: AWS_NATIVE}
  pull_time_exclusions: [arn:aws:iam::123456789012:role/scanner]
"""


def config(rules: int, templates: int) -> str:
    text = ("system_name: bench\ndefaults:\n  lifecycle:\n    - {tag_status: any, keep_last: 10}\n"
            "repositories:\n  - name: web\npull_through_cache:\n")
    text += "".join(f'  - prefix: "${{SystemName}}-ecr-up{i}"\n    upstream: quay\n' for i in range(rules))
    text += "creation_templates:\n"
    text += "".join(f'  - prefix: "${{SystemName}}-ecr-up{i}"\n    applied_for: [PULL_THROUGH_CACHE]\n'
                    for i in range(templates))
    return text + REGISTRY


def post_deploy(path: Path) -> dict[str, int]:
    command = [sys.executable, "-m", "generator", "post-deploy", "--config", str(path), "--output", "json"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"post-deploy exited {result.returncode}: {result.stdout} {result.stderr}")
    return json.loads(result.stdout)["summary"]["apiCalls"]  # type: ignore[no-any-return]


def deploy(fake: Any, rules: int, templates: int) -> None:
    """CloudFormation's part: the rules, templates and exclusion the template declares."""
    import boto3

    ecr = boto3.client("ecr")
    for i in range(rules):
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=f"bench-ecr-up{i}",
                                           upstreamRegistryUrl="quay.io", upstreamRegistry="quay")
    policy = json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
        "action": {"type": "expire"}}]})
    for i in range(templates):
        ecr.create_repository_creation_template(prefix=f"bench-ecr-up{i}", appliedFor=["PULL_THROUGH_CACHE"],
                                                imageTagMutability="IMMUTABLE", lifecyclePolicy=policy,
                                                encryptionConfiguration={"encryptionType": "AES256"})
    ecr.register_pull_time_update_exclusion(principalArn="arn:aws:iam::123456789012:role/scanner")
    for i in range(OTHERS):
        fake.rules[f"other{i}"] = {"ecrRepositoryPrefix": f"other{i}", "upstreamRegistryUrl": "quay.io"}
        fake.templates[f"other{i}"] = {"prefix": f"other{i}", "appliedFor": ["CREATE_ON_PUSH"]}
        fake.exclusions.append(f"arn:aws:iam::123456789012:role/other{i}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--per-template", type=int, default=20)
    args = parser.parse_args()
    moto_local, proc, url = start_local_aws()
    proxy, fake = front_with_fake(url, PAGE)
    try:
        import boto3

        moto = boto3.client("ecr", endpoint_url=url)
        deploy(fake, args.rules, args.templates)
        moto.create_repository(repositoryName="bench-ecr-web")
        for i in range(args.templates):
            for j in range(args.per_template):  # made by ECR on first pulls, on MUTABLE with no policy
                moto.create_repository(repositoryName=f"bench-ecr-up{i}/library/image{j}")
        with tempfile.TemporaryDirectory() as folder:
            full = Path(folder) / "ecr.yaml"
            full.write_text(config(args.rules, args.templates))
            plain = Path(folder) / "plain.yaml"
            # The same registry documents read, without the new sections.
            plain.write_text(full.read_text().split("pull_through_cache:")[0] + "registry: {}\n")
            post_deploy(full)  # converge: the 200 repositories, the signing rule, the setting
            fake.writes.clear()
            with_sections, without = post_deploy(full), post_deploy(plain)
    finally:
        proxy.stop()
        moto_local.stop(proc)
    added = {op: n - without.get(op, 0) for op, n in with_sections.items() if n != without.get(op, 0)}
    repositories = args.templates * args.per_template
    listed = repositories + 1  # the listing names every repository, the named one too
    reads = {"DescribePullThroughCacheRules": math.ceil((args.rules + OTHERS) / PAGE),
             "DescribeRepositoryCreationTemplates": math.ceil((args.templates + OTHERS) / PAGE),
             "ListPullTimeUpdateExclusions": math.ceil((1 + OTHERS) / PAGE),
             "GetSigningConfiguration": 1, "GetAccountSetting": 1}
    enforcing = {"DescribeRepositories": math.ceil(listed / 1000), "GetLifecyclePolicy": repositories}
    others = {op: n for op, n in added.items() if op not in reads and op not in enforcing}
    checks = Targets("implicit")
    print(f"implicit: converged run, {args.rules} pull-through cache rules, {args.templates} creation "
          f"templates, {repositories} repositories under them (beside {OTHERS} other teams' rules, "
          f"templates and exclusions, {PAGE} a page)")
    print(f"implicit: the five reads add {', '.join(f'{op} {added.get(op, 0)}' for op in reads)} "
          f"({checks.check('every page once', {op: added.get(op, 0) for op in reads} == reads)})")
    kept = {op: added.get(op, 0) for op in enforcing}
    print(f"implicit: keeping the {repositories} repositories adds "
          f"{', '.join(f'{op} {n}' for op, n in kept.items())} "
          f"({checks.check('as many named repositories cost', kept == enforcing)})")
    served = sum(fake.writes.values())
    print(f"implicit: anything else added: {others or 'nothing'}; writes the fake served: {served} "
          f"({checks.check('no other call, 0 writes', not others and not served)})")
    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
