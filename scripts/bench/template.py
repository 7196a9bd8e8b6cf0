"""Benchmark: `ecrgen template --no-lint` on 450 repositories, against plain `cfn-lint` on the result.

Writes an ecr.yaml of 450 repositories with `outputs: []` (the config from lint.py's benchmark),
then times, as whole processes and alternating: generating the template (target: under 1 s) and
cfn-lint checking that same template, the baseline: the tool every template goes through anyway.
Run on a quiet machine: `.venv/bin/python scripts/bench/template.py [--repeat 5] [--repositories 450]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from lint import generated  # scripts/bench/lint.py: the same 450-repository ecr.yaml and template
from startup import BIN, medians

TARGET_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (median reported)")
    parser.add_argument("--repositories", type=int, default=450)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        generate, out = generated(Path(work), args.repositories)
        median = medians({"template": generate, "cfn-lint": [str(BIN / "cfn-lint"), str(out)]}, args.repeat)
        size = out.stat().st_size
    ok = median["template"] < TARGET_SECONDS
    print(f"template: {args.repositories} repositories ({size:,} bytes) {median['template']:.2f} s median of "
          f"{args.repeat}; baseline cfn-lint on the result {median['cfn-lint']:.2f} s; ratio "
          f"{median['template'] / median['cfn-lint']:.2f} (target < {TARGET_SECONDS:.0f} s: "
          f"{'ok' if ok else 'MISSED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
