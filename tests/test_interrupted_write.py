"""Killing `ecrgen template` mid-run never leaves a half-written or empty template behind.

`write_atomic` writes a temporary file beside the target (`.<name>.*.tmp`), fsyncs it and
renames it into place, so a reader sees the old file or the new one. SIGKILL cannot be caught:
a kill between creating and renaming the temporary file leaves it behind. That is harmless as
long as nothing ever reads it, which the last part of the test checks.

Each run is a process of its own, forked from this one with ecrgen already imported: SIGKILL
hits a real process, and the 30 kills cost no Python start-up each, so most of their time is
spent where a kill matters, rendering and writing. Only kills that cut a run short count, and
the test kills until 30 did, so it asserts the same on a fast machine and on a loaded one.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path

from tests.conftest import run_ecrgen

KILLS = 30


def big_config(path: Path, count: int, keep: int) -> Path:
    """A config of `count` repositories (outputs: [], so up to 500 fit) that takes a while to write."""
    lines = ["system_name: myapp", "outputs: []", "defaults:", "  lifecycle:",
             "    - {tag_status: untagged, since_pushed_days: 14}",
             f"    - {{tag_status: any, keep_last: {keep}}}", "repositories:"]
    lines += [f"  - name: service-{index:03d}" for index in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def render(config: Path, out: Path) -> bytes:
    result = run_ecrgen("template", "--config", str(config), "--out", str(out), "--no-lint")
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def temporary_files(out: Path) -> set[str]:
    return {name for name in os.listdir(out.parent) if name.startswith(f".{out.name}.")}


class TemplateRun:
    """`ecrgen template --config CONFIG --out OUT --no-lint` in a forked child process."""

    def __init__(self, config: Path, out: Path) -> None:
        from generator.cli import main

        self.status: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the child: run and leave, never return into the test
            code = 1
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the child exits)
                sys.argv = ["ecrgen", "template", "--config", str(config), "--out", str(out), "--no-lint"]
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                os._exit(code)

    def running(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is None

    def stop_and_kill(self) -> bool:
        """Freeze the run (SIGSTOP), and SIGKILL it if it was still going; reap it either way.

        True when the kill cut the run short. The stop makes that answer exact: a run that ended
        before it reports its exit, one that did not reports the stop, whatever the machine's
        speed (a zombie takes the signal without effect).
        """
        if self.status is not None:
            return False
        os.kill(self.pid, signal.SIGSTOP)
        status = os.waitpid(self.pid, os.WUNTRACED)[1]
        if not os.WIFSTOPPED(status):
            self.status = status
            return False
        os.kill(self.pid, signal.SIGKILL)
        self.status = os.waitpid(self.pid, 0)[1]
        return True


def wait_for_new_temporary_file(out: Path, run: TemplateRun, known: set[str]) -> None:
    while run.running() and temporary_files(out) <= known:
        time.sleep(0.0002)  # yield the core: on a 2-core machine a busy loop starves the child it watches


def test_a_killed_template_run_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    configs = [big_config(tmp_path / "a.yaml", 80, keep=20), big_config(tmp_path / "b.yaml", 80, keep=30)]
    out = tmp_path / "templates" / "ecr.yaml"
    expected = [render(config, out) for config in configs]
    assert expected[0] != expected[1]
    started = time.monotonic()
    run = TemplateRun(configs[1], out)
    while run.running():
        time.sleep(0.001)
    duration = time.monotonic() - started
    assert os.waitstatus_to_exitcode(run.status) == 0 and out.read_bytes() == expected[1]
    # Runs are killed until KILLS of them were cut short; a run that ended first does not count.
    # Every miss moves the random moments earlier, and a kill right after the fork always lands,
    # so the loop ends on a machine of any speed, however loaded.
    rng = random.Random(6)
    reach = 0.9  # the latest moment to kill at, as a fraction of the run's measured duration
    kills = misses = 0
    while kills < KILLS:
        new = (kills + misses) % 2
        old_bytes = out.read_bytes()
        known = temporary_files(out)
        run = TemplateRun(configs[new], out)
        if kills % 3 == 0 and misses < 3:
            # while the temporary file is being written: the window a random moment rarely hits
            wait_for_new_temporary_file(out, run, known)
            time.sleep(rng.uniform(0, 0.005))
        else:  # at a random moment, mostly late in the run
            time.sleep(duration * reach * rng.uniform(0.2, 1.0))
        if run.stop_and_kill():
            kills, misses = kills + 1, 0
        else:
            misses += 1
            reach *= 0.8
        now = out.read_bytes()
        assert now in (old_bytes, expected[new]), f"run {kills + misses}: {len(now)} bytes, neither old nor new"

    # What a kill during the write leaves (plus one of our own, so there is always one): fill
    # them with junk; a later run must neither read nor trip over them.
    (out.parent / ".ecr.yaml.leftover.tmp").write_text("")
    stray = list(out.parent.glob(".ecr.yaml.*.tmp"))
    for path in stray:
        path.write_text("junk: [")
    assert render(configs[0], out) == expected[0]
    assert sorted(out.parent.glob(".ecr.yaml.*.tmp")) == sorted(stray)
    assert [p.name for p in out.parent.iterdir() if not p.name.startswith(".")] == ["ecr.yaml"]
