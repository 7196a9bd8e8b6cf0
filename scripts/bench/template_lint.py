"""Benchmark: `ecrgen template` with lint on 2,000 repositories, against plain `cfn-lint` on the
same stack files.

The config (lint.py's, `outputs: []`) makes four stacks of 500 repositories. Measured, as whole
processes alternating with their baseline, medians of `--repeat` runs:
1. cold: every run starts from an empty lint cache (target: at most 0.6x cfn-lint on the four
   files): rendering plus linting the four stacks on every core;
2. warm: one repository added, which opens a fifth stack; every run starts from the cache as the
   2,000-repository run left it (target: at most 0.3x cfn-lint on the five files): the four
   unchanged stacks come from the cache, only the new one is linted.
Run on a quiet machine: `.venv/bin/python scripts/bench/template_lint.py [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from lint import config  # scripts/bench/lint.py
from startup import BIN, medians, wall_time, with_cache  # scripts/bench/startup.py
from targets import Targets  # scripts/bench/targets.py

REPOSITORIES = 2000
COLD_TARGET, WARM_TARGET = 0.6, 0.3


def figure(name: str, what: str, command: list[str], stacks: list[str], repeat: int, target: float,
           targets: Targets) -> None:
    """Print one figure: `command` against plain cfn-lint on `stacks`, medians of alternating runs."""
    median = medians({"template": command, "cfn-lint": [str(BIN / "cfn-lint"), *stacks]}, repeat)
    ratio = median["template"] / median["cfn-lint"]
    verdict = targets.check(f"{name} ratio <= {target}", ratio <= target)
    print(f"template_lint: {what}, {name} cache: ecrgen template {median['template']:.2f} s, cfn-lint on the "
          f"{len(stacks)} stacks {median['cfn-lint']:.2f} s, medians of {repeat}; "
          f"ratio {ratio:.2f} ({verdict})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (median reported)")
    args = parser.parse_args()
    targets = Targets("template_lint")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg, out = work / "ecr.yaml", work / "templates" / "ecr.yaml"
        template = [str(BIN / "ecrgen"), "template", "--config", str(cfg), "--out", str(out)]
        cfg.write_text(config(REPOSITORIES))
        wall_time(with_cache(template, work / "warm"))  # the index, and the cache the warm runs start from
        figure("cold", f"{REPOSITORIES:,} repositories", with_cache(template, work / "cache"),
               sorted(map(str, out.parent.glob("ecr-*.yaml"))), args.repeat, COLD_TARGET, targets)
        cfg.write_text(config(REPOSITORIES + 1))
        warm = with_cache(template, work / "cache", work / "warm")
        wall_time(warm)  # the new stack and the index, as the runs measured will find them
        figure("warm", "one repository added", warm, sorted(map(str, out.parent.glob("ecr-*.yaml"))),
               args.repeat, WARM_TARGET, targets)
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
