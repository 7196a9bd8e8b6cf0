"""Benchmark: `ecrgen lint` against plain `cfn-lint` on one 450-repository template.

Writes an ecr.yaml with 450 repositories (`outputs: []`), renders it with
`ecrgen template --no-lint`, then times both commands as whole processes on that file,
alternating them, and prints the medians and their ratio (target: at most 1.3).
Run on a quiet machine: `.venv/bin/python scripts/bench/lint.py [--repeat 5] [--repositories 450]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from startup import BIN, medians, wall_time  # scripts/bench/startup.py
from targets import Targets  # scripts/bench/targets.py

TARGET_RATIO = 1.3


def config(repositories: int) -> str:
    """An ecr.yaml in the style of the shipped one, every fourth repository with exclusions."""
    lines = ["system_name: bench", "outputs: []", "defaults:", "  image_tag_mutability: IMMUTABLE",
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


def generated(work: Path, repositories: int) -> tuple[list[str], Path]:
    """Write the config into `work` and generate its template once; the command and the template."""
    cfg, template = work / "ecr.yaml", work / "ecr-template.yaml"
    cfg.write_text(config(repositories))
    generate = [str(BIN / "ecrgen"), "template", "--config", str(cfg), "--out", str(template), "--no-lint"]
    wall_time(generate)
    return generate, template


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (median is reported)")
    parser.add_argument("--repositories", type=int, default=450)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        _, template = generated(Path(work), args.repositories)
        commands = {"ecrgen lint": [str(BIN / "ecrgen"), "lint", str(template)],
                    "cfn-lint": [str(BIN / "cfn-lint"), str(template)]}
        median = medians(commands, args.repeat)
        size = template.stat().st_size
    ratio = median["ecrgen lint"] / median["cfn-lint"]
    print(f"template: {args.repositories} repositories, {size:,} bytes; {args.repeat} runs each")
    for name, seconds in median.items():
        print(f"{name:12s} median {seconds:6.2f} s")
    targets = Targets("lint")
    verdict = targets.check(f"ratio <= {TARGET_RATIO}", ratio <= TARGET_RATIO)
    print(f"ratio ecrgen lint / cfn-lint: {ratio:.2f} ({verdict})")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
