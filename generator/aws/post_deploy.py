"""post-deploy in one account and region: the repositories and the registry part, read, planned,
written and reported. `--stack-name`, `--config` and every target of `--stack-set` run this same
function, so a fleet gets exactly the single-stack reconcile, registry included; then what ECR
creates by itself and the registry's singletons (`generator.aws.implicit`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from generator.aws import ecr as aws_ecr
from generator.aws import implicit as aws_implicit
from generator.aws import registry as aws_registry
from generator.model import effective_scan, registry
from generator.model.implicit import Implicit
from generator.reconcile import report
from generator.reconcile.desired import RepositorySettings
from generator.reconcile.diff import Plan

if TYPE_CHECKING:
    from generator.aws.in_use import Guard


def reconcile(ecr: Any, wishes: Sequence[RepositorySettings], parts: Sequence[registry.Part],
              concurrency: int, write: bool, api_calls: Mapping[str, int],
              progress: Callable[[str, int], aws_ecr.Progress | None] = lambda what, total: None,
              start_guard: Callable[[ThreadPoolExecutor], Guard] | None = None,
              created: Implicit | None = None) -> dict[str, Any]:
    """The report (design.md's `post-deploy --output json` shape). The registry documents and
    the images in use (`start_guard`, the in-use guard started in the given pool) are read beside
    the repositories; the registry is reconciled after them, then the pull-through cache rules
    and creation templates (`created`), the repositories enforced templates govern (joining the
    repositories, judged by the same guard) and the registry's singletons; `api_calls` is read at
    the end."""
    with ThreadPoolExecutor(2) as background:
        registry_read = background.submit(aws_registry.read, ecr, concurrency) if parts else None
        guard = start_guard(background) if start_guard is not None else None
        live, plan, results = aws_ecr.reconcile(ecr, wishes, concurrency, write, progress, hold=guard)
    if registry_read is not None:
        run = aws_registry.reconcile_all(ecr, parts, registry_read.result(), concurrency, apply=write)
        scans = effective_scan.effective_scans(run.scanning, wishes, live.repositories)
    extra = None
    if created or parts:
        extra = aws_implicit.reconcile(ecr, created or Implicit(), parts, {w.name for w in wishes},
                                       concurrency, write, hold_for=guard.for_wishes if guard else None)
        plan = Plan((*plan.repositories, *extra.plan.repositories))
        results = None if results is None else {**results, **(extra.results or {})}
    result = report.build(plan, results, api_calls, guard.verdicts if guard else None,
                          extra.prefixes if extra else None)
    if guard is not None:
        result["inUse"] = guard.summary()
    if registry_read is not None:
        result["registry"] = report.registry(run.plans, run.outcomes, scans, run.left, run.skipped)
    if extra is not None and (extra.section or "registry" in result):
        aws_implicit.fold(result.setdefault("registry", report.registry([], None, [])), extra)
    return result
