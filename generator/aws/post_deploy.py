"""post-deploy in one account and region: the repositories and the registry part, read, planned,
written and reported. `--stack-name`, `--config` and every target of `--stack-set` run this same
function, so a fleet gets exactly the single-stack reconcile, registry included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from generator.aws import ecr as aws_ecr
from generator.aws import registry as aws_registry
from generator.model import effective_scan, registry
from generator.reconcile import report
from generator.reconcile.desired import RepositorySettings

if TYPE_CHECKING:
    from generator.aws.in_use import Guard


def reconcile(ecr: Any, wishes: Sequence[RepositorySettings], parts: Sequence[registry.Part],
              concurrency: int, write: bool, api_calls: Mapping[str, int],
              progress: Callable[[str, int], aws_ecr.Progress | None] = lambda what, total: None,
              start_guard: Callable[[ThreadPoolExecutor], Guard] | None = None) -> dict[str, Any]:
    """The report (design.md's `post-deploy --output json` shape). The registry documents and
    the images in use (`start_guard`, the in-use guard started in the given pool) are read beside
    the repositories; the registry is reconciled after them; `api_calls` is read at the end."""
    with ThreadPoolExecutor(2) as background:
        registry_read = background.submit(aws_registry.read, ecr, concurrency) if parts else None
        guard = start_guard(background) if start_guard is not None else None
        live, plan, results = aws_ecr.reconcile(ecr, wishes, concurrency, write, progress, hold=guard)
    if registry_read is not None:
        run = aws_registry.reconcile_all(ecr, parts, registry_read.result(), concurrency, apply=write)
        scans = effective_scan.effective_scans(run.scanning, wishes, live.repositories)
    result = report.build(plan, results, api_calls, guard.verdicts if guard else None)
    if guard is not None:
        result["inUse"] = guard.summary()
    if registry_read is not None:
        result["registry"] = report.registry(run.plans, run.outcomes, scans, run.left, run.skipped)
    return result
