"""`make bench` exits 1 when a benchmark misses a target, and says which (BENCHMARKS.md's promise).

Cheap: the runner with stand-in benchmarks, and the benchmarks' target checks with stand-in
timings; no real benchmark runs here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench"


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch):
    """Load scripts/bench/NAME.py as a module (the scripts import each other by bare name)."""
    monkeypatch.syspath_prepend(str(BENCH))

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module

    return load


def test_targets_name_each_miss_and_exit_1(bench, capsys) -> None:
    targets = bench("targets").Targets("post_deploy")
    assert targets.check("< 2 s", True) == "target < 2 s: ok"
    assert targets.check("converged re-run best < 2 s", False) == "target converged re-run best < 2 s: MISSED"
    assert targets.exit_code() == 1
    assert capsys.readouterr().out == "post_deploy: missed target converged re-run best < 2 s\n"


def test_targets_all_met_exit_0(bench, capsys) -> None:
    targets = bench("targets").Targets("startup")
    targets.check("< 0.3 s", True)
    assert targets.exit_code() == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("seconds", "verdict", "code"), [(2.3, "MISSED", 1), (2.1, "ok", 0)])
def test_converged_check_over_1_1x_a_raw_process_making_the_minimum_reads_is_a_miss(
        bench, monkeypatch, capsys, seconds: float, verdict: str, code: int) -> None:
    post_deploy = bench("post_deploy")
    repositories = [f"big/{i}" for i in range(250)]
    report = {"summary": {"inSync": 250, "apiCalls": {"DescribeRepositories": 3, "GetLifecyclePolicy": 250}}}
    monkeypatch.setattr(post_deploy, "post_deploy", lambda config, concurrency, *flags: (seconds, 0, report))
    monkeypatch.setattr(post_deploy, "raw_process", lambda names, concurrency: 2.0)
    monkeypatch.setattr(post_deploy, "raw_reads", lambda ecr, names, concurrency: 1.5)
    targets = post_deploy.Targets("post_deploy")
    post_deploy.bench_rerun(Path("big.yaml"), None, repositories, 8, 3, targets)
    out = capsys.readouterr().out
    assert "0 writes, 253 reads (minimum 253)" in out
    assert f"ratio {seconds / 2.0:.2f} (target converged --check median <= 1.1x" in out
    assert f"{verdict})" in out
    assert targets.exit_code() == code


@pytest.mark.parametrize(("limit", "code"), [(0.0, 1), (60.0, 0)])
def test_preview_misses_its_target_with_exit_1(bench, monkeypatch, capsys, limit: float, code: int) -> None:
    preview = bench("preview")
    monkeypatch.setattr(preview, "SIZES", (200,))
    monkeypatch.setattr(preview, "TARGET_SECONDS", limit)
    monkeypatch.setattr(sys, "argv", ["preview.py", "--repeat", "1"])
    assert preview.main() == code
    out = capsys.readouterr().out
    assert ("MISSED" in out) == bool(code)
    assert ("preview: missed target evaluate < 0 s" in out) == bool(code)


def test_runner_exits_1_and_names_the_benchmark_that_missed(bench, monkeypatch, tmp_path, capsys) -> None:
    run = bench("run")
    (tmp_path / "fast.py").write_text("print('fast: 0.1 s (target < 1 s: ok)')\n")
    (tmp_path / "slow.py").write_text("import sys\nprint('slow: 3 s (target < 2 s: MISSED)')\nsys.exit(1)\n")
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.setattr(run, "BENCHMARKS", ("fast", "slow"))
    assert run.main([]) == 1
    out = capsys.readouterr().out
    assert "slow: FAILED or missed a target (exit 1)" in out
    assert out.rstrip().endswith("make bench: slow failed or missed a target (exit 1)")
    assert run.main(["fast"]) == 0
