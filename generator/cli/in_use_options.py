"""The in-use options of `lifecycle preview` and `post-deploy`, defined once, and what they mean.

Discovery is opt-in: without any of these flags (or `in_use:` in ecr.yaml) no command makes an
extra call. Any flag given replaces the config's `in_use:` as a whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from generator.base.errors import InputError

if TYPE_CHECKING:
    from generator.aws.in_use import GuardRequest
    from generator.model.in_use import Sources, Use

IN_USE = typer.Option(None, "--in-use", metavar="ecs,lambda",
                      help="Find the images that ECS services and tasks and Lambda functions use.")
PULLED_WITHIN = typer.Option(None, "--pulled-within", metavar="DAYS", min=1,
                             help="Count an image as in use when ECR saw it pulled in the last DAYS days.")
IN_USE_FILE = typer.Option(None, "--in-use-file", metavar="FILE",
                           help="More images in use: one reference a line, or `kubectl get pods -A -o json`.")


def sources(in_use: str | None, pulled_within: int | None, in_use_file: Path | None,
            configured: Sources | None = None) -> Sources:
    """The sources the flags name, else the config's `in_use:`, else none."""
    from generator.model.in_use import Sources, parse_services

    if in_use is None and pulled_within is None and in_use_file is None:
        return configured or Sources()
    try:
        services = parse_services(in_use) if in_use is not None else ()
    except ValueError as exc:
        raise InputError("--in-use", str(exc)) from None
    return Sources(services, pulled_within, str(in_use_file) if in_use_file is not None else None)


def file_uses(chosen: Sources) -> tuple[Use, ...]:
    """The in-use file's references, read before any AWS call so that a bad file costs nothing."""
    from generator.model import in_use_file

    return in_use_file.read(chosen.file) if chosen.file else ()


def guard_request(chosen: Sources, allow: bool) -> GuardRequest | None:
    """post-deploy's in-use guard for the chosen sources (None without any), its file read now."""
    if not chosen:
        return None
    from generator.aws.in_use import GuardRequest

    return GuardRequest(chosen, file_uses(chosen), allow)
