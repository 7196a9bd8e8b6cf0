"""Progress on stderr for long runs, shared by `post-deploy` and `report`, and `lint`'s bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PROGRESS_FROM = 50  # repositories: below this a run is too short for a progress bar
Start = Callable[[str, int], Callable[[int], None] | None]


@contextmanager
def show_progress(repositories: int) -> Iterator[Start]:
    """Progress on stderr for long runs: a bar at a terminal, one line per phase in a pipeline log.

    `start(what, total)` begins a phase and gives its callback (None: nothing to show).
    """
    if repositories < PROGRESS_FROM:
        yield lambda what, total: None
        return
    if not sys.stderr.isatty():
        def announce(what: str, total: int) -> None:
            if total:
                print(f"{what}: {total}", file=sys.stderr, flush=True)

        yield announce
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        def start(what: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(what, total=total)
            return lambda n: bar.advance(task, n)

        yield start


@contextmanager
def bar(what: str, total: int) -> Iterator[Callable[[], None]]:
    """A bar on stderr while `total` (2 or more) things are done, at a terminal; nothing in a pipe
    or log. Gives the callback to call as each is done."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda: progress.advance(task)
