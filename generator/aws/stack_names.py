"""`--stack-name 'myapp-ecr-*'`: stack names given as globs, expanded with ListStacks."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from generator.base.errors import InputError

GLOB_CHARACTERS = frozenset("*?[")


def expand(cfn: Any, patterns: Sequence[str]) -> list[str]:
    """Names as given, each glob replaced by the live stacks it matches (sorted); no duplicates.

    ListStacks (every page) is called only when some pattern is a glob; a glob that matches no
    live stack is bad input, as an unknown stack name is.
    """
    if not any(GLOB_CHARACTERS & set(pattern) for pattern in patterns):
        return list(dict.fromkeys(patterns))
    live = [summary["StackName"] for page in cfn.get_paginator("list_stacks").paginate(
                StackStatusFilter=live_statuses(cfn))
            for summary in page["StackSummaries"]]
    names: list[str] = []
    for pattern in patterns:
        if not GLOB_CHARACTERS & set(pattern):
            names.append(pattern)
            continue
        matched = sorted(name for name in live if fnmatchcase(name, pattern))
        if not matched:
            region = cfn.meta.region_name
            raise InputError("--stack-name", f"{pattern!r} matches no live stack in region {region}")
        names.extend(matched)
    return list(dict.fromkeys(names))


def live_statuses(cfn: Any) -> list[str]:
    """Every stack status but DELETE_COMPLETE, from the service model."""
    statuses = cfn.meta.service_model.shape_for("StackStatus").enum
    return [status for status in statuses if status != "DELETE_COMPLETE"]
