"""The post-deploy report across a StackSet: one section per stack instance, plus fleet totals.

Each section is the single-stack report (`generator.reconcile.report.build`, with its `registry`
part when the stack has one) with the target around it:
`{"stackSet", "account", "region", "status", "repositories", "summary"}` and an `error` when
the target as a whole failed. The fleet `summary` adds the sections' counts and API calls to
the calls made for the fleet itself (GetCallerIdentity, AssumeRole, ListStackInstances).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from generator.base.wording import plural
from generator.reconcile import report


def build(sections: Sequence[dict[str, Any]], fleet_calls: Mapping[str, int]) -> dict[str, Any]:
    calls: Counter[str] = Counter(fleet_calls)
    for target in sections:
        calls.update(target["summary"]["apiCalls"])
    summary: dict[str, Any] = {"targets": len(sections),
                               "failedTargets": sum(1 for t in sections if t["status"] == "failed")}
    for key in ("repositories", *report.SUMMARY_KEYS):
        summary[key] = sum(t["summary"][key] for t in sections)
    summary["apiCalls"] = dict(sorted(calls.items()))
    return {"targets": list(sections), "summary": summary}


def exit_code(result: Mapping[str, Any], check: bool) -> int:
    """1 when a target failed (or a repository in it), or when `check` finds anything to change
    (a repository or the registry)."""
    if result["summary"]["failedTargets"]:
        return 1
    return 1 if check and any(t["status"] == "planned" for t in result["targets"]) else 0


def failures(result: Mapping[str, Any]) -> list[str]:
    """One line per failed target, naming it and why."""
    lines = []
    for target in result["targets"]:
        if target["status"] == "failed":
            why = target.get("error") or report.summary_line(target)
            lines.append(f"failed: {_label(target)}: {why}")
    return lines


def render_text(result: Mapping[str, Any], out: TextIO) -> None:
    """Each target's table and summary under a heading, then the fleet totals."""
    for target in result["targets"]:
        print(f"== {_label(target)}: {target['status']}", file=out)
        if target.get("error"):
            print(target["error"], file=out)
        else:
            report.render_text(target, out)
    summary = result["summary"]
    print(f"fleet: {plural(summary['targets'], 'target')}, {summary['failedTargets']} failed; "
          f"{report.summary_line(result)}", file=out)


def _label(target: Mapping[str, Any]) -> str:
    return f"{target['stackSet']} {target['account']} {target['region']}"
