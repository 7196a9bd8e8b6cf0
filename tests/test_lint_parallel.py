"""Many templates at once: the pool and the cache give exactly what one template at a time gives;
a killed worker costs only its own template; cfn-lint's options are passed on and keyed."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.base.errors import InputError
from generator.cli.progress import bar
from generator.lint import helper as helper_module
from generator.lint import pool, runner
from tests.conftest import run_ecrgen
from tests.test_lint_rules import FIXTURES, ROOT

TEMPLATES = [*sorted(FIXTURES.glob("*.yaml")), FIXTURES / "cdk.json", ROOT / "templates" / "ecr.yaml"]


@pytest.fixture()
def inputs(tmp_path: Path) -> list[str]:
    """Every lint fixture, plus what must not stop the others: a missing file, a file that is no
    template, one that is no YAML, and the same template twice."""
    notes = tmp_path / "notes.yaml"
    notes.write_text("system_name: myapp\nrepositories: [{name: app}]\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  R: [\n")
    return [*map(str, TEMPLATES), str(tmp_path / "missing.yaml"), str(notes), str(broken), str(TEMPLATES[0])]


@pytest.fixture()
def pool_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many templates each pool started was given."""
    runs: list[int] = []
    real = pool.run

    def counted(function: Any, tasks: Any, jobs: int, done: Any) -> Any:
        runs.append(len(tasks))
        return real(function, tasks, jobs, done)

    monkeypatch.setattr(pool, "run", counted)
    return runs


@pytest.fixture()
def linted_by(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[int]]:
    """The process that linted each template, in the order they finished: `check` notes its pid in
    a file (the helper and the workers fork with it)."""
    notes = tmp_path / "linted-by"
    check = runner.check

    def noted(job: runner.Job) -> runner.Outcome:
        with notes.open("a") as file:
            file.write(f"{os.getpid()}\n")
        return check(job)

    monkeypatch.setattr(runner, "check", noted)
    return lambda: [int(pid) for pid in notes.read_text().split()] if notes.exists() else []


def outputs(*args: str) -> tuple[int, str, str]:
    result = run_ecrgen(*args)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_pool_and_the_cache_give_exactly_the_serial_output(inputs: list[str], fmt: str,
                                                               pool_runs: list[int]) -> None:
    serial = outputs("lint", "--format", fmt, "--jobs", "1", "--no-cache", *inputs)
    assert pool_runs == []
    assert serial[0] == 2 and "E9501" in serial[1] and "missing.yaml: file not found" in serial[2]
    assert outputs("lint", "--format", fmt, "--jobs", "3", "--no-cache", *inputs) == serial
    # Every file that could be read, the duplicate once; whether it is a template is the lint's to say.
    assert pool_runs == [len(TEMPLATES) + 2]
    assert outputs("lint", "--format", fmt, "--jobs", "2", *inputs) == serial  # filling the cache
    assert outputs("lint", "--format", fmt, "--jobs", "2", *inputs) == serial  # from it
    assert pool_runs == [len(TEMPLATES) + 2] * 2  # the second run started no pool


def test_one_template_or_jobs_1_starts_no_pool(pool_runs: list[int]) -> None:
    assert run_ecrgen("lint", "--no-cache", str(TEMPLATES[0])).returncode == 1
    assert run_ecrgen("lint", "--jobs", "1", "--no-cache", *map(str, TEMPLATES)).returncode == 1
    assert pool_runs == []


def test_a_killed_worker_fails_its_template_and_the_others_still_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool_runs: list[int]) -> None:
    doomed = tmp_path / "doomed.yaml"
    doomed.write_text((FIXTURES / "settings_strong.yaml").read_text() + "# KILL-ME\n")
    others = [str(FIXTURES / "settings_weak.yaml"), str(FIXTURES / "exclusions_invalid.yaml"),
              str(FIXTURES / "deletion_policy.yaml")]
    alone = outputs("lint", "--no-cache", *others)
    check = runner.check

    def killed_on_its_mark(job: runner.Job) -> runner.Outcome:
        if "KILL-ME" in job.text:
            os.kill(os.getpid(), signal.SIGKILL)  # the kernel's out-of-memory killer, say
        return check(job)

    monkeypatch.setattr(runner, "check", killed_on_its_mark)  # the workers fork with it
    code, stdout, stderr = outputs("lint", "--jobs", "2", others[0], str(doomed), *others[1:])
    assert pool_runs == [3, 4]
    assert code == 2
    assert stdout == alone[1]
    assert stderr == (f"{doomed}: not linted: the worker process linting it was killed by SIGKILL; lint it "
                      "alone, or with --jobs 1, to see why\n")
    monkeypatch.setattr(runner, "check", check)
    assert outputs("lint", str(doomed), *others) == alone  # the crash was not cached; it is clean


