"""Benchmark: `ecrgen --help` start-up, whole process, against `python -c pass`.

Heavy libraries (boto3, cfn-lint, troposphere) are imported only inside the commands that need
them, so `--help` should cost little more than starting Python itself (target: under 0.3 s).
The two commands alternate, so a busy machine slows both alike; the medians are reported.
Run on a quiet machine: `.venv/bin/python scripts/bench/startup.py [--repeat 15]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_SECONDS = 0.3


def wall_time(command: list[str]) -> float:
    """Seconds one run of `command` takes, start to exit; a failing command stops the benchmark."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return elapsed


def with_cache(command: list[str], cache: Path, snapshot: Path | None = None) -> list[str]:
    """`command` run with ecrgen's lint cache in `cache`, emptied first (cold), or first made a copy
    of `snapshot` (warm, as an earlier run left it): each run starts from the same cache."""
    restore = f'cp -a "{snapshot}" "$0" && ' if snapshot else ""
    return ["sh", "-c", f'rm -rf "$0" && {restore}ECRGEN_CACHE_DIR="$0" exec "$@"', str(cache), *command]


def medians(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Median wall time of each command over `repeat` alternating rounds (after one warm-up)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeat + 1):
        for name, command in commands.items():
            elapsed = wall_time(command)
            if round_:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command (median reported)")
    args = parser.parse_args()
    median = medians({"ecrgen": [str(BIN / "ecrgen"), "--help"], "python": [sys.executable, "-c", "pass"]},
                     args.repeat)
    ok = median["ecrgen"] < TARGET_SECONDS
    print(f"startup: ecrgen --help {median['ecrgen']:.3f} s median of {args.repeat}; baseline python -c pass "
          f"{median['python']:.3f} s; ratio {median['ecrgen'] / median['python']:.1f}x "
          f"(target < {TARGET_SECONDS} s: {'ok' if ok else 'MISSED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
