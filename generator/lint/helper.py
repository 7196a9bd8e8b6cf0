"""A process that loads cfn-lint and the rules while `ecrgen template` renders, then lints for it."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait

from generator.base.errors import InputError
from generator.lint import pool, runner


class Helper:
    """A process that loads cfn-lint and the rules while this one renders, then lints for it.

    Forked before rendering (by `ecrgen template`), it holds cfn-lint and the rules by the time
    the templates are ready, and runs `run_jobs` for `lint_many`: one template itself, several on a
    pool whose workers fork from it and share what it loaded. Loading (about 1.2 s) and
    rendering, each on a core of its own, no longer add up. Unused, because every template came
    from the cache, it is ended. Start it with `helping`.
    """

    def __init__(self) -> None:
        pool.flush()
        self._conn, theirs = pool.CONTEXT.Pipe()
        self._process = pool.CONTEXT.Process(target=_help, args=(theirs,))  # not a daemon: it has children
        self._process.start()
        theirs.close()

    def close(self) -> None:
        """End it, and with it any workers it still has (SIGTERM: its pool stops them)."""
        self._process.terminate()
        self._process.join(pool.STOP_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()

    def run(self, work: list[runner.Job], options: runner.Options, jobs: int,
            done: Callable[[int], None]) -> list[runner.Outcome | pool.Crash]:
        """`run_jobs` in the helper: its outcomes, a Crash for each job it did not finish if it died."""
        if not work:
            return []
        with contextlib.suppress(OSError):  # if it died, its sentinel says so below
            self._conn.send((work, options, jobs))
        while True:
            wait([self._conn, self._process.sentinel])
            try:
                if not self._conn.poll():  # nothing to read: it died (its workers may hold the pipe open)
                    raise EOFError
                kind, value = self._conn.recv()
            except (EOFError, OSError):
                self._process.join()
                return [pool.Crash(self._process.exitcode)] * len(work)
            if kind == "done":
                done(value)
            elif kind == "bad input":
                raise InputError(*value)
            else:
                return value


@contextlib.contextmanager
def helping(jobs: int) -> Iterator[Helper | None]:
    """A Helper for the time of the `with`; None with `jobs` 1 (the serial path, in this process
    only) or where workers cannot fork."""
    if jobs == 1 or not pool.FORK:
        yield None
        return
    helper = Helper()
    try:
        yield helper
    finally:
        helper.close()


def _help(conn: Connection) -> None:
    """The helper: load cfn-lint and the rules, lint one batch (reporting each job done), exit."""
    pool.quiet_on_interrupt()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds: the pool ends its workers
    runner.load_rules()
    request = conn.recv()
    try:
        results = runner.run_jobs(*request, done=lambda index: conn.send(("done", index)))
    except InputError as exc:
        conn.send(("bad input", (exc.source, exc.problems)))
        return
    conn.send(("results", results))