def test_many_templates_print_no_progress_in_a_pipe(inputs: list[str]) -> None:
    result = run_ecrgen("lint", *map(str, TEMPLATES))
    assert result.returncode == 1 and result.stderr == ""


def test_progress_is_a_bar_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with bar("linting", 3) as done:
        for _ in range(3):
            done()
    assert "linting" in terminal.getvalue()
    terminal.truncate(0)
    with bar("linting", 1) as done:  # one template: nothing to follow
        done()
    assert terminal.getvalue() == ""


def findings(*args: str) -> set[str]:
    result = run_ecrgen("lint", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return {f["ruleId"] for f in json.loads(result.stdout)["findings"]}


def test_ignore_checks_as_cfn_lint_takes_them_and_each_set_of_options_is_cached_apart() -> None:
    weak = str(FIXTURES / "settings_weak.yaml")
    assert findings(weak) == {"W9501", "W9502", "W9503"}
    assert findings("--ignore-checks", "W9502", weak) == {"W9501", "W9503"}
    assert findings("-i", "W9501,W9502", "-i", "W9503", weak) == set()
    assert findings("--ignore-checks", "W95", weak) == set()  # a prefix, as in cfn-lint
    assert findings(weak) == {"W9501", "W9502", "W9503"}


def test_include_checks_is_taken_as_cfn_lint_takes_it() -> None:
    """ecrgen runs every E, W and I rule already, so cfn-lint's `--include-checks I` changes nothing."""
    notes = str(FIXTURES / "deletion_policy.yaml")
    assert findings("--include-checks", "I", "-c", "W9501,E", notes) == findings(notes) == {"I9501", "I9502"}


def test_regions_are_passed_to_cfn_lint(tmp_path: Path) -> None:
    """ECR Public is in us-east-1 only."""
    template = tmp_path / "t.yaml"
    template.write_text("Resources:\n  Public:\n    Type: AWS::ECR::PublicRepository\n")
    assert findings(str(template)) == set()  # AWS_REGION: us-east-1
    assert findings("--regions", "us-east-1,eu-west-1", str(template)) == {"E3006"}
    assert findings("-r", "eu-west-1", "-r", "us-east-1", str(template)) == {"E3006"}
    assert findings("--regions", "ALL_REGIONS", str(template)) == {"E3006"}
    assert findings(str(template)) == set()  # never the other options' entry


@pytest.mark.parametrize(("args", "says"), [
    (["--include-checks", "W30x5"], "--include-checks: 'W30x5' is no rule id: give ids such as W3005"),
    (["--ignore-checks", "all"], "--ignore-checks: 'all' is no rule id"),
    (["--regions", "us-east-1,nowhere-1"], "--regions: cfn-lint 1."),
    (["--ignore-checks", "W9502", "W9503"], "W9503: PATH: no such file; it reads as a rule id or a region"),
    (["-r", "us-east-1", "eu-west-1"], "eu-west-1: PATH: no such file; it reads as a rule id or a region"),
])
def test_a_wrong_option_is_one_message_and_exit_2(args: list[str], says: str) -> None:
    result = run_ecrgen("lint", *args, str(FIXTURES / "settings_weak.yaml"))
    assert result.returncode == 2 and result.stdout == ""
    assert says in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_region_cfn_lint_does_not_know_in_aws_region_is_bad_input_not_a_traceback() -> None:
    paths = [str(FIXTURES / "settings_weak.yaml"), str(FIXTURES / "deletion_policy.yaml")]
    result = run_ecrgen("lint", *paths, env={"AWS_REGION": "xx-nowhere-1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("Regions ['xx-nowhere-1'] are unsupported") == 2


def sharded_config(folder: Path, repositories: int) -> Path:
    config = folder / "ecr.yaml"
    names = "\n".join(f"  - name: app{n:02d}" + ("\n    image_tag_mutability: MUTABLE" if n % 3 == 0 else "")
                      for n in range(repositories))
    config.write_text(f"system_name: myapp\nmax_per_stack: 2\noutputs: []\nrepositories:\n{names}\n")
    return config


def test_template_lints_its_stacks_at_once_as_it_did_one_after_another(
        tmp_path: Path, linted_by: Callable[[], list[int]]) -> None:
    config = sharded_config(tmp_path, 7)
    serial = run_ecrgen("template", "--config", str(config), "--jobs", "1", "--no-cache", cwd=tmp_path)
    assert serial.returncode == 0 and serial.stderr.count("W9501") == 3
    assert linted_by() == [os.getpid()] * 4  # here, one after another
    parallel = run_ecrgen("template", "--config", str(config), "--jobs", "2", "--no-cache", cwd=tmp_path)
    assert (parallel.returncode, parallel.stdout, parallel.stderr) == (serial.returncode, serial.stdout,
                                                                       serial.stderr)
    workers = linted_by()[4:]
    assert len(workers) == 4 and len(set(workers)) == 2 and os.getpid() not in workers


def test_a_new_repository_lints_one_stack_not_all_of_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make template` after one new repository: the unchanged stacks come from the cache."""
    linted: list[runner.Linted] = []
    lint_many = runner.lint_many
    monkeypatch.setattr(runner, "lint_many", lambda *a, **k: linted.append(lint_many(*a, **k)) or linted[-1])
    config = sharded_config(tmp_path, 8)
    first = run_ecrgen("template", "--config", str(config), cwd=tmp_path)
    config = sharded_config(tmp_path, 9)
    second = run_ecrgen("template", "--config", str(config), cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    assert [(len(run.outcomes), run.linted) for run in linted] == [(4, 4), (5, 1)]
    assert second.stderr.count("W9501") == first.stderr.count("W9501") == 3


def test_template_lint_of_a_killed_worker_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check = runner.check

    def killed_on_the_second_stack(job: runner.Job) -> runner.Outcome:
        if job.filename.endswith("ecr-02.yaml"):
            os.kill(os.getpid(), signal.SIGKILL)
        return check(job)

    monkeypatch.setattr(runner, "check", killed_on_the_second_stack)
    result = run_ecrgen("template", "--config", str(sharded_config(tmp_path, 5)), cwd=tmp_path)
    assert result.returncode == 2
    assert "ecr-02.yaml: not linted: the worker process linting it was killed by SIGKILL" in result.stderr
    assert result.stderr.count("W9501") == 1  # app03's, in ecr-02, is lost; app00's in ecr-01 is there
    assert (tmp_path / "templates" / "ecr-02.yaml").is_file()  # written before linting


def test_a_helper_that_dies_fails_every_template_it_had() -> None:
    jobs = [runner.Job((FIXTURES / name).read_text(), name, strict=True)
            for name in ("settings_weak.yaml", "deletion_policy.yaml")]
    with helper_module.helping(2) as helper:
        assert helper is not None
        os.kill(helper._process.pid, signal.SIGKILL)
        assert helper.run(jobs, runner.Options(), 2, lambda index: None) == [pool.Crash(-signal.SIGKILL)] * 2


def test_bad_input_found_in_the_helper_is_bad_input_here() -> None:
    jobs = [runner.Job((FIXTURES / "settings_weak.yaml").read_text(), "t.yaml", strict=True)]
    with helper_module.helping(2) as helper, pytest.raises(InputError, match="knows no region 'nowhere-1'"):
        helper.run(jobs, runner.Options(regions=("nowhere-1",)), 2, lambda index: None)


def test_jobs_1_has_no_helper() -> None:
    with helper_module.helping(1) as helper:
        assert helper is None
