"""`make bench`: every benchmark, one after the other, each as its own process.

Prints the machine first, then each benchmark's own lines (one per figure, with its ratio to a
baseline measured in the same run where there is one). A benchmark that is missing is skipped
with a line saying so; one that fails or misses its target is flagged, and the exit code is 1.
Run: `make bench`, or `.venv/bin/python scripts/bench/run.py [NAME...]` for some of them.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Quick first; the whole run takes a few minutes on a quiet machine.
BENCHMARKS = ("startup", "template", "lint", "template_lint", "preview", "post_deploy", "registry",
              "findings", "fleet", "import_", "report", "in_use", "implicit")
TIMEOUT_SECONDS = 900


def machine() -> str:
    """CPU count and model, and the Python that runs the benchmarks: what BENCHMARKS.md records."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), model)
    cpus = len(os.sched_getaffinity(0))  # what `nproc` says
    return f"machine: {cpus} CPUs, {model}, Python {platform.python_version()}, {platform.platform()}"


def compile_ecrgen() -> None:
    """Bytecode for ecrgen's modules, as a pip install writes it (and as boto3's, the baselines',
    has it). Where PYTHONDONTWRITEBYTECODE is set (this machine sets it), nothing else writes
    it, and every run would compile ecrgen from source first: about 80 ms of each process."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "generator")], check=True)


def run(name: str) -> bool:
    """Run one benchmark script, its output straight to ours; True when it ran and met its targets."""
    script = HERE / f"{name}.py"
    if not script.exists():
        print(f"{name}: skipped, {script.relative_to(ROOT)} does not exist", flush=True)
        return True
    start = time.monotonic()
    try:
        code = subprocess.run([sys.executable, str(script)], cwd=ROOT, timeout=TIMEOUT_SECONDS).returncode
    except subprocess.TimeoutExpired:
        print(f"{name}: FAILED, stopped after {TIMEOUT_SECONDS} s", flush=True)
        return False
    if code:
        print(f"{name}: FAILED or missed a target (exit {code})", flush=True)
    print(f"{name}: took {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return code == 0


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    print(machine(), flush=True)
    compile_ecrgen()
    failed = [name for name in names or BENCHMARKS if not run(name)]
    if failed:
        print(f"make bench: {', '.join(failed)} failed or missed a target (exit 1)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
