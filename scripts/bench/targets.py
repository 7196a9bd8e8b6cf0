"""The targets a benchmark checks: each says `ok` or `MISSED` on its line, and a miss is exit 1.

BENCHMARKS.md promises that a missed target makes `make bench` exit 1; a benchmark keeps that
promise by checking each target through `Targets` and returning `exit_code()` from `main`.
"""

from __future__ import annotations


class Targets:
    def __init__(self, benchmark: str) -> None:
        self.benchmark = benchmark
        self.missed: list[str] = []

    def check(self, target: str, met: bool) -> str:
        """Record one target; the word for the figure's line ('target < 2 s: ok')."""
        if not met:
            self.missed.append(target)
        return f"target {target}: {'ok' if met else 'MISSED'}"

    def exit_code(self) -> int:
        """1, after one line per missed target, when any was missed; else 0."""
        for target in self.missed:
            print(f"{self.benchmark}: missed target {target}", flush=True)
        return 1 if self.missed else 0
