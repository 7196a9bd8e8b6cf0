"""The worker pool: results in task order, and a dead worker's task named while the others finish."""

from __future__ import annotations

import os
import signal

import pytest

from generator.lint import pool


def square_or_die(task: int) -> tuple[int, int]:
    """task squared, with the worker's pid; -9 kills the worker, -1 raises in it."""
    if task == -9:
        os.kill(os.getpid(), signal.SIGKILL)
    if task == -1:
        raise RuntimeError("a bug in the function")
    return task * task, os.getpid()


def test_results_come_in_task_order_from_several_workers() -> None:
    finished: list[int] = []
    results = pool.run(square_or_die, list(range(12)), jobs=3, done=finished.append)
    assert [square for square, _ in results] == [n * n for n in range(12)]
    assert sorted(finished) == list(range(12))
    workers = {pid for _, pid in results}
    assert os.getpid() not in workers and 1 <= len(workers) <= 3


def test_a_killed_worker_is_reported_for_its_task_and_the_others_still_finish() -> None:
    tasks = [2, -9, 3, 4, -9, 5, 6]
    results = pool.run(square_or_die, tasks, jobs=2)
    assert results[1] == results[4] == pool.Crash(-signal.SIGKILL)
    assert results[1].describe() == "was killed by SIGKILL"
    assert [r[0] for i, r in enumerate(results) if i not in (1, 4)] == [4, 9, 16, 25, 36]


def test_an_exception_ends_the_worker_and_is_reported_for_its_task(capfd: pytest.CaptureFixture[str]) -> None:
    results = pool.run(square_or_die, [-1, 7], jobs=2)
    assert results == [pool.Crash(1), (49, results[1][1])]
    assert results[0].describe() == "exited with code 1"
    assert "RuntimeError: a bug in the function" in capfd.readouterr().err  # the traceback, for the bug report


def test_every_worker_is_gone_afterwards() -> None:
    results = pool.run(square_or_die, list(range(6)), jobs=2)
    for _, pid in results:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_usable_cores_is_what_this_process_may_run_on() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert pool.usable_cores() == expected >= 1


def test_workers_left_idle_when_the_tasks_run_out_never_stall_the_run() -> None:
    """Instant tasks: several workers answer at once with fewer tasks left than them. A watchdog
    fails the test instead of letting a stalled run hang the suite."""
    before = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the pool stalled"))
    signal.alarm(60)
    try:
        for tasks, jobs in [(3, 2), (5, 3), (4, 3), (7, 4)] * 10:
            assert [r[0] for r in pool.run(square_or_die, list(range(tasks)), jobs)] == [n * n for n in range(tasks)]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
