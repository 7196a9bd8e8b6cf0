"""A pool of worker processes that runs one function over many tasks and says which task a dead
worker took with it.

`concurrent.futures` and `multiprocessing.Pool` cannot: a killed worker breaks the first for
every task still pending and hangs the second. Here each worker has its own pipe and takes one
task at a time, so when one dies (a crash, the kernel's out-of-memory killer, a stray `kill`) its
task gets a `Crash`, a fresh worker takes its place and every other task still gets its result.

Workers are forked where the platform can (Linux): whatever the parent loaded before `run` (for
lint, cfn-lint and its rules) is theirs at once, shared copy-on-write, instead of loaded again in
each. Elsewhere they are spawned and load what the function needs on their first task.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
STOP_SECONDS = 5

FORK = "fork" in multiprocessing.get_all_start_methods()
CONTEXT = multiprocessing.get_context("fork" if FORK else "spawn")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as `nproc` counts), at least 1."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13
    if count is not None:
        return count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Crash:
    """A task whose worker died before it answered: killed by a signal, or exited."""

    exitcode: int | None

    def describe(self) -> str:
        if self.exitcode is not None and self.exitcode < 0:
            try:
                name = signal.Signals(-self.exitcode).name
            except ValueError:
                name = f"signal {-self.exitcode}"
            return f"was killed by {name}"
        return f"exited with code {self.exitcode}"


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: int | None = None


def run(function: Callable[[T], R], tasks: Sequence[T], jobs: int,
        done: Callable[[int], None] = lambda index: None) -> list[R | Crash]:
    """`function(task)` for every task on up to `jobs` worker processes, results in task order.

    Tasks are handed out in order, one at a time to whichever worker is free; `done(index)` is
    called as each finishes. `function` and its results must pickle where workers are spawned.
    """
    results: dict[int, R | Crash] = {}
    pending = deque(range(len(tasks)))
    workers: list[_Worker] = []
    flush()
    try:
        while pending or any(worker.task is not None for worker in workers):
            while pending and len(workers) < jobs:
                workers.append(_start(function))
            for worker in workers:
                if worker.task is None and pending:
                    worker.task = pending.popleft()
                    # If it died before it took the task, its sentinel says so below.
                    with contextlib.suppress(OSError):
                        worker.conn.send(tasks[worker.task])
            for worker in _ready(workers):
                index = worker.task
                assert index is not None
                results[index] = _answer(worker)
                worker.task = None
                done(index)
                if isinstance(results[index], Crash):
                    _stop(worker)
                    workers.remove(worker)
    finally:  # the idle ones are told to stop; after Ctrl-C or an error, the busy ones are ended
        for worker in workers:
            if worker.task is not None:
                worker.process.kill()
            _stop(worker)
    return [results[index] for index in range(len(tasks))]


def flush() -> None:
    """Before a fork: the child would write again whatever this process still has buffered."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()


def quiet_on_interrupt() -> None:
    """In a child: Ctrl-C, which the terminal sends to every process of the command, ends it at
    once and without a traceback; the parent reports."""
    signal.signal(signal.SIGINT, lambda *_: os._exit(128 + signal.SIGINT))


def _start(function: Callable[[T], R]) -> _Worker:
    ours, theirs = CONTEXT.Pipe()
    process = CONTEXT.Process(target=_serve, args=(theirs, function), daemon=True)
    process.start()
    theirs.close()
    return _Worker(process, ours)


def _serve(conn: Connection, function: Callable[[T], R]) -> None:
    """A worker: answer tasks until told to stop, or until the parent is gone."""
    quiet_on_interrupt()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        result = function(task)  # an exception ends the worker: a traceback and a Crash
        try:
            conn.send(result)
        except BrokenPipeError:
            return


def _ready(workers: list[_Worker]) -> list[_Worker]:
    """The busy workers that answered or died, waiting for at least one."""
    busy = [worker for worker in workers if worker.task is not None]
    ready = set(wait([worker.conn for worker in busy] + [worker.process.sentinel for worker in busy]))
    return [worker for worker in busy if worker.conn in ready or worker.process.sentinel in ready]


def _answer(worker: _Worker) -> R | Crash:
    """The worker's answer to its task, or the Crash that ended it before it could give one."""
    try:
        if worker.conn.poll():
            return worker.conn.recv()
    except (EOFError, OSError):  # it died while answering
        pass
    worker.process.join()
    return Crash(worker.process.exitcode)


def _stop(worker: _Worker) -> None:
    """Ask the worker to stop, wait a while, then end it; close its pipe."""
    if worker.process.is_alive():
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        worker.process.join(STOP_SECONDS)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
    worker.conn.close()
