"""Benchmark: `ecrgen lint` against plain `cfn-lint` on the same files, with a cold lint cache.

1. One 450-repository template (`outputs: []`), rendered with `ecrgen template --no-lint`: what
   ecrgen's rules and the in-process run cost over cfn-lint (target: ratio at most 1.3).
2. 20 different templates of 60 repositories each (20 systems): `ecrgen lint` lints them on every
   core, where cfn-lint lints one after another (target: ratio at most 0.7).

Each `ecrgen lint` run starts from an empty lint cache (see startup.with_cache), so every
template is linted; the commands alternate and the medians are compared.
Run on a quiet machine: `.venv/bin/python scripts/bench/lint.py [--repeat 5] [--repositories 450]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from startup import BIN, medians, wall_time, with_cache  # scripts/bench/startup.py
from targets import Targets  # scripts/bench/targets.py

TARGET_RATIO = 1.3
MANY_TARGET_RATIO = 0.7
MANY_TEMPLATES, MANY_REPOSITORIES = 20, 60


def config(repositories: int, system: str = "bench") -> str:
    """An ecr.yaml in the style of the shipped one, every fourth repository with exclusions."""
    lines = [f"system_name: {system}", "outputs: []", "defaults:", "  image_tag_mutability: IMMUTABLE",
             "  scan_on_push: true", "  lifecycle:",
             "    - {description: Expire untagged images after 14 days, tag_status: untagged, "
             "since_pushed_days: 14}",
             "    - {description: Keep the 20 most recent images, tag_status: any, keep_last: 20}",
             "repositories:"]
    for index in range(repositories):
        lines.append(f"  - name: service-{index:03d}")
        if index % 4 == 0:
            lines += ["    image_tag_mutability: IMMUTABLE_WITH_EXCLUSION",
                      "    mutability_exclusions: [latest]"]
    return "\n".join(lines) + "\n"


def generated(work: Path, repositories: int, system: str = "bench") -> tuple[list[str], Path]:
    """Write the config into `work` and generate its template once; the command and the template."""
    cfg, template = work / f"{system}.yaml", work / f"{system}-template.yaml"
    cfg.write_text(config(repositories, system))
    generate = [str(BIN / "ecrgen"), "template", "--config", str(cfg), "--out", str(template), "--no-lint"]
    wall_time(generate)
    return generate, template


def compare(templates: list[Path], cache: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of `ecrgen lint` (cold cache) and of plain `cfn-lint` on the same files."""
    files = [str(template) for template in templates]
    median = medians({"ecrgen lint": with_cache([str(BIN / "ecrgen"), "lint", *files], cache),
                      "cfn-lint": [str(BIN / "cfn-lint"), *files]}, repeat)
    return median["ecrgen lint"], median["cfn-lint"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (median is reported)")
    parser.add_argument("--repositories", type=int, default=450)
    args = parser.parse_args()
    targets = Targets("lint")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _, template = generated(work, args.repositories)
        ours, theirs = compare([template], work / "cache", args.repeat)
        ratio = ours / theirs
        print(f"lint: one template of {args.repositories} repositories ({template.stat().st_size:,} bytes), "
              f"cold cache: ecrgen lint {ours:.2f} s, cfn-lint {theirs:.2f} s, medians of {args.repeat}; "
              f"ratio {ratio:.2f} ({targets.check(f'ratio <= {TARGET_RATIO}', ratio <= TARGET_RATIO)})")
        many = [generated(work, MANY_REPOSITORIES, f"team{n:02d}")[1] for n in range(MANY_TEMPLATES)]
        ours, theirs = compare(many, work / "cache", args.repeat)
        ratio = ours / theirs
        verdict = targets.check(f"{MANY_TEMPLATES} templates ratio <= {MANY_TARGET_RATIO}",
                                ratio <= MANY_TARGET_RATIO)
        print(f"lint: {MANY_TEMPLATES} different templates of {MANY_REPOSITORIES} repositories, cold cache: "
              f"ecrgen lint {ours:.2f} s, cfn-lint {theirs:.2f} s, medians of {args.repeat}; "
              f"ratio {ratio:.2f} ({verdict})")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
