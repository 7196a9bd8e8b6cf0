"""Benchmark: `lifecycle preview` evaluation of 10,000 to 100,000 images under a 10-rule policy.

In-process, no AWS: parse the describe-images JSON, evaluate, build the JSON report. Prints one
line per size with the time per n*log2(n), so the growth can be read off (flat = n log n).
The cycle collector is off, as in `ecrgen lifecycle preview` (see generator/cli/lifecycle.py).
Target: evaluating 100,000 images under 1 s; a miss is exit 1 (see targets.py).
Run on a quiet machine: `.venv/bin/python scripts/bench/preview.py [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from targets import Targets  # scripts/bench/targets.py

from generator.model.lifecycle import Policy, evaluate, load_images, parse

NOW = 1_800_000_000.0
SIZES = (10_000, 25_000, 50_000, 100_000)
TARGET_SECONDS = 1.0  # evaluating the largest size



def _rule(priority: int, tags: dict[str, Any], count: str, number: int, action: str = "expire",
          storage: str = "standard") -> dict[str, Any]:
    selection = {**tags, "countType": count, "countNumber": number}
    if count != "imageCountMoreThan":
        selection["countUnit"] = "days"
    if storage != "standard":
        selection["storageClass"] = storage
    act = {"type": action, **({"targetStorageClass": "archive"} if action == "transition" else {})}
    return {"rulePriority": priority, "selection": selection, "action": act}


def _tagged(prefixes: list[str] | None = None, patterns: list[str] | None = None) -> dict[str, Any]:
    tags = {"tagPrefixList": prefixes} if prefixes else {"tagPatternList": patterns}
    return {"tagStatus": "tagged", **tags}


POLICY = {"rules": [
    _rule(1, _tagged(patterns=["release-*"]), "imageCountMoreThan", 500),
    _rule(2, _tagged(prefixes=["prod"]), "imageCountMoreThan", 200),
    _rule(3, _tagged(patterns=["v*.*.*"]), "sinceImagePushed", 180, "transition"),
    _rule(4, _tagged(prefixes=["staging"]), "sinceImagePushed", 30),
    _rule(5, _tagged(patterns=["*-rc*"]), "sinceImagePushed", 14),
    _rule(6, _tagged(prefixes=["feature-"]), "imageCountMoreThan", 100),
    _rule(7, _tagged(prefixes=["dev", "build"]), "sinceImagePulled", 60, "transition"),
    _rule(8, {"tagStatus": "untagged"}, "sinceImagePushed", 7),
    _rule(9, {"tagStatus": "any"}, "imageCountMoreThan", 5000),
    _rule(10, {"tagStatus": "any"}, "sinceImageTransitioned", 365, storage="archive"),
]}
TAG_KINDS = ["release-{n}", "prod-{n}", "v1.{n}.0", "staging-{n}", "2.{n}-rc1", "feature-{n}", "dev-{n}",
             "build-{n}", "sha-{n:x}"]


def describe_images_json(count: int, seed: int = 1) -> str:
    """A describe-images document: a tenth untagged, a tenth archived, one to three tags each."""
    rnd = random.Random(seed)
    details = []
    for n in range(count):
        pushed = NOW - rnd.uniform(0, 720) * 86_400
        detail = {"imageDigest": f"sha256:{n:064x}", "imageSizeInBytes": rnd.randint(10**6, 10**9),
                  "imagePushedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(pushed))}
        if rnd.random() > 0.1:
            detail["imageTags"] = [rnd.choice(TAG_KINDS).format(n=n + k) for k in range(rnd.randint(1, 3))]
        if rnd.random() < 0.5:
            detail["lastRecordedPullTime"] = pushed + rnd.uniform(0, NOW - pushed)
        if rnd.random() < 0.1:
            detail["imageStatus"] = "ARCHIVED"
            detail["lastArchivedAt"] = pushed + rnd.uniform(0, NOW - pushed)
        details.append(detail)
    return json.dumps({"imageDetails": details})


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _end_to_end(policy: Policy, text: str) -> None:
    """What `ecrgen lifecycle preview -o json` does, with the cycle collector off as the command runs."""
    gc.disable()
    try:
        json.dumps(evaluate(policy, load_images(text, "bench"), NOW).to_preview(0.10))
    finally:
        gc.enable()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported")
    args = parser.parse_args()
    policy = parse(POLICY)
    assert len(policy.rules) == 10
    targets = Targets("preview")
    for count in SIZES:
        text = describe_images_json(count)
        images = load_images(text, "bench")
        evaluated = best_of(args.repeat, partial(evaluate, policy, images, NOW))
        end_to_end = best_of(args.repeat, partial(_end_to_end, policy, text))
        per = evaluated / (count * math.log2(count)) * 1e9
        acted = len(evaluate(policy, images, NOW).decisions)
        target = ""
        if count == SIZES[-1]:
            target = "; " + targets.check(f"evaluate < {TARGET_SECONDS:g} s", evaluated < TARGET_SECONDS)
        print(f"preview {count} images: {evaluated:.2f} s evaluate, {end_to_end:.2f} s parse+evaluate+report "
              f"({acted} acted on; {per:.1f} ns per n*log2(n){target})")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
